#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Plaintext sizes of closed backing files, so `getattr` (every `ls -l`, `find`, `rm -rf` and
/// the kernel's lookups) need not open the file and parse its header each time (docs/mount.md
/// §9). An entry is keyed by everything a change of the backing file changes: inode, size,
/// modification and status-change times (any write or rename updates `st_ctim`), so a stale
/// entry is never found; a file changed within the same nanosecond tick and size is the only
/// gap, and getattr results are advisory (reads authenticate every segment).
final class SizeCache: @unchecked Sendable {
    struct Key: Hashable {
        let device: UInt64, inode: UInt64, size: Int64
        let modified: Int, modifiedNanos: Int, changed: Int, changedNanos: Int

        init(_ st: stat) {
            device = UInt64(st.st_dev); inode = UInt64(st.st_ino); size = Int64(st.st_size)
            modified = st.st_mtim.tv_sec; modifiedNanos = st.st_mtim.tv_nsec
            changed = st.st_ctim.tv_sec; changedNanos = st.st_ctim.tv_nsec
        }
    }

    /// Entries kept at most (about 100 bytes each); the cache starts over when full.
    static let capacity = 16_384
    private let entries = Mutex<[Key: off_t]>([:])

    func size(for st: stat) -> off_t? { entries.withLock { $0[Key(st)] } }

    func store(_ size: off_t, for st: stat) {
        entries.withLock {
            if $0.count >= Self.capacity { $0.removeAll(keepingCapacity: true) }
            $0[Key(st)] = size
        }
    }
}
