#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import DurableFile

/// A complete encrypted (or rewritten) file in its temporary beside the destination, not yet
/// durable and not yet renamed: the first half of §7.1, for callers that process many files
/// and want to pay for durability once per batch (docs/format.md §7.4). Every operation of
/// `EncryptedFile` that produces a file returns one; the caller commits it.
///
/// Dropping a `PendingFile` that was never committed removes its temporary, as a failed
/// single-file write does. A crash before the commit leaves the original plus a stray
/// `.triad-tmp-*` file, as in §7.1 (plaintext stays mode 0600 until the commit).
public final class PendingFile {
    let staged: StagedFile
    /// The path the file will have once its batch commits.
    public var destination: String { staged.destination.string }
    /// The `.triad-tmp-<16 hex>` file holding the new content, beside the destination.
    public var temporaryPath: String { staged.temporaryPath.string }
    /// For a file replaced in place: what was read, checked under the commit lock at the rename.
    var original: ReplacedOriginal?
    /// Set by the batch commit when the original was busy: this file was discarded, not renamed.
    public internal(set) var busy: FileBusy?
    /// The original's commit lock, when it is held from the read to the rename.
    var lockFD: Int32?

    deinit { releaseLock() }

    init(staged: StagedFile) { self.staged = staged }

    /// Commits this file on its own, exactly as the one-file operations do (§7.1): fsync,
    /// rename, fsync the folder.
    public func commit() throws {
        if original != nil {
            try PendingBatch.commit([self])
            if let busy { throw busy }
            return
        }
        try Staging.mapped { try staged.commit() }
    }

    /// Gives up: removes the temporary now (and lets go of the original's commit lock).
    public func discard() {
        staged.discard()
        releaseLock()
    }

    /// Closes the original's commit lock, if this file still holds it.
    func releaseLock() {
        if let lockFD { close(lockFD) }
        lockFD = nil
    }

    /// Sets the extended attribute `name` on the new content before it is committed (the
    /// quarantine records which encrypted file a copy came from, docs/recovery.md §4). False
    /// when the filesystem does not keep user attributes.
    @discardableResult
    public func setAttribute(_ name: String, _ value: [UInt8]) -> Bool {
        LinuxCalls.setAttribute(staged.fd, name, value)
    }

    /// A byte-for-byte copy of `input` into `output` (`zone decrypt --output` of a file that is
    /// not encrypted): 0600 until committed, then `finalMode`; with `replacing` false the commit
    /// refuses an existing name (docs/zone.md §5b).
    public static func copy(_ input: OpenedFile, to output: FileLocation, replacing: Bool, finalMode: mode_t) throws -> PendingFile {
        let staged = try Staging.file(at: output, replacing: replacing, finalMode: finalMode)
        try EncryptedFile.copyRange(from: FileHandle(borrowing: input.fd, path: input.path), offset: 0,
                                    count: Int(input.status.st_size), to: staged.handle)
        return PendingFile(staged: staged)
    }
}

/// Commits many `PendingFile`s with one round of durability (docs/format.md §7.4), as
/// `StagedBatch.commit` does: every temporary made durable (one syncfs(2) or fsync each),
/// then renamed in order, then each folder fsynced once. On an error the files before the
/// failing one are committed, the failing one and those after it are discarded.
public enum PendingBatch {
    /// How a batch was made durable.
    public typealias Method = StagedBatch.Method

    /// Commits `files` in order. A file replacing an original (`ReplacementLock`) is renamed
    /// only under the original's commit lock, held until its folder is synced; when that lock
    /// is taken or the original changed, the file is discarded and marked `busy`. On an error
    /// the files before the failing one are committed, the failing one and those after it are
    /// discarded, and the error is thrown (as the format's error).
    @discardableResult
    public static func commit(_ files: [PendingFile]) throws -> Method {
        var locks: [Int32] = []
        defer {
            for fd in locks { close(fd) }
            for file in files where !file.staged.isPublished { file.releaseLock() }
        }
        return try Staging.mapped {
            try StagedBatch.commit(files.map(\.staged)) { index in
                let file = files[index]
                guard let original = file.original else { return true }
                let held = file.lockFD
                file.lockFD = nil
                do { locks.append(try ReplacementLock.lockForRename(original, held: held)) } catch let busy as FileBusy {
                    file.busy = busy
                    return false
                }
                return true
            }
        }
    }
}
