import Foundation
import TriadCrypto

/// The organisation's trust file (docs/zone.md §3): PEM certificates of officer CAs or
/// officers and the recovery certificates the key-generation ceremony published, plus optional
/// lines that retire a recovery certificate or pin versions of a zone's history.
///
/// What it decides: who may *create* a zone (version 1's signer must chain to a listed
/// certificate) and which recovery certificates a policy may pin (listed exactly). It never
/// makes anyone an officer of an existing zone: later versions need an officer of the version
/// before them (`PolicyHistory`). IT maintains this file, so nothing here alone decides who
/// reads a zone.
///
/// Lines outside the PEM blocks:
/// - `retired-recovery <sha256 hex>`: a recovery certificate once published and now withdrawn;
///   older policy versions may still pin it, the newest may not.
/// - `zone <zone id hex> <version> <sha256 hex>`: this zone's `.zone/policy.<version>` must be
///   exactly this file. Version 1 pins the zone's first policy; a later version also refuses a
///   history rolled back below it. Once any zone is pinned, zones not pinned are refused.
/// Any other line outside a PEM block (comments, `openssl x509 -text` output) is ignored.
public struct TrustFile {
    /// Where the trust file is when the command names none (docs/zone.md §3).
    public static let systemPath = "/etc/triad/trust"

    /// The file, named in messages.
    public let path: String
    /// Every certificate in its PEM blocks.
    public let certificates: [Certificate]
    /// SHA-256 fingerprints of retired recovery certificates.
    public let retiredRecovery: Set<[UInt8]>
    /// Pinned versions: zone id → version → SHA-256 of that policy file.
    public let zonePins: [[UInt8]: [UInt64: [UInt8]]]

    /// Reads the trust file at `path` (a regular file within `ZoneLimits`).
    public init(path: String) throws {
        let bytes: [UInt8]
        do { bytes = try MetadataFile.read(path, limit: ZoneLimits.trustFileBytes, followLinks: true) } catch let error as ZoneError {
            switch error {
            case .notRegularFile, .tooLarge: throw ZoneError.trustFile(path: path, problem: "\(error)")
            default: throw ZoneError.trustFile(path: path, problem: "cannot be read (\(error)); check the path of the trust file")
            }
        }
        let text = String(decoding: bytes, as: UTF8.self)
        let certs: [Certificate]
        do { certs = try Certificate.all(pem: text) } catch {
            throw ZoneError.trustFile(path: path, problem: "is not a list of PEM certificates (\(error))")
        }
        guard !certs.isEmpty else { throw ZoneError.trustFile(path: path, problem: "holds no PEM certificate") }
        var retired = Set<[UInt8]>()
        var pins: [[UInt8]: [UInt64: [UInt8]]] = [:]
        var inBlock = false
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("-----BEGIN ") { inBlock = true; continue }
            if line.hasPrefix("-----END ") { inBlock = false; continue }
            if inBlock { continue }
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let keyword = fields.first else { continue }
            func bad(_ why: String) -> ZoneError { ZoneError.trustFile(path: path, problem: "line \(index + 1): \(why)") }
            switch keyword {
            case "retired-recovery":
                guard fields.count == 2, let fp = Hex.decode(fields[1]), fp.count == 32 else {
                    throw bad("write retired-recovery followed by the certificate's SHA-256 fingerprint (64 hex digits)")
                }
                retired.insert(fp)
            case "zone":
                guard fields.count == 4, let id = Hex.decode(fields[1]), id.count == 16,
                      let version = UInt64(fields[2]), version >= 1, let hash = Hex.decode(fields[3]), hash.count == 32 else {
                    throw bad("write zone, the zone id (32 hex digits), a policy version and that policy file's SHA-256 (64 hex digits)")
                }
                if let existing = pins[id]?[version], existing != hash { throw bad("pins version \(version) of zone \(fields[1]) twice, differently") }
                pins[id, default: [:]][version] = hash
            default:
                continue
            }
        }
        self.path = path
        certificates = certs
        retiredRecovery = retired
        zonePins = pins
    }

    /// `--trust FILE`, else `TRIAD_TRUST`, else `/etc/triad/trust` if it exists, else none
    /// (trust on first use). A trust file named explicitly must exist.
    public static func resolve(explicit: String?, environment: [String: String]) throws -> TrustFile? {
        if let explicit { return try TrustFile(path: explicit) }
        if let env = environment["TRIAD_TRUST"], !env.isEmpty { return try TrustFile(path: env) }
        if FileIO.exists(systemPath) { return try TrustFile(path: systemPath) }
        return nil
    }

    /// Nil when `cert` is listed itself or is issued by a listed certificate (an officer CA)
    /// and was valid at `date` (OpenSSL path validation, partial chains allowed so an officer
    /// certificate may itself be the anchor); otherwise why not.
    public func officerProblem(_ cert: Certificate, at date: Date = Date()) -> String? {
        do { try CertificateChain.verify(cert, anchors: certificates, at: date); return nil } catch {
            return "\(error)"
        }
    }

    /// Whether `cert` may create a zone now.
    public func trustsOfficer(_ cert: Certificate) -> Bool { officerProblem(cert) == nil }

    /// Recovery certificates must be listed exactly (by SHA-256 fingerprint), not merely chain,
    /// and not retired: what the newest policy version may pin.
    public func listsRecovery(_ cert: Certificate) -> Bool {
        let fp = cert.fingerprint
        return !retiredRecovery.contains(fp) && certificates.contains { $0.fingerprint == fp }
    }

    /// Listed, or listed as retired: what an older policy version may pin.
    public func publishedRecovery(_ cert: Certificate) -> Bool {
        listsRecovery(cert) || retiredRecovery.contains(cert.fingerprint)
    }
}
