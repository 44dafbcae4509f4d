#if canImport(Glibc)
import Glibc
#endif
internal import CFUSE
import Synchronization
import TriadFormat

/// Programs' own locks, passed to the backing file (docs/mount.md §4, §6), so that two
/// daemons on one share — two users, or one user on two terminal servers — see each other's
/// `fcntl` and `flock` locks: SQLite on a database in the zone, opened through two mounts,
/// relies on them. Without a lock operation the kernel would keep the locks inside one
/// machine's mount, where the other daemon cannot see them.
///
/// Each lock owner (an `fcntl` owner, or a handle for `flock`) gets its own descriptor of
/// the backing file, and its locks are open-file-description locks (`F_OFD_SETLK`,
/// `flock`) on that descriptor: they conflict with every other descriptor's — another
/// daemon's, another owner's in this daemon — as the owners' locks conflict on a plain file,
/// and closing one owner's descriptor drops only that owner's locks. (A process-wide
/// `F_SETLK` lock would merge the owners of this daemon into one and vanish at the first
/// `close` of any descriptor of the file.) libfuse answers conflicts between owners of this
/// daemon from its own table before asking here; this table settles them between daemons.
///
/// Ranges stay below 2^62, the commit lock's byte (docs/format.md §14.2): a lock "to the end
/// of the file" ends there, so a program's lock never blocks a commit.
final class LockTable: @unchecked Sendable {
    /// The commit lock's byte: programs' ranges end before it.
    static let limit = off_t(CommitLock.offset)

    private struct Key: Hashable {
        let file: ObjectIdentifier
        let owner: UInt64
        let isFlock: Bool
    }

    private let descriptors = Mutex<[Key: Int32]>([:])

    /// `fcntl` lock command `cmd` (F_GETLK, F_SETLK, F_SETLKW) for `owner` on `file`.
    /// Returns 0 or -errno; `lock` holds the answer of F_GETLK.
    func posix(_ file: OpenFile, owner: UInt64, cmd: Int32, lock: inout flock) -> Int32 {
        guard lock.l_start >= 0, lock.l_start < Self.limit, lock.l_len >= 0 else { return -EINVAL }
        if lock.l_len == 0 || lock.l_len > Self.limit - lock.l_start { lock.l_len = Self.limit - lock.l_start }
        let key = Key(file: ObjectIdentifier(file), owner: owner, isFlock: false)
        let unlocking = cmd != F_GETLK && lock.l_type == Int16(F_UNLCK)
        let held = descriptor(key)
        // Nothing held: every close of the file sends this, and it costs a table lookup.
        if unlocking && held == nil { return 0 }
        guard let fd = held ?? open(key, file) else { return -EIO }
        let command: Int32
        switch cmd {
        case F_GETLK: command = CommitLock.getLock
        case F_SETLK: command = CommitLock.setLock
        case F_SETLKW: command = CommitLock.setLockWait
        default: return -EINVAL
        }
        lock.l_whence = Int16(SEEK_SET)
        lock.l_pid = 0   // required for open-file-description locks
        guard fcntl(fd, command, &lock) == 0 else { return -errno }
        // Everything released (libfuse sends this at each close of the owner's file): the
        // owner's descriptor goes, with any lock left on it.
        if unlocking && lock.l_start == 0 && lock.l_len == Self.limit { drop(key) }
        return 0
    }

    /// `flock(2)` operation `operation` (LOCK_SH, LOCK_EX, LOCK_UN, with LOCK_NB) for the
    /// handle `handle` on `file`. Returns 0 or -errno.
    func bsd(_ file: OpenFile, handle: UInt64, operation: Int32) -> Int32 {
        let key = Key(file: ObjectIdentifier(file), owner: handle, isFlock: true)
        if operation & LOCK_UN != 0 {
            drop(key)
            return 0
        }
        guard let fd = descriptor(key) ?? open(key, file) else { return -EIO }
        return triad_flock(fd, operation) == 0 ? 0 : -errno
    }

    /// The file's last handle closed: every owner's descriptor goes, and its locks with it.
    func releaseAll(_ file: OpenFile) {
        let id = ObjectIdentifier(file)
        let closing = descriptors.withLock { table -> [Int32] in
            let keys = table.keys.filter { $0.file == id }
            return keys.compactMap { table.removeValue(forKey: $0) }
        }
        closing.forEach { close($0) }
    }

    /// A handle closed: its `flock` locks go with it.
    func releaseHandle(_ file: OpenFile, handle: UInt64) {
        drop(Key(file: ObjectIdentifier(file), owner: handle, isFlock: true))
    }

    private func descriptor(_ key: Key) -> Int32? { descriptors.withLock { $0[key] } }

    /// A new descriptor of the backing file for one owner (read-write if it can be, else
    /// read-only: a read lock needs only that).
    private func open(_ key: Key, _ file: OpenFile) -> Int32? {
        let path = "/proc/self/fd/\(file.fd)"
        var fd = Glibc.open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK)
        if fd < 0 { fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK) }
        guard fd >= 0 else { return nil }
        let kept = descriptors.withLock { table -> Int32 in
            if let existing = table[key] { return existing }
            table[key] = fd
            return fd
        }
        if kept != fd { close(fd) }
        return kept
    }

    private func drop(_ key: Key) {
        if let fd = descriptors.withLock({ $0.removeValue(forKey: key) }) { close(fd) }
    }
}
