import TriadCrypto

/// The organisation's trust file (DESIGN §2): PEM certificates of officer CAs or officers,
/// and the recovery certificates published by the key-generation ceremony.
///
/// Why outside the zone: IT controls the zone folder, so trust cannot come from it. With a
/// trust file, a policy is accepted only if its signing officer chains to a listed
/// certificate and every recovery certificate it pins is itself listed; swapping the
/// recovery certificate then needs both IT (the trust file) and an officer (the signature).
public struct TrustFile {
    public static let systemPath = "/etc/triad/trust"

    public let path: String
    public let certificates: [Certificate]

    public init(path: String) throws {
        let bytes: [UInt8]
        do { bytes = try FileIO.readAll(path) } catch {
            throw ZoneError.trustFile(path, "cannot be read; check the path given with --trust or TRIAD_TRUST")
        }
        let certs: [Certificate]
        do { certs = try Certificate.all(pem: String(decoding: bytes, as: UTF8.self)) } catch {
            throw ZoneError.trustFile(path, "is not a list of PEM certificates (\(error))")
        }
        guard !certs.isEmpty else { throw ZoneError.trustFile(path, "holds no PEM certificate") }
        self.path = path
        certificates = certs
    }

    /// `--trust FILE`, else `TRIAD_TRUST`, else `/etc/triad/trust` if it exists, else none
    /// (trust on first use). A trust file named explicitly must exist.
    public static func resolve(explicit: String?, environment: [String: String]) throws -> TrustFile? {
        if let explicit { return try TrustFile(path: explicit) }
        if let env = environment["TRIAD_TRUST"], !env.isEmpty { return try TrustFile(path: env) }
        if FileIO.exists(systemPath) { return try TrustFile(path: systemPath) }
        return nil
    }

    /// The officer certificate is listed itself, or is signed by a listed certificate
    /// (an officer CA), and is within its validity period (OpenSSL path validation,
    /// partial chains allowed so an officer certificate may itself be the anchor).
    public func trustsOfficer(_ cert: Certificate) -> Bool {
        (try? CertificateChain.verify(cert, anchors: certificates)) != nil
    }

    /// Recovery certificates must be listed exactly (by SHA-256 fingerprint), not merely chain.
    public func listsRecovery(_ cert: Certificate) -> Bool {
        let fp = cert.fingerprint
        return certificates.contains { $0.fingerprint == fp }
    }
}
