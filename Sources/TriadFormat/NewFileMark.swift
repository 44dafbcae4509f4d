#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import TriadCrypto

/// The new-file mark (docs/format.md §14.5): an extended attribute, keyed from the file key,
/// that a writer sets on a new file before it is named. While it is present, a payload that
/// does not authenticate whole is a torn first commit and the file's content is the empty
/// file — so that first commit, the one `tar`, `cp` and an editor's save make, can be written
/// in place with no journal beside it.
public enum NewFileMark {
    /// The attribute's name (the `user.` namespace: any file system with user attributes).
    public static let attributeName = "user.triad.new-file"
    static let magic = Array("TRIADNF1".utf8)
    static let label = Array("triad/v1/new-file".utf8)
    static let valueLength = 40

    /// `"TRIADNF1" ‖ HMAC-SHA256(K_new, SHA-256(header))`, K_new = HKDF-SHA256(FK, salt = file
    /// id, info = "triad/v1/new-file" ‖ core): only a holder of the file key can make it, and
    /// it names one header of one file.
    public static func value(header: FileHeader, fileKey: SecureBytes) -> [UInt8] {
        let key = HKDF.deriveKey(inputKey: fileKey, salt: header.fileID, info: label + header.core, outputByteCount: 32)
        return magic + HMACSHA256.authenticate(SHA256.hash(header.encoded), key: key)
    }

    /// Sets the mark on the file open on `fd`; false where the file system keeps no user
    /// attributes (then there is no mark, and every commit goes through the journal).
    @discardableResult
    static func set(fd: Int32, header: FileHeader, fileKey: SecureBytes) -> Bool {
        LinuxCalls.setAttribute(fd, attributeName, value(header: header, fileKey: fileKey))
    }

    /// True when some value lies under the mark's name: one `fgetxattr` with no buffer, the
    /// check every opener makes (nearly always false).
    public static func isPresent(fd: Int32) -> Bool {
        LinuxCalls.hasAttribute(fd, attributeName)
    }

    /// True when the file carries a valid mark for `header` (§14.5: exactly the 40 bytes).
    static func isValid(fd: Int32, header: FileHeader, fileKey: SecureBytes) -> Bool {
        guard let present = LinuxCalls.attribute(fd, attributeName), present.count == valueLength else { return false }
        return constantTimeEquals(present, value(header: header, fileKey: fileKey))
    }

    /// Removes the mark (no error when there is none).
    static func remove(fd: Int32) {
        LinuxCalls.removeAttribute(fd, attributeName)
    }

    /// What `recover` found.
    public enum Outcome: Equatable, Sendable {
        /// No value under the mark's name.
        case none
        /// A value that is not this header's mark: removed, the file read as it is.
        case ignored
        /// A valid mark on a payload that authenticates whole: the file's content stands (the
        /// mark removed once that content is durable, kept on the empty file).
        case verified
        /// A valid mark on a payload that does not authenticate: a torn first commit, the file
        /// reset to the empty file (the mark kept).
        case reset
    }

    /// The reader's step of §14.5 for the suite-2 file open read-write on `fd`; the caller
    /// holds the file's commit lock and has recovered its journal (§14.3).
    public static func recover(fd: Int32, header: FileHeader, fileKey: SecureBytes, path: String) throws -> Outcome {
        guard isPresent(fd: fd) else { return .none }
        guard header.payloadSuite == .mutable, isValid(fd: fd, header: header, fileKey: fileKey) else {
            remove(fd: fd)
            return .ignored
        }
        let file = try MutableFile(fd: fd, path: path, header: header, fileKey: fileKey)
        let size = Int(try FileHandle(borrowing: fd, path: path).status().st_size)
        if try authenticatesWhole(fd: fd, header: header, fileKey: fileKey, path: path) {
            if size != file.emptyBackingSize {
                guard fdatasync(fd) == 0 else { throw FormatError.io(path: path, operation: "fdatasync", errno: errno) }
                remove(fd: fd)
            }
            return .verified
        }
        try file.resetToEmpty()
        guard fdatasync(fd) == 0 else { throw FormatError.io(path: path, operation: "fdatasync", errno: errno) }
        return .reset
    }

    /// True when every segment of the payload opens, the final one last (§13.2); false when
    /// one does not, or the payload is cut or extended. An I/O error is thrown, never taken
    /// for a torn commit: a disk that failed a read must not get a file reset.
    static func authenticatesWhole(fd: Int32, header: FileHeader, fileKey: SecureBytes, path: String) throws -> Bool {
        let handle = FileHandle(borrowing: fd, path: path)
        try handle.seek(to: header.encodedLength)
        do {
            _ = try PayloadStream.decrypt(from: handle, payloadKey: KeySchedule.payloadKey(fileKey: fileKey, core: header.core),
                                          layout: header.layout, path: path) { _, _, _ in }
            return true
        } catch let error as FormatError {
            switch error {
            case .segmentAuthenticationFailed, .truncated, .trailingData, .malformedPayload: return false
            default: throw error
            }
        }
    }
}
