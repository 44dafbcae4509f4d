import Foundation
import TriadCrypto

/// The public record the key-generation ceremony writes next to the blob (docs/escrow.md §4):
/// which recovery certificate, which blob (id and SHA-256) and which cards (serial, 9D
/// certificate) are enrolled. It holds nothing secret. Its SHA-256 is logged in the
/// key-generation transcript and read aloud as words, and every later ceremony logs the
/// digest it was given, so a swapped record is visible against the transcripts.
///
/// The blob's SHA-256 here is what detects a deliberately altered blob *before* any card
/// is asked for anything (check 3 in docs/escrow.md §3).
public struct EnrolmentRecord: Codable, Equatable, Sendable {
    /// The `format` value this version writes. Version 2 added the card authentication key
    /// (9E) of each card enrolled since (docs/recovery.md §2a); version 1 records, whose cards
    /// have none, still read.
    public static let formatName = "triad-recovery-enrolment/2"
    /// Every `format` value this version reads; another value is refused.
    public static let readableFormats: Set<String> = ["triad-recovery-enrolment/1", formatName]

    /// An enrolled recovery card.
    public struct Card: Codable, Equatable, Sendable {
        /// The card's serial, when it reports one; identification checks it.
        public var serial: UInt32?
        /// SHA-256 of the card's 9D certificate, hex: the blob's KEK slot for the card names it.
        public var certificateFingerprint: String
        /// The 9D certificate itself, so a ceremony can check the card without the CA.
        public var certificatePEM: String
        /// When the card was enrolled (ISO 8601).
        public var enrolledAt: String
        /// The 9E (card authentication) certificate, for cards enrolled since format 2; nil
        /// for a card enrolled before, whose presence a ceremony cannot prove by signature.
        public var cardAuthCertificatePEM: String?
        /// SHA-256 of the 9E certificate, hex.
        public var cardAuthCertificateFingerprint: String?
        /// The certificate that issued the 9E certificate (the recovery certificate at
        /// enrolment; kept here because a later rotation replaces the record's).
        public var cardAuthIssuerPEM: String?
        enum CodingKeys: String, CodingKey {
            case serial, certificateFingerprint = "certificate_fingerprint", certificatePEM = "certificate_pem", enrolledAt = "enrolled_at"
            case cardAuthCertificatePEM = "card_auth_certificate_pem", cardAuthCertificateFingerprint = "card_auth_certificate_fingerprint"
            case cardAuthIssuerPEM = "card_auth_issuer_pem"
        }
        /// The record of a card with `serial`, 9D `certificate` and, when enrolment made
        /// one, the 9E `cardAuthCertificate` issued by `cardAuthIssuer`.
        public init(serial: UInt32?, certificate: Certificate, cardAuthCertificate: Certificate? = nil,
                    cardAuthIssuer: Certificate? = nil, enrolledAt: Date = Date()) {
            self.serial = serial
            self.certificateFingerprint = Hex.encode(certificate.fingerprint)
            self.certificatePEM = certificate.pem
            self.cardAuthCertificatePEM = cardAuthCertificate?.pem
            self.cardAuthCertificateFingerprint = cardAuthCertificate.map { Hex.encode($0.fingerprint) }
            self.cardAuthIssuerPEM = cardAuthCertificate == nil ? nil : cardAuthIssuer?.pem
            self.enrolledAt = ISO8601DateFormatter().string(from: enrolledAt)
        }
        /// True when the card was enrolled with a card authentication key.
        public var hasCardAuthentication: Bool { cardAuthCertificatePEM != nil }
        /// The 9E certificate, parsed and checked against its recorded fingerprint; nil for a
        /// card enrolled without one.
        public func cardAuthCertificate() throws -> Certificate? {
            guard let pem = cardAuthCertificatePEM else { return nil }
            guard let cert = try? Certificate(pem: pem),
                  Hex.encode(cert.fingerprint) == cardAuthCertificateFingerprint?.lowercased() else {
                throw RecoveryError.recordMalformed(problem: "card \(certificateFingerprint.prefix(16))…: the card authentication certificate does not parse or does not match its fingerprint")
            }
            return cert
        }
        /// The issuer of the 9E certificate, parsed; nil for a card enrolled without one.
        public func cardAuthIssuer() throws -> Certificate? {
            guard cardAuthCertificatePEM != nil else { return nil }
            guard let pem = cardAuthIssuerPEM, let cert = try? Certificate(pem: pem) else {
                throw RecoveryError.recordMalformed(problem: "card \(certificateFingerprint.prefix(16))…: the issuer of the card authentication certificate is missing or does not parse")
            }
            return cert
        }
        /// The 9D certificate, parsed.
        public func certificate() throws -> Certificate {
            do { return try Certificate(pem: certificatePEM) } catch {
                throw RecoveryError.recordMalformed(problem: "card \(certificateFingerprint.prefix(16))…: certificate does not parse")
            }
        }
    }

