#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The Linux calls that make many writes durable at the cost of few journal commits.
///
/// Why: each fsync(2) on ext4/xfs forces a journal commit, and on a small file that commit is
/// the whole cost (docs/format.md §12). `sync_file_range(2)` with `SYNC_FILE_RANGE_WRITE`
/// queues a file's dirty pages for writeback without waiting, so the block allocations of a
/// whole batch land in one journal transaction and the fsyncs that follow mostly find their
/// data already on disk. Neither call is exported by Swift's Glibc module (they need
/// `_GNU_SOURCE`), so they are looked up once with dlsym; where they are missing the code
/// falls back to plain fsync, which is slower but gives the same guarantee.
public enum Writeback {
    private typealias SyncFileRange = @convention(c) (Int32, Int64, Int64, UInt32) -> Int32

    private static let syncFileRange: SyncFileRange? = {
        // A nil handle is RTLD_DEFAULT: search the libraries already loaded (libc).
        guard let symbol = dlsym(nil, "sync_file_range") else { return nil }
        return unsafeBitCast(symbol, to: SyncFileRange.self)
    }()

    /// `SYNC_FILE_RANGE_WRITE` (linux/fs.h): start writeback of dirty pages, do not wait.
    private static let rangeWrite: UInt32 = 2
    /// `SYNC_FILE_RANGE_WAIT_BEFORE`: first wait for writeback already under way.
    private static let rangeWaitBefore: UInt32 = 1

    /// Starts writeback of `count` bytes at `offset` (0 = to the end). Advisory: errors are
    /// ignored (a pipe or an unsupported filesystem), durability still comes from fsync.
    public static func start(_ fd: Int32, offset: Int = 0, count: Int = 0) {
        _ = syncFileRange?(fd, Int64(offset), Int64(count), rangeWrite)
    }

    /// Waits for writeback of an earlier range to finish and then starts it for that range
    /// again (catching pages dirtied since), which bounds the dirty data a long stream holds.
    public static func settle(_ fd: Int32, offset: Int, count: Int) {
        _ = syncFileRange?(fd, Int64(offset), Int64(count), rangeWaitBefore | rangeWrite)
    }

    private typealias SyncFS = @convention(c) (Int32) -> Int32
    private static let syncFS: SyncFS? = {
        guard let symbol = dlsym(nil, "syncfs") else { return nil }
        return unsafeBitCast(symbol, to: SyncFS.self)
    }()

    /// syncfs(2): writes back every dirty page and inode of the filesystem holding `fd` and
    /// flushes the disk cache once. True on success; false when it failed or is missing (the
    /// caller then falls back to per-file fsync, which also pins an error to its file).
    ///
    /// Since Linux 5.8 it reports a writeback error that happened anywhere on the filesystem
    /// after `fd` was opened, so the caller passes the descriptor it opened first.
    static func syncFilesystem(_ fd: Int32) -> Bool {
        guard let syncFS else { return false }
        return syncFS(fd) == 0
    }

    /// Dirty and under-writeback page cache of the whole machine (/proc/meminfo), in bytes,
    /// or nil when unreadable: what a syncfs might have to wait for besides our own files.
    static func systemDirtyBytes() -> Int? {
        let fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 8192)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return nil }
        var total = 0, found = 0
        for line in String(decoding: buffer[0..<n], as: UTF8.self).split(separator: "\n")
        where line.hasPrefix("Dirty:") || line.hasPrefix("Writeback:") {
            guard let kib = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else { return nil }
            total += kib * 1024
            found += 1
        }
        return found == 2 ? total : nil
    }
}
