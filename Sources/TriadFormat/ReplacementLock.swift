#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// A file that could not be replaced because another program was changing it: a mount's
/// daemon held its commit lock, or its content or name changed after the command read it.
/// The file is left exactly as it was (and decrypts as before); running the command again
/// processes it.
public struct FileBusy: Error, CustomStringConvertible, Sendable {
    /// The file, as the command names it.
    public let path: String
    /// What was found: the lock held, the content changed, or the name pointing elsewhere.
    public let reason: String

    /// Why the message says what to do: the file is untouched, so a re-run is all it takes.
    public var description: String {
        "\(path): busy: \(reason); left as it was (it decrypts as before): run the command again"
    }
}

/// What a command read, as it stood under the commit lock: the rename that replaces the
/// file is done only if the name still points at this inode and its size, mtime and ctime are
/// unchanged (docs/mount.md §4).
public struct ReplacedOriginal: @unchecked Sendable {
    let location: FileLocation
    let status: stat

    func matches(_ now: stat) -> Bool {
        now.st_dev == status.st_dev && now.st_ino == status.st_ino && now.st_size == status.st_size
            && now.st_mtim.tv_sec == status.st_mtim.tv_sec && now.st_mtim.tv_nsec == status.st_mtim.tv_nsec
            && now.st_ctim.tv_sec == status.st_ctim.tv_sec && now.st_ctim.tv_nsec == status.st_ctim.tv_nsec
    }
}

/// The commit lock (`CommitLock`) as the commands that replace a file by rename take it:
/// `zone encrypt`, in-place `zone decrypt`, `zone rekey` and the recovery re-grant and
/// rotation (docs/mount.md §4).
///
/// Why: a mount's daemon commits a program's writes into the file in place under that lock.
/// A command that read the file before such a commit and renamed its new file over it after
/// would drop the commit, which `fsync` had already acknowledged. So the command reads the
/// file holding the lock (no commit is half-done in what it reads), notes the inode, size,
/// mtime and ctime, and at its rename takes the lock again and renames only if the name
/// still points at that inode and nothing changed; a daemon that then commits finds the new
/// file at the name and follows it.
///
/// Why never waiting: a command holds the locks of a whole batch of renames until the
/// batch's folders are synced, and another command may hold others; a blocking wait could
/// close a cycle (two `zone encrypt` runs of one tree did). Every attempt here gives up after
/// a bounded time and the file is retried later in the run (`TreeEngine`) or reported as
/// busy (`FileBusy`), untouched.
public enum ReplacementLock {
    /// Tries and pauses before the read of a file gives up (about 200 ms in all).
    static let readAttempts = 40
    static let readPause: useconds_t = 5_000
    /// Tries and pauses at the rename, where the committer holds other files' locks (20 ms).
    static let renameAttempts = 10
    static let renamePause: useconds_t = 2_000

    /// Runs `body` (which reads `opened` and writes its replacement into a temporary) holding
    /// the file's commit lock, and records what was read on the returned pending file, whose
    /// batch commit then renames it only under the lock and only if nothing changed.
    public static func reading(_ opened: OpenedFile, _ body: () throws -> PendingFile) throws -> PendingFile {
        let held = try acquire(opened.location, attempts: readAttempts, pause: readPause) {
            $0.st_dev == opened.status.st_dev && $0.st_ino == opened.status.st_ino
        }
        var keep = false
        defer { if !keep { close(held.fd) } }
        let key = HeldKey(device: UInt64(held.status.st_dev), inode: UInt64(held.status.st_ino))
        HeldLocks.insert(key)
        defer { HeldLocks.remove(key) }
        let pending = try body()
        pending.original = ReplacedOriginal(location: opened.location, status: held.status)
        if HeldLocks.holdsUntilCommit {
            pending.lockFD = held.fd
            keep = true
        }
        return pending
    }

    /// Makes `reading` on this thread keep the lock until the pending file's commit (a retry
    /// of busy files, each committed on its own at once: no commit can slip in between).
    public static func holdUntilCommit(_ on: Bool) { HeldLocks.setHoldsUntilCommit(on) }

