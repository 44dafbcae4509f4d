/// Errors of the encrypted-file layer (docs/format.md §7).
///
/// Every case that concerns a file carries its path, so the CLI can print one line that
/// names the file and says what to do. `noMatchingKey` is the aggregate "no identity
/// matched" error; an `Identity` itself signals "not mine" by returning nil.
public enum FormatError: Error, Equatable, CustomStringConvertible {
    /// The file does not start with the Triad magic (it is plaintext or another format).
    case notEncrypted(path: String)
    /// The file ends inside the header, inside a segment, or before its final segment.
    case truncated(path: String)
    /// The header MAC did not verify with the unwrapped file key: the core or a slot was altered.
    case headerAuthenticationFailed(path: String)
    /// Segment `index` failed AES-GCM authentication: the payload was altered, reordered or spliced.
    case segmentAuthenticationFailed(path: String, index: UInt64)
    /// None of the given identities holds a key for any slot of the file.
    case noMatchingKey(path: String)
    /// The format version is not one this build reads (docs/format.md §2: only 1).
    case unsupportedVersion(path: String, version: UInt16)
    /// The cipher suite byte is not one this build knows (only 0x01).
    case unsupportedSuite(path: String, suite: UInt8)
    /// The segment size is not one version 1 allows for the suite (2^16; suite 2 also 2^12).
    case unsupportedSegmentSize(path: String, suite: UInt8, log2: UInt8)
    /// A length, count or field in the header is not canonical.
    case malformedHeader(path: String, reason: String)
    /// A key slot body does not have the layout its type requires.
    case malformedSlot(type: UInt16, reason: String)
    /// A slot was addressed to this identity but could not be unwrapped (wrong key or damaged
    /// slot). Identities throw it with a nil path; `EncryptedFile` fills in the file.
    case slotUnwrapFailed(path: String?, reason: String)
    /// The payload is authentic but not canonical (an empty final segment after others).
    case malformedPayload(path: String, reason: String)
    /// Bytes follow the final segment.
    case trailingData(path: String)
    /// A system call failed.
    case io(path: String, operation: String, errno: Int32)
    /// A caller-supplied value is out of range (e.g. a zone id that is not 16 bytes).
    case invalidArgument(problem: String)

    /// One sentence naming the file and what is wrong with it.
    public var description: String {
        switch self {
        case .notEncrypted(let path):
            return "\(path): not a Triad-encrypted file (no Triad magic); encrypt it first or pick the right file"
        case .truncated(let path):
            return "\(path): the encrypted file is truncated (it ends before its final segment); restore it from a backup"
        case .headerAuthenticationFailed(let path):
            return "\(path): the header failed authentication (its core or key slots were altered); restore it from a backup"
        case .segmentAuthenticationFailed(let path, let index):
            return "\(path): segment \(index) failed authentication (the content was altered, reordered or spliced); restore it from a backup"
        case .noMatchingKey(let path):
            return "\(path): none of the given identities can open this file; use a member identity of its zone or the recovery key"
        case .unsupportedVersion(let path, let version):
            return "\(path): format version \(version) is not supported by this build (it reads version 1); upgrade Triad"
        case .unsupportedSuite(let path, let suite):
            return "\(path): cipher suite 0x\(String(suite, radix: 16)) is not supported by this build; upgrade Triad"
        case .unsupportedSegmentSize(let path, let suite, let log2):
            let allowed = suite == PayloadSuite.mutable.rawValue ? "2^12 or 2^16" : "2^16 only"
            return "\(path): segment size 2^\(log2) is not allowed for payload suite \(suite) in format version 1 (\(allowed)); the file is damaged or from a newer build"
        case .malformedHeader(let path, let reason):
            return "\(path): malformed header (\(reason)); the file is damaged, restore it from a backup"
        case .malformedSlot(let type, let reason):
            return "key slot of type 0x\(hex4(type)) is malformed (\(reason)); the file is damaged"
        case .slotUnwrapFailed(let path, let reason):
            return (path.map { "\($0): " } ?? "") + "a key slot addressed to this identity could not be unwrapped (\(reason)); check that the identity matches the certificate"
        case .malformedPayload(let path, let reason):
            return "\(path): malformed payload (\(reason)); the file was not written by a conforming Triad writer"
        case .trailingData(let path):
            return "\(path): data follows the final segment (the file was extended); restore it from a backup"
        case .io(let path, let operation, let errno):
            return "\(path): \(operation) failed: \(String(cString: strerror(errno))); check the path and permissions"
        case .invalidArgument(let what):
            return "invalid argument: \(what)"
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Four lowercase hex digits, for slot types in messages.
func hex4(_ value: UInt16) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
}
