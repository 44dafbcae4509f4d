import Foundation

/// Keys and X.509 certificates made with the stock `openssl` command, as an administrator would
/// make them: RSA or NIST P-256/P-384 keys, self-signed or issued by a test CA, and — for
/// certificate-policy tests — expired, not yet valid, CA or leaf, with chosen key usages.
///
/// A certificate with no special profile is made exactly as docs tell people to
/// (`openssl req -x509 -new -key … -days N`, or `openssl x509 -req -CA …` for an issued one), so
/// tests prove such files "just work". Other profiles go through `openssl ca`, the stock way to
/// set arbitrary validity dates and extensions.
///
/// Credentials are cached by name for the life of the ``TestPKI`` (key generation is slow):
/// asking again for a name returns the same files, and asking for a name with different
/// parameters is an error.
public final class TestPKI: @unchecked Sendable {
    /// Key types the project supports (docs/format.md: recipients and recovery certificates).
    public enum KeyAlgorithm: Hashable, CustomStringConvertible {
        case rsa(bits: Int)
        case p256
        case p384

        /// `rsa2048`, `rsa3072`, `rsa4096`, `p256`, `p384`.
        public init?(_ spec: String) {
            switch spec.lowercased() {
            case "p256", "p-256", "eccp256": self = .p256
            case "p384", "p-384", "eccp384": self = .p384
            default:
                guard spec.lowercased().hasPrefix("rsa"), let bits = Int(spec.dropFirst(3)) else { return nil }
                self = .rsa(bits: bits)
            }
        }

        public var description: String {
            switch self {
            case .rsa(let bits): return "rsa\(bits)"
            case .p256: return "p256"
            case .p384: return "p384"
            }
        }

        var genpkeyArguments: [String] {
            switch self {
            case .rsa(let bits): return ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:\(bits)"]
            case .p256: return ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
            case .p384: return ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"]
            }
        }
    }

    /// When a certificate is valid, relative to the moment it is made.
    public enum Validity: Hashable {
        /// From now for this many days.
        case days(Int)
        /// Ended a day ago (valid from 31 days ago).
        case expired
        /// Starts in 30 days (and lasts 30 more).
        case notYetValid
        /// Exactly this window.
        case between(Date, Date)

        var window: (start: Date, end: Date) {
            let day: TimeInterval = 86_400, now = Date()
            switch self {
            case .days(let n): return (now, now + Double(n) * day)
            case .expired: return (now - 31 * day, now - day)
            case .notYetValid: return (now + 30 * day, now + 60 * day)
            case .between(let start, let end): return (start, end)
            }
        }
    }

    /// X.509 key usage bits (RFC 5280 §4.2.1.3), spelled as openssl spells them.
    public enum KeyUsage: String, Hashable {
        case digitalSignature, nonRepudiation, keyEncipherment, dataEncipherment, keyAgreement
        case keyCertSign, cRLSign, encipherOnly, decipherOnly
    }

    /// What goes into a certificate besides its key and issuer.
    public struct Profile: Hashable {
        /// An openssl subject (`/CN=…/O=…`); nil is `/CN=<name>/O=Test Hospital`.
        public var subject: String?
        public var validity: Validity
        /// A critical keyUsage extension with these bits; nil leaves it out.
        public var keyUsage: [KeyUsage]?
        /// An extendedKeyUsage extension (`clientAuth`, `emailProtection`, or a dotted OID); nil leaves it out.
        public var extendedKeyUsage: [String]?
        /// A critical basicConstraints extension; nil leaves it out (a self-signed certificate
        /// made through `openssl ca` then gets `CA:TRUE`, as `openssl req -x509` gives it).
        public var isCA: Bool?
        public var pathLength: Int?

        public init(subject: String? = nil, validity: Validity = .days(30), keyUsage: [KeyUsage]? = nil,
                    extendedKeyUsage: [String]? = nil, isCA: Bool? = nil, pathLength: Int? = nil) {
            self.subject = subject
            self.validity = validity
            self.keyUsage = keyUsage
            self.extendedKeyUsage = extendedKeyUsage
            self.isCA = isCA
            self.pathLength = pathLength
        }