    /// Takes the lock for the rename of `original`'s replacement. Returns the descriptor that
    /// holds it (close it once the folder is synced), or throws `FileBusy`.
    static func lockForRename(_ original: ReplacedOriginal, held: Int32?) throws -> Int32 {
        if let held {
            var st = stat()
            guard fstatat(original.location.directory.fd, original.location.name, &st, AT_SYMLINK_NOFOLLOW) == 0,
                  original.matches(st) else {
                close(held)
                throw FileBusy(path: original.location.path, reason: "another program replaced it after the command read it")
            }
            return held
        }
        return try acquire(original.location, attempts: renameAttempts, pause: renamePause) { original.matches($0) }.fd
    }

    /// Opens the name (no link followed), checks it with `expected` and takes the lock with
    /// `F_OFD_SETLK`, up to `attempts` times. The lock is exclusive on a descriptor open for
    /// writing; a file the user may not write is locked shared on a read-only descriptor,
    /// which still excludes every daemon's (exclusive) commit.
    private static func acquire(_ location: FileLocation, attempts: Int, pause: useconds_t,
                                expected: (stat) -> Bool) throws -> (fd: Int32, status: stat) {
        let flags = O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC
        var type = Int16(F_WRLCK)
        var fd = openat(location.directory.fd, location.name, O_RDWR | flags)
        if fd < 0 && (errno == EACCES || errno == EPERM || errno == EROFS || errno == ETXTBSY) {
            type = Int16(F_RDLCK)
            fd = openat(location.directory.fd, location.name, O_RDONLY | flags)
        }
        guard fd >= 0 else {
            if errno == ENOENT { throw FileBusy(path: location.path, reason: "it was removed or renamed while the command ran") }
            throw FormatError.io(path: location.path, operation: "open", errno: errno)
        }
        var fl = flock()
        fl.l_type = type
        fl.l_whence = Int16(SEEK_SET)
        fl.l_start = off_t(CommitLock.offset)
        fl.l_len = 1
        for attempt in 0..<attempts {
            if fcntl(fd, CommitLock.setLock, &fl) == 0 {
                var st = stat()
                guard fstat(fd, &st) == 0, expected(st) else {
                    close(fd)
                    throw FileBusy(path: location.path, reason: "another program changed or replaced it after the command read it")
                }
                return (fd, st)
            }
            let e = errno
            guard e == EAGAIN || e == EACCES || e == EINTR else {
                close(fd)
                throw FormatError.io(path: location.path, operation: "lock", errno: e)
            }
            if attempt + 1 < attempts { usleep(pause) }
        }
        close(fd)
        throw FileBusy(path: location.path, reason: "a mount was writing it (its commit lock stayed taken)")
    }
}

/// The files whose commit lock a thread holds through `ReplacementLock.reading`: the
/// journal replay a read may run (`WriteJournal.recoverIfPresent`) takes the same lock on
/// another descriptor, which would wait for the thread itself; it runs under the held one.
struct HeldKey: Hashable { let device: UInt64; let inode: UInt64 }

enum HeldLocks {
    private static let count = Atomic<Int>(0)
    private static let table = Mutex<[UInt: Set<HeldKey>]>([:])
    private static let holding = Mutex<Set<UInt>>([])

    static func setHoldsUntilCommit(_ on: Bool) {
        holding.withLock { if on { $0.insert(UInt(pthread_self())) } else { $0.remove(UInt(pthread_self())) } }
    }

    static var holdsUntilCommit: Bool { holding.withLock { $0.contains(UInt(pthread_self())) } }

    static func insert(_ key: HeldKey) {
        count.add(1, ordering: .sequentiallyConsistent)
        table.withLock { $0[UInt(pthread_self()), default: []].insert(key) }
    }

    static func remove(_ key: HeldKey) {
        table.withLock { t in
            t[UInt(pthread_self())]?.remove(key)
            if t[UInt(pthread_self())]?.isEmpty == true { t[UInt(pthread_self())] = nil }
        }
        count.subtract(1, ordering: .sequentiallyConsistent)
    }

    /// Whether this thread holds the commit lock of the file open on `fd` (one fstat, and
    /// only while some thread of the process holds one).
    static func heldByThisThread(_ fd: Int32) -> Bool {
        guard count.load(ordering: .sequentiallyConsistent) > 0 else { return false }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return false }
        let key = HeldKey(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
        return table.withLock { $0[UInt(pthread_self())]?.contains(key) ?? false }
    }
}
