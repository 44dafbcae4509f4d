#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization
import TriadCrypto

/// A temporary file beside its destination that becomes the destination only when complete
/// (docs/format.md §7.1): `.triad-tmp-<16 hex>` in the destination's folder, created `O_EXCL` with
/// mode 0600, fsynced, renamed over the target, then the folder fsynced, so a crash leaves the
/// old file or the whole new one. Until `commit()` succeeds, dropping the value (or
/// `discard()`) unlinks the temporary file.
///
/// Everything goes through the folder's descriptor (openat, renameat, unlinkat), never a path
/// string, so a folder swapped for a link after it was opened cannot redirect the write
/// (docs/zone.md §1b). The temporary's name has a fixed length (27 bytes), so every name the
/// filesystem accepts for the destination (up to NAME_MAX, 255 bytes) can be written.
final class AtomicFile {
    let location: FileLocation
    let temporaryName: String
    let handle: FileHandle
    /// Increases with every temporary this process opens: a batch's syncfs goes through the
    /// earliest-opened one, whose descriptor has seen every later writeback error (§7.4).
    let openOrder: Int
    /// False for outputs that must not replace anything (`zone decrypt --output` without
    /// `--force`): the rename then fails if the name exists (renameat2 RENAME_NOREPLACE).
    let replacing: Bool
    /// Permission bits applied just before the rename (plaintext: 0600 until then, so a run
    /// killed before its commit leaves nothing readable by others).
    private var modeAtCommit: mode_t?
    private var finished = false
    private static let opened = Atomic<Int>(0)

    var destination: String { location.path }
    var temporaryPath: String { location.directory.display(temporaryName) }

    /// A temporary for `destination`, its folder opened by path (callers outside a zone tree:
    /// metadata, state files, tests).
    convenience init(destination: String) throws {
        try self.init(FileLocation.byPath(destination))
    }

    /// A temporary in `location`'s folder, created through its descriptor.
    init(_ location: FileLocation, replacing: Bool = true) throws {
        self.location = location
        self.replacing = replacing
        openOrder = AtomicFile.opened.add(1, ordering: .relaxed).newValue
        temporaryName = AtomicFile.temporaryPrefix + Hex.encode(SecureRandom.bytes(count: 8))
        let fd = openat(location.directory.fd, temporaryName, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw FormatError.io(path: location.directory.display(temporaryName), operation: "open", errno: errno)
        }
        handle = FileHandle(adopting: fd, path: location.directory.display(temporaryName))
    }

    deinit { if !finished { unlinkat(location.directory.fd, temporaryName, 0) } }

    /// The start of every temporary's name.
    static let temporaryPrefix = ".triad-tmp-"

    /// Sets the final permission bits, fsyncs, renames over the destination and fsyncs the directory.
    func commit(mode: mode_t? = nil) throws {
        try finishWriting(mode: mode)
        try handle.sync()
        try renameIntoPlace()
        try location.directory.sync()
    }

    /// Batch step 1 (docs/format.md §7.4): the content is complete; set the final permission
    /// bits. Writeback is left to the commit, which starts it for a whole batch at once or
    /// lets one syncfs(2) write the batch in a single pass.
    func finishWriting(mode: mode_t?) throws {
        if let mode, fchmod(handle.fd, mode & 0o7777) != 0 {
            throw FormatError.io(path: temporaryPath, operation: "chmod", errno: errno)
        }
    }

    /// Like `finishWriting`, but the mode is applied only at the rename: for plaintext, which
    /// stays 0600 (readable by its owner alone) until it is committed.
    func finishWriting(modeAtCommit mode: mode_t) {
        modeAtCommit = mode & 0o7777
    }

    /// Batch step 3: renames over the destination (or, not `replacing`, next to nothing). The
    /// caller has made the content durable first (fsync or syncfs) and fsyncs the directory
    /// afterwards. The rename replaces the directory entry itself: a link at the destination is
    /// replaced, its target never written.
    func renameIntoPlace() throws {
        if let modeAtCommit, fchmod(handle.fd, modeAtCommit) != 0 {
            throw FormatError.io(path: temporaryPath, operation: "chmod", errno: errno)
        }
        let dir = location.directory.fd
        if replacing {
            guard renameat(dir, temporaryName, dir, location.name) == 0 else {
                throw FormatError.io(path: destination, operation: "rename", errno: errno)
            }
        } else if LinuxCalls.renameNoReplace(dir, temporaryName, location.name) != 0 {
            guard errno == EINVAL || errno == ENOSYS else {
                if errno == EEXIST { throw ConfinementError.exists(path: destination) }
                throw FormatError.io(path: destination, operation: "rename", errno: errno)
            }
            // A filesystem without RENAME_NOREPLACE: link(2) fails if the name exists too.
            guard linkat(dir, temporaryName, dir, location.name, 0) == 0 else {
                if errno == EEXIST { throw ConfinementError.exists(path: destination) }
                throw FormatError.io(path: destination, operation: "link", errno: errno)
            }
            unlinkat(dir, temporaryName, 0)
        }
        finished = true
    }

    /// Removes the temporary file now (also done on deinit).
    func discard() {
        if !finished { unlinkat(location.directory.fd, temporaryName, 0); finished = true }
    }

    /// The permission bits of an existing file, or nil.
    static func mode(of path: String) -> mode_t? {
        var st = stat()
        return stat(path, &st) == 0 ? st.st_mode & 0o7777 : nil
    }

    static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return ("", path) }
        let directory = String(path[..<slash])
        return (directory.isEmpty ? "/" : directory, String(path[path.index(after: slash)...]))
    }
}
