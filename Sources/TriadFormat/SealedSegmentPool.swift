import Synchronization

/// Buffers for one 64 KiB sealed segment, or sixteen 4 KiB ones (docs/format.md §13.1), lent to
/// `MutableFile` for the duration of one segment read or write and then kept for the next
/// one. A buffer per open file, allocated at its first read and freed at its close, cost
/// `zone mount` a map, an unmap and a page fault per 4 KiB for every file opened
/// (docs/mount.md §9, `md5sum`). What these buffers hold is ciphertext only — sealed
/// segments read from disk or about to be written — so they are not wiped between uses.
/// At most one buffer per thread reading or writing at once is ever allocated; `idleLimit`
/// of them are kept.
enum SealedSegmentPool {
    /// Buffers kept when idle: one per `zone mount` worker thread (docs/mount.md §1.1).
    static let idleLimit = 10
    private static let idle = Mutex<[UnsafeMutableRawBufferPointer]>([])

    /// Bytes per buffer: the largest sealed segment, or `batch` sealed 4 KiB segments.
    static let bufferSize = max(SegmentLayout.largestSealedSegment, batch * SegmentLayout.mutable.sealedSegment)
    /// 4 KiB segments read with one `pread` (`MutableFile.readSegments`): 64 KiB of
    /// plaintext per system call, as one 64 KiB segment was.
    static let batch = 16

    /// Runs `body` with a buffer of `bufferSize` bytes, lent to it alone.
    static func borrow<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        let buffer = idle.withLock { $0.popLast() }
            ?? UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 64)
        defer {
            let kept = idle.withLock { list in
                guard list.count < idleLimit else { return false }
                list.append(buffer)
                return true
            }
            if !kept { buffer.deallocate() }
        }
        return try body(buffer)
    }
}
