#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A complete encrypted (or rewritten) file in its temporary beside the destination, not yet
/// durable and not yet renamed: the first half of §7.1, for callers that process many files
/// and want to pay for durability once per batch (docs/format.md §7.4).
///
/// Dropping a `PendingFile` that was never committed removes its temporary, as a failed
/// single-file write does. The temporary is never plaintext (it holds ciphertext), so a crash
/// before the commit leaves the original plus a stray `.triad-tmp-*` file, as in §7.1.
public final class PendingFile {
    let temp: AtomicFile
    /// The path the file will have once its batch commits.
    public var destination: String { temp.destination }
    /// The `.triad-tmp-<16 hex>` file holding the new content, beside the destination.
    public var temporaryPath: String { temp.temporaryPath }
    /// For a file replaced in place: what was read, checked under the commit lock at the rename.
    var original: ReplacedOriginal?
    /// Set by the batch commit when the original was busy: this file was discarded, not renamed.
    public internal(set) var busy: FileBusy?
    /// The original's commit lock, when it is held from the read to the rename.
    var lockFD: Int32?

    deinit { if let lockFD { close(lockFD) } }

    init(temp: AtomicFile) { self.temp = temp }

    /// Commits this file on its own, exactly as the one-file operations do (§7.1): fsync,
    /// rename, fsync the folder.
    public func commit() throws {
        if original != nil {
            try PendingBatch.commit([self])
            if let busy { throw busy }
            return
        }
        do { try temp.commit(mode: nil) } catch { temp.discard(); throw error }
    }

    /// Gives up: removes the temporary now.
    public func discard() {
        temp.discard()
        if let lockFD { close(lockFD) }
        lockFD = nil
    }

    /// Sets the extended attribute `name` on the new content before it is committed (the
    /// quarantine records which encrypted file a copy came from, docs/recovery.md §4). False
    /// when the filesystem does not keep user attributes.
    @discardableResult
    public func setAttribute(_ name: String, _ value: [UInt8]) -> Bool {
        LinuxCalls.setAttribute(temp.handle.fd, name, value)
    }

    /// A byte-for-byte copy of `input` into `output` (`zone decrypt --output` of a file that is
    /// not encrypted): 0600 until committed, then `finalMode`; with `replacing` false the commit
    /// refuses an existing name (docs/zone.md §5b).
    public static func copy(_ input: OpenedFile, to output: FileLocation, replacing: Bool, finalMode: mode_t) throws -> PendingFile {
        let temp = try AtomicFile(output, replacing: replacing)
        do {
            try EncryptedFile.copyRange(from: FileHandle(borrowing: input.fd, path: input.path), offset: 0,
                                        count: Int(input.status.st_size), to: temp.handle)
            temp.finishWriting(modeAtCommit: finalMode)
        } catch {
            temp.discard()
            throw error
        }
        return PendingFile(temp: temp)
    }
}

/// Commits many `PendingFile`s with one round of durability (docs/format.md §7.4):
///
/// 1. make every temporary durable: with one syncfs(2) when the batch has many files and the
///    machine has little other dirty data, otherwise by starting writeback of all of them
///    and then fsyncing each in a row;
/// 2. rename each temporary over its destination, in order;
/// 3. fsync each distinct folder once.
///
/// A crash before step 2 leaves every original untouched; a crash during step 2 or 3 leaves
/// each file either its original or its complete new content (the data was durable before
/// any rename), never a torn one: docs/format.md §7.1 holds per file, as in the one-file path.
public enum PendingBatch {
    /// Batches of at least this many files are made durable with one syncfs(2). Why: per file,
    /// fsync writes the file's inode and (for a new file) its folder synchronously and then
    /// flushes the disk cache; on ext4 without a journal that is four synchronous writes per
    /// 4 KiB file, while syncfs writes each inode-table and folder block once per batch and
    /// flushes once (docs/format.md §12 has the measurement).
    static let syncfsMinimumFiles = 16
    /// syncfs also writes other programs' dirty data on the filesystem; with more than this
    /// much dirty or under-writeback memory on the machine a batch uses fsync per file rather
    /// than wait for someone else's writes (a terminal server shared by a ward, say).
    static let syncfsDirtyLimit = 128 << 20

    /// How a batch was made durable.
    public enum Method: Equatable { case syncfs, fsyncEach }