    /// The drill canary: an encrypted file with a recovery slot, and the SHA-256 of its
    /// plaintext, so a drill proves recovery without touching a zone file.
    public struct Canary: Codable, Equatable, Sendable {
        /// The canary file, relative to the record.
        public var file: String
        /// SHA-256 of its plaintext, hex: what a drill compares in memory.
        public var plaintextSHA256: String
        enum CodingKeys: String, CodingKey { case file, plaintextSHA256 = "plaintext_sha256" }
        /// A canary at `file` whose plaintext hashes to `plaintextSHA256`.
        public init(file: String, plaintextSHA256: String) { self.file = file; self.plaintextSHA256 = plaintextSHA256 }
    }

    /// `formatName`.
    public var format: String
    /// SHA-256 of the recovery certificate, hex.
    public var recoveryCertificateFingerprint: String
    /// The recovery certificate itself.
    public var recoveryCertificatePEM: String
    /// The blob id, hex: a blob of another generation is refused.
    public var blobID: String
    /// SHA-256 of the whole blob, hex (docs/escrow.md §3 check 3).
    public var blobSHA256: String
    /// The enrolled cards.
    public var cards: [Card]
    /// The drill canary, when the ceremony made one.
    public var canary: Canary?
    /// When the record was written (ISO 8601).
    public var createdAt: String

    enum CodingKeys: String, CodingKey {
        case format, cards, canary
        case recoveryCertificateFingerprint = "recovery_certificate_fingerprint"
        case recoveryCertificatePEM = "recovery_certificate_pem"
        case blobID = "blob_id", blobSHA256 = "blob_sha256", createdAt = "created_at"
    }

    /// The record for `blob` (parsed as `parsed`), its certificate and cards.
    public init(recoveryCertificate: Certificate, blob: [UInt8], parsed: EscrowBlob, cards: [Card],
                canary: Canary? = nil, createdAt: Date = Date()) {
        format = Self.formatName
        recoveryCertificateFingerprint = Hex.encode(recoveryCertificate.fingerprint)
        recoveryCertificatePEM = recoveryCertificate.pem
        blobID = Hex.encode(parsed.blobID)
        blobSHA256 = Hex.encode(EscrowBlob.digest(blob))
        self.cards = cards
        self.canary = canary
        self.createdAt = ISO8601DateFormatter().string(from: createdAt)
    }

    /// The recovery certificate, parsed and checked against its recorded fingerprint.
    public func recoveryCertificate() throws -> Certificate {
        let cert: Certificate
        do { cert = try Certificate(pem: recoveryCertificatePEM) } catch {
            throw RecoveryError.recordMalformed(problem: "the recovery certificate does not parse")
        }
        guard Hex.encode(cert.fingerprint) == recoveryCertificateFingerprint.lowercased() else {
            throw RecoveryError.recordMalformed(problem: "the recovery certificate does not match its recorded fingerprint")
        }
        return cert
    }

    /// The enrolled card whose 9D certificate has `fingerprint`, or nil (not enrolled).
    public func card(withFingerprint fingerprint: [UInt8]) -> Card? {
        cards.first { $0.certificateFingerprint.lowercased() == Hex.encode(fingerprint) }
    }

    // MARK: JSON

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return e
    }()

    /// The record as sorted JSON with a final newline: the same record always has the same SHA-256.
    public func encoded() throws -> [UInt8] { Array(try Self.encoder.encode(self)) + [0x0A] }

    /// Parses a record; `path` names it in errors.
    public init(json bytes: [UInt8], path: String = "enrolment record") throws {
        let d = JSONDecoder()
        do { self = try d.decode(EnrolmentRecord.self, from: Data(bytes)) } catch {
            throw RecoveryError.recordMalformed(problem: "\(path) is not a Triad enrolment record (\(error))")
        }
        guard Self.readableFormats.contains(format) else {
            throw RecoveryError.recordMalformed(problem: "\(path) has format \"\(format)\", expected \"\(Self.formatName)\"")
        }
        guard !cards.isEmpty else { throw RecoveryError.recordMalformed(problem: "\(path) lists no enrolled card") }
    }

    /// Reads and parses the record at `path`.
    public static func load(path: String) throws -> EnrolmentRecord {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RecoveryError.io(path: path, reason: "cannot read the enrolment record: check the path")
        }
        return try EnrolmentRecord(json: Array(data), path: path)
    }

    /// SHA-256 of the record as stored: logged in transcripts.
    public static func digest(path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RecoveryError.io(path: path, reason: "cannot read the enrolment record")
        }
        return SHA256.hash(Array(data))
    }
}