        /// Made with the plain commands (no extensions asked for, validity from now).
        var isStock: Bool {
            guard case .days = validity else { return false }
            return keyUsage == nil && extendedKeyUsage == nil && isCA == nil && pathLength == nil
        }
    }

    /// A private key file and its certificate (both PEM).
    public struct Credential: Hashable {
        public let name: String
        public let algorithm: KeyAlgorithm
        /// Path of the PKCS#8 PEM private key.
        public let key: String
        /// Path of the PEM certificate.
        public let cert: String

        public var certificatePEM: String { (try? String(contentsOfFile: cert, encoding: .utf8)) ?? "" }
        public var keyPEM: [UInt8] { Array(FileManager.default.contents(atPath: key) ?? Data()) }
    }

    /// The folder holding every key, request and certificate.
    public let directory: String
    private let lock = NSLock()
    private var made: [String: (request: String, credential: Credential)] = [:]

    /// A PKI in `directory` (created if missing).
    public init(directory: String) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory + "/ca/new", withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: directory + "/ca/index.txt") {
            _ = FileManager.default.createFile(atPath: directory + "/ca/index.txt", contents: nil)
            try "1000\n".write(toFile: directory + "/ca/serial", atomically: true, encoding: .utf8)
        }
    }

    /// One PKI for the whole test process, in the temporary folder.
    public static let shared: TestPKI = {
        let folder = NSTemporaryDirectory() + "triad-pki-\(getpid())"
        do { return try TestPKI(directory: folder) } catch { fatalError("cannot make \(folder): \(error)") }
    }()

    /// A key of `algorithm` and a certificate for it, self-signed or issued by `issuer`.
    @discardableResult
    public func make(_ name: String, _ algorithm: KeyAlgorithm, issuer: Credential? = nil,
                     profile: Profile = Profile()) throws -> Credential {
        lock.lock(); defer { lock.unlock() }
        let request = "\(algorithm) issuer=\(issuer?.name ?? "self") \(profile)"
        if let cached = made[name] {
            guard cached.request == request else {
                throw TestSupportError.unsupported("TestPKI: \(name) was already made as \(cached.request), now asked as \(request)")
            }
            return cached.credential
        }
        let key = file(name, "key"), cert = file(name, "crt")
        try openssl(["genpkey"] + algorithm.genpkeyArguments + ["-out", key])
        let subject = profile.subject ?? "/CN=\(name)/O=Test Hospital"
        if profile.isStock, case .days(let days) = profile.validity {
            if let issuer {
                try openssl(["req", "-new", "-key", key, "-subj", subject, "-out", file(name, "csr")])
                try openssl(["x509", "-req", "-in", file(name, "csr"), "-CA", issuer.cert, "-CAkey", issuer.key,
                             "-CAcreateserial", "-days", String(days), "-out", cert])
            } else {
                try openssl(["req", "-x509", "-new", "-key", key, "-subj", subject, "-days", String(days), "-out", cert])
            }
        } else {
            try openssl(["req", "-new", "-key", key, "-subj", subject, "-out", file(name, "csr")])
            try signWithCA(request: file(name, "csr"), name: name, signer: issuer, selfKey: key, profile: profile, out: cert)
        }
        let credential = Credential(name: name, algorithm: algorithm, key: key, cert: cert)
        made[name] = (request, credential)
        return credential
    }

    /// A credential made earlier under `name`, if any.
    public func credential(named name: String) -> Credential? {
        lock.lock(); defer { lock.unlock() }
        return made[name]?.credential
    }

    /// `make` with the algorithm spelled as a string (`rsa2048`, `p256`, …).
    @discardableResult
    public func make(_ name: String, _ spec: String, issuer: Credential? = nil, profile: Profile = Profile()) throws -> Credential {
        guard let algorithm = KeyAlgorithm(spec) else { throw TestSupportError.unsupported("TestPKI: unknown key algorithm \(spec)") }
        return try make(name, algorithm, issuer: issuer, profile: profile)
    }

    /// A certificate from `issuer` for a public key held elsewhere (a key generated on a card,
    /// exported as PEM by `yubico-piv-tool -a generate`): `openssl x509 -req -force_pubkey`.
    /// Returns the certificate's path. Validity must start now (`.days`).
    public func certify(publicKey: String, name: String, issuer: Credential, profile: Profile = Profile()) throws -> String {
        lock.lock(); defer { lock.unlock() }
        guard case .days(let days) = profile.validity else {
            throw TestSupportError.unsupported("TestPKI.certify: only validity from now (.days) is supported for a key held elsewhere")
        }
        let csr = file(name, "csr"), cert = file(name, "crt")
        try openssl(["req", "-new", "-key", issuer.key, "-subj", profile.subject ?? "/CN=\(name)", "-out", csr])
        var args = ["x509", "-req", "-in", csr, "-CA", issuer.cert, "-CAkey", issuer.key, "-CAcreateserial",
                    "-force_pubkey", publicKey, "-days", String(days), "-out", cert]
        if !profile.isStock {
            let config = file(name, "ext.cnf")
            try extensionSection(profile, selfSigned: false).write(toFile: config, atomically: true, encoding: .utf8)
            args += ["-extfile", config, "-extensions", "ext"]
        }
        try openssl(args)
        return cert
    }

    // MARK: - openssl

    private func file(_ name: String, _ suffix: String) -> String {
        directory + "/" + name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? String($0) : "_" }.joined() + "." + suffix
    }

    private func openssl(_ arguments: [String]) throws {
        var command = Command("openssl", arguments)
        command.timeout = 120
        let result = try command.run()
        guard result.succeeded else { throw TestSupportError.toolFailed(result) }
    }

    private func signWithCA(request: String, name: String, signer: Credential?, selfKey: String, profile: Profile, out: String) throws {
        let config = file(name, "ca.cnf")
        let (start, end) = profile.validity.window
        try caConfiguration(profile, selfSigned: signer == nil).write(toFile: config, atomically: true, encoding: .utf8)
        var args = ["ca", "-batch", "-notext", "-preserveDN", "-config", config, "-in", request, "-out", out, "-extensions", "ext",
                    "-startdate", Self.asn1Time(start), "-enddate", Self.asn1Time(end)]
        if let signer { args += ["-cert", signer.cert, "-keyfile", signer.key] } else { args += ["-selfsign", "-keyfile", selfKey] }
        try openssl(args)
    }

    private func caConfiguration(_ profile: Profile, selfSigned: Bool) -> String {
        let ca = directory + "/ca"
        return """
            [ ca ]
            default_ca = test_ca
            [ test_ca ]
            database = \(ca)/index.txt
            new_certs_dir = \(ca)/new
            serial = \(ca)/serial
            default_md = default
            policy = policy_any
            unique_subject = no
            email_in_dn = no
            preserve = yes
            [ policy_any ]
            countryName = optional
            stateOrProvinceName = optional
            localityName = optional
            organizationName = optional
            organizationalUnitName = optional
            commonName = optional
            serialNumber = optional
            emailAddress = optional

            """ + extensionSection(profile, selfSigned: selfSigned)
    }

    private func extensionSection(_ profile: Profile, selfSigned: Bool) -> String {
        var lines = ["[ ext ]", "subjectKeyIdentifier = hash", "authorityKeyIdentifier = keyid:always"]
        if let isCA = profile.isCA ?? (selfSigned ? true : nil) {
            lines.append("basicConstraints = critical,CA:\(isCA ? "TRUE" : "FALSE")" + (profile.pathLength.map { ",pathlen:\($0)" } ?? ""))
        }
        if let usage = profile.keyUsage, !usage.isEmpty {
            lines.append("keyUsage = critical," + usage.map(\.rawValue).joined(separator: ","))
        }
        if let extended = profile.extendedKeyUsage, !extended.isEmpty {
            lines.append("extendedKeyUsage = " + extended.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// UTCTime before 2050, GeneralizedTime from then on (RFC 5280 §4.1.2.5).
    static func asn1Time(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        let year = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: date).year ?? 2000
        formatter.dateFormat = year < 2050 ? "yyMMddHHmmss'Z'" : "yyyyMMddHHmmss'Z'"
        return formatter.string(from: date)
    }
}
