import Foundation
import TriadCrypto

/// What can go wrong in the recovery layer, one case per factor or step, each with the
/// values a person needs to act (docs/recovery.md §1: a ceremony stops at the factor that failed).
public enum RecoveryError: Error, Equatable, CustomStringConvertible {
    // Factor 1: the escrow blob (IT).
    case blobMalformed(problem: String)
    case blobUnsupportedVersion(version: UInt16)
    case blobChecksumMismatch
    case blobNotInRecord(expected: String, found: String)
    case blobBoundToOtherCertificate(expected: String, found: String)
    case blobIDMismatch(expected: String, found: String)
    case blobOpenFailed
    case blobKeyDoesNotMatchCertificate
    // Factor 2: the recovery card (Management).
    case cardNotEnrolled(certificateFingerprint: String)
    case cardSerialMismatch(expected: UInt32?, found: UInt32?)
    case cardHasNoSlotInBlob(certificateFingerprint: String)
    case cardUnwrapFailed
    case cardBlocked
    /// The card's 9E key did not sign this ceremony's message as the enrolled key (docs/recovery.md §2a).
    case cardNotPresenceProven(serial: UInt32?)
    case card(problem: String)
    // Factor 3: the PIN (Medical).
    case pinIncorrect(triesLeft: Int?)
    case pinRefusedLastTry
    // Records and operations.
    case recordMalformed(problem: String)
    case certificateExpired(certificate: String, notAfter: Date)
    case io(path: String, reason: String)
    case notRecoverable(path: String, reason: String)
    /// A quarantine folder that exists and was not made by this ceremony (docs/recovery.md §4).
    case quarantineNotNew(path: String, reason: String)

    /// One sentence naming the factor or file and what to do.
    public var description: String {
        switch self {
        case .blobMalformed(let why):
            return "escrow blob: not a valid Triad escrow blob (\(why)): present the blob written by the key-generation ceremony"
        case .blobUnsupportedVersion(let v):
            return "escrow blob: version \(v) is not supported by this tool: use a matching Triad version"
        case .blobChecksumMismatch:
            return "escrow blob: its checksum does not match — the blob was changed or damaged: present an intact copy of the blob"
        case .blobNotInRecord(let expected, let found):
            return "escrow blob: its SHA-256 \(found.prefix(16))… is not the one in the enrolment record (\(expected.prefix(16))…): this is not the enrolled blob, or it was altered — present the blob written by the key-generation ceremony"
        case .blobBoundToOtherCertificate(let expected, let found):
            return "escrow blob: it belongs to recovery certificate \(found.prefix(16))…, not \(expected.prefix(16))…: present the blob for this recovery certificate"
        case .blobIDMismatch(let expected, let found):
            return "escrow blob: blob id \(found) is not the enrolled blob id \(expected): present the current blob"
        case .blobOpenFailed:
            return "escrow blob: the recovery key does not decrypt under the card's key-encryption key — the blob header was altered: present an intact blob"
        case .blobKeyDoesNotMatchCertificate:
            return "escrow blob: the decrypted key is not the recovery certificate's key: the blob is not for this certificate"
        case .cardNotEnrolled(let fp):
            return "recovery card: its certificate \(fp.prefix(16))… is not in the enrolment record: insert an enrolled recovery card"
        case .cardSerialMismatch(let e, let f):
            return "recovery card: serial \(f.map(String.init) ?? "unknown") does not match the enrolled serial \(e.map(String.init) ?? "unknown"): insert the enrolled card"
        case .cardHasNoSlotInBlob(let fp):
            return "recovery card: the blob holds no key-encryption key for card certificate \(fp.prefix(16))… (card retired or blob for other cards): insert an enrolled card"
        case .cardUnwrapFailed:
            return "recovery card: the card could not unwrap the key-encryption key: insert the enrolled card"
        case .cardBlocked:
            return "recovery card: the PIN is blocked: unblock it with the PUK in a PIN-change ceremony, or use the backup card"
        case .cardNotPresenceProven(let serial):
            return "recovery card: serial \(serial.map(String.init) ?? "unknown") did not sign with the enrolled card authentication key (9E) — it carries copies of the enrolled certificates but is not the enrolled card: stop, keep this card as evidence, and use the enrolled card or the backup card"
        case .card(let what):
            return "recovery card: \(what)"
        case .pinIncorrect(let left):
            return "PIN: incorrect (\(left.map { "\($0) tries left" } ?? "tries left unknown")): the Medical department re-enters it in a new ceremony; nothing was recovered"
        case .pinRefusedLastTry:
            return "PIN: only one try is left; refused without an explicit decision to spend it (in a ceremony: the witnessed last-pin-try exception)"
        case .recordMalformed(let why):
            return "enrolment record: \(why): present the record written by the key-generation ceremony"
        case .certificateExpired(let what, let date):
            return "\(what) expired on \(ISO8601DateFormatter().string(from: date)): rotate it in a recovery-key rotation or card-replacement ceremony"
        case .io(let path, let reason):
            return "\(path): \(reason)"
        case .notRecoverable(let path, let reason):
            return "\(path): cannot be recovered: \(reason)"
        case .quarantineNotNew(let path, let reason):
            return "quarantine \(path): the folder exists and was not made by this ceremony (\(reason)); name a folder that does not exist yet — the ceremony creates it with mode 0700"
        }
    }
}

extension RecoveryError {
    /// The case name, for journals and tests ("which factor stopped the ceremony").
    public var code: String {
        switch self {
        case .blobMalformed: return "blobMalformed"
        case .blobUnsupportedVersion: return "blobUnsupportedVersion"
        case .blobChecksumMismatch: return "blobChecksumMismatch"
        case .blobNotInRecord: return "blobNotInRecord"
        case .blobBoundToOtherCertificate: return "blobBoundToOtherCertificate"
        case .blobIDMismatch: return "blobIDMismatch"
        case .blobOpenFailed: return "blobOpenFailed"
        case .blobKeyDoesNotMatchCertificate: return "blobKeyDoesNotMatchCertificate"
        case .cardNotEnrolled: return "cardNotEnrolled"
        case .cardSerialMismatch: return "cardSerialMismatch"
        case .cardHasNoSlotInBlob: return "cardHasNoSlotInBlob"
        case .cardUnwrapFailed: return "cardUnwrapFailed"
        case .cardBlocked: return "cardBlocked"
        case .cardNotPresenceProven: return "cardNotPresenceProven"
        case .card: return "card"
        case .pinIncorrect: return "pinIncorrect"
        case .pinRefusedLastTry: return "pinRefusedLastTry"
        case .recordMalformed: return "recordMalformed"
        case .certificateExpired: return "certificateExpired"
        case .io: return "io"
        case .notRecoverable: return "notRecoverable"
        case .quarantineNotNew: return "quarantineNotNew"
        }
    }
}

extension RecoveryError: LocalizedError {
    /// The same sentence for Foundation's error reporting.
    public var errorDescription: String? { description }
}
