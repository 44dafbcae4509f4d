#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The commit lock of a mutable-suite file (docs/format.md §14.3): an exclusive
/// open-file-description byte-range lock (`F_OFD_SETLKW`) on one byte at offset 2^62 of the
/// file itself. Whoever changes the file's segments or replays its journal holds it.
///
/// Why a byte-range lock on the file: NFS carries such locks between machines, so daemons on
/// several terminal servers and `zone` commands anywhere serialise on the same lock; state
/// inside one process could not. Why 2^62: far beyond any data, so applications' own locks,
/// which `zone mount` passes through below 2^62, never collide with it.
public enum CommitLock {
    /// `F_OFD_GETLK`, `F_OFD_SETLK`, `F_OFD_SETLKW` (Linux ≥ 3.15; Glibc exports them only
    /// under _GNU_SOURCE, so their values from <bits/fcntl-linux.h> are spelt here).
    public static let getLock: Int32 = 36
    /// `F_OFD_SETLK`: take or release the lock without waiting.
    public static let setLock: Int32 = 37
    /// `F_OFD_SETLKW`: take the lock, waiting for its holder.
    public static let setLockWait: Int32 = 38

    /// The locked byte.
    public static let offset: Int64 = 1 << 62

    /// Runs `body` holding the commit lock on `fd`, waiting for it if another holds it.
    /// A thread that already holds it through `ReplacementLock.reading` (a command replaying a
    /// journal inside its read) runs `body` under that hold rather than wait for itself.
    public static func withExclusive<T>(fd: Int32, path: String, _ body: () throws -> T) throws -> T {
        if HeldLocks.heldByThisThread(fd) { return try body() }
        try lock(fd: fd, type: Int16(F_WRLCK), path: path)
        defer { try? lock(fd: fd, type: Int16(F_UNLCK), path: path) }
        return try body()
    }

    /// Takes (`F_WRLCK`) or releases (`F_UNLCK`) the commit lock.
    public static func lock(fd: Int32, type: Int16, path: String) throws {
        var fl = flock()
        fl.l_type = type
        fl.l_whence = Int16(SEEK_SET)
        fl.l_start = off_t(offset)
        fl.l_len = 1
        fl.l_pid = 0
        while fcntl(fd, setLockWait, &fl) != 0 {
            if errno == EINTR { continue }
            throw FormatError.io(path: path, operation: "lock", errno: errno)
        }
    }
}
