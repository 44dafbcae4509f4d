#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization
import TriadCrypto

/// A temporary file beside its destination that becomes the destination only when complete
/// (docs/format.md §7.1): `.<name>.triad-tmp-<random>`, mode 0600, fsynced, renamed over the target,
/// then the directory fsynced, so a crash leaves the old file or the whole new one. Until
/// `commit()` succeeds, dropping the value (or `discard()`) unlinks the temporary file.
final class AtomicFile {
    let destination: String
    let temporaryPath: String
    let handle: FileHandle
    /// Increases with every temporary this process opens: a batch's syncfs goes through the
    /// earliest-opened one, whose descriptor has seen every later writeback error (§7.4).
    let openOrder: Int
    private var finished = false
    private static let opened = Atomic<Int>(0)

    init(destination: String) throws {
        self.destination = destination
        openOrder = AtomicFile.opened.add(1, ordering: .relaxed).newValue
        let (directory, name) = AtomicFile.split(destination)
        let suffix = Hex.encode(SecureRandom.bytes(count: 8))
        temporaryPath = (directory.isEmpty ? "" : directory + "/") + "." + name + ".triad-tmp-" + suffix
        handle = try FileHandle(path: temporaryPath, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
    }

    deinit { if !finished { unlink(temporaryPath) } }

    /// Sets the final permission bits, fsyncs, renames over the destination and fsyncs the directory.
    func commit(mode: mode_t? = nil) throws {
        try finishWriting(mode: mode)
        try handle.sync()
        try renameIntoPlace()
        try Durability.syncDirectory(AtomicFile.split(destination).directory)
    }

    /// Batch step 1 (docs/format.md §7.4): the content is complete; set the final permission
    /// bits. Writeback is left to the commit, which starts it for a whole batch at once or
    /// lets one syncfs(2) write the batch in a single pass.
    func finishWriting(mode: mode_t?) throws {
        if let mode, fchmod(handle.fd, mode & 0o7777) != 0 {
            throw FormatError.io(path: temporaryPath, operation: "chmod", errno: errno)
        }
    }

    /// Batch step 3: renames over the destination. The caller has made the content durable
    /// first (fsync or syncfs) and fsyncs the directory afterwards.
    func renameIntoPlace() throws {
        guard rename(temporaryPath, destination) == 0 else {
            throw FormatError.io(path: destination, operation: "rename", errno: errno)
        }
        finished = true
    }

    /// Removes the temporary file now (also done on deinit).
    func discard() {
        if !finished { unlink(temporaryPath); finished = true }
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
