import Synchronization

/// Buffers for one sealed segment of the mutable suite (docs/format.md §13), lent to
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

    /// Runs `body` with a buffer of `PayloadSuite.mutable.sealedSegment` bytes (suite 1's
    /// sealed segments are shorter), lent to it alone.
    static func borrow<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        let buffer = idle.withLock { $0.popLast() }
            ?? UnsafeMutableRawBufferPointer.allocate(byteCount: PayloadSuite.mutable.sealedSegment, alignment: 64)
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