    /// Commits `files` in order. A file replacing an original (`ReplacementLock`) is renamed
    /// only under the original's commit lock, held until its folder is synced; when that lock
    /// is taken or the original changed, the file is discarded and marked `busy`. On an error the files before the failing one are committed
    /// (and their folders synced), the failing one and those after it are discarded, and the
    /// error is thrown.
    @discardableResult
    public static func commit(_ files: [PendingFile]) throws -> Method {
        if files.count >= syncfsMinimumFiles, let dirty = Durability.systemDirtyBytes(), dirty <= syncfsDirtyLimit,
           let first = files.min(by: { $0.temp.openOrder < $1.temp.openOrder }),
           Durability.syncFilesystem(first.temp.handle.fd) {
            try commitDurable(files)
            return .syncfs
        }
        for file in files { Durability.startWriteback(file.temp.handle.fd) }
        for (i, file) in files.enumerated() {
            do { try file.temp.handle.sync() } catch {
                for later in files[i...] { later.discard() }
                try commitDurable(Array(files[..<i]))
                throw error
            }
        }
        try commitDurable(files)
        return .fsyncEach
    }

    private static func commitDurable(_ files: [PendingFile]) throws {
        var directories: [DirectoryHandle] = []
        var seen = Set<String>()
        var failure: Error?
        var locks: [Int32] = []
        defer { for fd in locks { close(fd) } }
        for file in files {
            if failure != nil { file.discard(); continue }
            do {
                if let original = file.original {
                    let held = file.lockFD
                    file.lockFD = nil
                    do { locks.append(try ReplacementLock.lockForRename(original, held: held)) } catch let busy as FileBusy {
                        file.busy = busy
                        file.discard()
                        continue
                    }
                }
                try file.temp.renameIntoPlace()
                let directory = file.temp.location.directory
                if seen.insert(directory.path).inserted { directories.append(directory) }
            } catch {
                failure = error
                file.discard()
            }
        }
        for directory in directories { try directory.sync() }
        if let failure { throw failure }
    }
}

extension EncryptedFile {
    /// Encrypts like `encrypt(inputPath:outputPath:…)` but stops before durability: the
    /// ciphertext is complete in a temporary beside `outputPath` with its final mode, and
    /// `PendingBatch.commit` makes it durable and renames it. For trees of small files, where
    /// two fsyncs per file would dominate (docs/format.md §7.4, §12).
    public static func encryptPending(inputPath: String, outputPath: String, zoneID: [UInt8],
                                      recipients: [any Recipient]) throws -> PendingFile {
        let input = try FileHandle(path: inputPath, flags: O_RDONLY)
        let mode = AtomicFile.mode(of: outputPath) ?? (try? input.status().st_mode & 0o7777) ?? 0o600
        return try encryptPending(input: input, inputStatus: nil, mode: mode, outputPath: outputPath,
                                  zoneID: zoneID, recipients: recipients)
    }

    /// In-place encryption of a file the caller holds open (`inputFD`, read from offset 0 and
    /// not closed here): the temporary gets the open file's permission bits. `zone encrypt`
    /// uses it so the inode it checked for the magic is the one it encrypts, and so a 4 KiB
    /// file costs one open and one fstat rather than three opens and four stats.
    public static func encryptPending(inputFD: Int32, inputPath: String, zoneID: [UInt8],
                                      recipients: [any Recipient]) throws -> PendingFile {
        let input = FileHandle(borrowing: inputFD, path: inputPath)
        let status = try input.status()
        return try encryptPending(input: input, inputStatus: status, mode: status.st_mode & 0o7777, outputPath: inputPath,
                                  zoneID: zoneID, recipients: recipients)
    }

    /// In-place encryption of a file opened beneath a root (docs/zone.md §1b): the inode that
    /// was checked is the one encrypted, and the temporary is made and renamed in its folder by
    /// descriptor, with the file's permission bits.
    public static func encryptPending(_ file: OpenedFile, zoneID: [UInt8], recipients: [any Recipient]) throws -> PendingFile {
        try encryptPending(input: FileHandle(borrowing: file.fd, path: file.path), inputStatus: file.status, mode: file.mode,
                           location: file.location, zoneID: zoneID, recipients: recipients)
    }

    private static func encryptPending(input: FileHandle, inputStatus: stat?, mode: mode_t, outputPath: String,
                                       zoneID: [UInt8], recipients: [any Recipient]) throws -> PendingFile {
        try encryptPending(input: input, inputStatus: inputStatus, mode: mode, location: FileLocation.byPath(outputPath),
                           zoneID: zoneID, recipients: recipients)
    }

    private static func encryptPending(input: FileHandle, inputStatus: stat?, mode: mode_t, location: FileLocation,
                                       zoneID: [UInt8], recipients: [any Recipient]) throws -> PendingFile {
        let temp = try AtomicFile(location)
        do {
            try encryptStream(from: input, to: temp.handle, zoneID: zoneID, recipients: recipients, random: .system,
                              inputStatus: inputStatus)
            try temp.finishWriting(mode: mode)
        } catch {
            temp.discard()
            throw error
        }
        return PendingFile(temp: temp)
    }
}
