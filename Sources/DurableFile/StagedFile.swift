#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization
import SystemPackage

/// A new file's content in a temporary beside its destination, which becomes the destination
/// only when complete (docs/format.md §7.1): `.triad-tmp-<16 hex>` in the destination's folder,
/// created through the folder's descriptor with O_EXCL | O_NOFOLLOW and mode 0600, made
/// durable with fdatasync, given its final mode, renamed to the destination, and the folder
/// fsynced. A crash leaves the old file (or none) or the whole new one, never a torn one.
///
/// Until the publication succeeds, dropping the value (or `discard()`) unlinks the temporary,
/// so every error path of every writer leaves nothing behind. The temporary's name has a
/// fixed length (27 bytes), so every name the filesystem accepts (NAME_MAX) can be written.
public final class StagedFile {
    /// How the temporary takes the destination's name.
    public enum Publication: Sendable, Equatable {
        /// rename(2): replaces the directory entry (a link there is replaced, never followed).
        case replace
        /// renameat2(2) RENAME_NOREPLACE, or link(2) where the filesystem lacks it (NFS): the
        /// publication fails with `DurableError.exists` if the name exists, however it got
        /// there — an exclusive create that is still never torn.
        case noReplace
    }

    /// The destination's folder, held open: every step goes through its descriptor.
    public let folder: DurableFolder
    /// The destination's name in `folder` (no slash).
    public let name: String
    /// The temporary's name in `folder`.
    public let temporaryName: String
    /// The temporary's descriptor, open for writing (and reading) until the value goes away.
    public let fd: Int32
    /// How the commit publishes the file.
    public let publication: Publication
    /// Increases with every temporary this process opens: a batch's syncfs goes through the
    /// earliest-opened one, whose descriptor has seen every later writeback error (§7.4).
    public let openOrder: Int
    /// Permission bits applied just before the publication; the temporary is 0600 until then,
    /// so a run killed before its commit leaves nothing readable by others.
    public var finalMode: mode_t?
    /// True once the temporary has taken the destination's name.
    public private(set) var isPublished = false
    private var discarded = false
    private static let opened = Atomic<Int>(0)

    /// The start of every temporary's name: tree walks skip and clean up such files.
    public static let temporaryPrefix = ".triad-tmp-"

    /// A temporary for `name` in `folder`.
    /// - Throws: `DurableError.failed(step: .create)` naming the temporary.
    public init(in folder: DurableFolder, name: String, publication: Publication = .replace,
                finalMode: mode_t? = nil) throws {
        self.folder = folder
        self.name = name
        self.publication = publication
        self.finalMode = finalMode.map { $0 & 0o7777 }
        openOrder = StagedFile.opened.add(1, ordering: .relaxed).newValue
        temporaryName = StagedFile.temporaryPrefix + StagedFile.randomSuffix()
        let fd = openat(folder.fd, temporaryName, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw DurableError.failed(path: folder.path(of: temporaryName), step: .create, errno: errno) }
        self.fd = fd
    }

    /// A temporary for the file at `path`, its folder opened by path (links in the folder's
    /// own path followed: the caller named it).
    public convenience init(path: FilePath, publication: Publication = .replace, finalMode: mode_t? = nil) throws {
        let (folder, name) = try DurableFolder.containing(path)
        try self.init(in: folder, name: name, publication: publication, finalMode: finalMode)
    }

    deinit {
        if !isPublished && !discarded { unlinkat(folder.fd, temporaryName, 0) }
        close(fd)
    }

    /// The destination's path, for messages.
    public var destination: FilePath { folder.path(of: name) }
    /// The temporary's path, for messages and tests.
    public var temporaryPath: FilePath { folder.path(of: temporaryName) }

    /// Appends `bytes` (retrying on EINTR and short writes).
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n >= 0 { done += n; continue }
            if errno == EINTR { continue }
            throw DurableError.failed(path: temporaryPath, step: .write, errno: errno)
        }
    }

    /// Appends `bytes`.
    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// fdatasync(2): the content is on disk before any name points at it.
    public func sync() throws {
        while fdatasync(fd) != 0 {
            if errno == EINTR { continue }
            throw DurableError.failed(path: temporaryPath, step: .sync, errno: errno)
        }
    }

    /// The whole single-file commit: sync, publish, fsync the folder. On an error the
    /// temporary is removed and the destination is as it was.
    public func commit() throws {
        do {
            try sync()
            try publish()
        } catch {
            discard()
            throw error
        }
        try folder.sync()
    }

    /// Batch step (docs/format.md §7.4): sets the final mode and gives the temporary the
    /// destination's name. The caller has made the content durable first (`sync` or a
    /// syncfs) and fsyncs the folder afterwards. On an error the temporary stays for the
    /// caller to discard.
    public func publish() throws {
        precondition(!isPublished && !discarded, "a staged file is published once")
        if let finalMode, fchmod(fd, finalMode) != 0 {
            throw DurableError.failed(path: temporaryPath, step: .setMode, errno: errno)
        }
        switch publication {
        case .replace:
            guard renameat(folder.fd, temporaryName, folder.fd, name) == 0 else {
                throw DurableError.failed(path: destination, step: .publish, errno: errno)
            }
        case .noReplace:
            if LinuxRename.noReplace(folder.fd, temporaryName, name) != 0 {
                guard errno == EINVAL || errno == ENOSYS else {
                    if errno == EEXIST { throw DurableError.exists(path: destination) }
                    throw DurableError.failed(path: destination, step: .publish, errno: errno)
                }
                // A filesystem without RENAME_NOREPLACE: link(2) fails if the name exists too.
                guard linkat(folder.fd, temporaryName, folder.fd, name, 0) == 0 else {
                    if errno == EEXIST { throw DurableError.exists(path: destination) }
                    throw DurableError.failed(path: destination, step: .publish, errno: errno)
                }
                unlinkat(folder.fd, temporaryName, 0)
            }
        }
        isPublished = true
    }

    /// Gives up: removes the temporary now (also done when the value goes away).
    public func discard() {
        if !isPublished && !discarded { unlinkat(folder.fd, temporaryName, 0) }
        discarded = true
    }

    /// 16 lowercase hex digits from the system's random source (getrandom(2)): the name need
    /// not be secret, O_EXCL makes it unique; random so concurrent writers rarely collide.
    static func randomSuffix() -> String {
        var generator = SystemRandomNumberGenerator()
        let value = generator.next() as UInt64
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
