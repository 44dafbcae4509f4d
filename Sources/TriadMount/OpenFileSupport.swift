#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import TriadFormat

/// How an open file finds its name again (docs/mount.md §4): the inode the name points at
/// now, and a fresh open of it (suite 2 first when writing).
struct Follower {
    let current: (String) -> OpenFile.Identity?
    let reopen: (String, Bool) -> Result<(Int32, OpenFile.Content), Int32Error>
}

/// An errno as an `Error` (for `Result`).
struct Int32Error: Error { let code: Int32 }

/// An open folder descriptor for a commit's journal (closed by `close()`).
struct JournalFolder {
    let fd: Int32
    func close() { Glibc.close(fd) }
}

extension SegmentOverlay {
    /// True when the written bytes cover `0..<length`.
    func covers(upTo length: Int) -> Bool {
        length == 0 || (ranges.count == 1 && ranges[0].lowerBound == 0 && ranges[0].upperBound >= length)
    }

    /// Lays the written bytes (below `limit`) over `target`.
    func apply(to target: UnsafeMutableRawBufferPointer, limit: Int) {
        data.withUnsafeBytes { d in
            for r in ranges where r.lowerBound < limit {
                let upper = min(r.upperBound, limit)
                (target.baseAddress! + r.lowerBound).copyMemory(from: d.baseAddress! + r.lowerBound, byteCount: upper - r.lowerBound)
            }
        }
    }
}

/// Recycled 64 KiB overlay buffers (wiped before they come back): random small writes would
/// otherwise map, fault in and unmap a segment buffer per write. At most one dirty limit's
/// worth is kept.
final class OverlayPool: @unchecked Sendable {
    static let shared = OverlayPool()
    private let buffers = Mutex<[[UInt8]]>([])
    static let capacity = OpenFile.dirtyLimit / MutableFile.segmentSize

    func take() -> SegmentOverlay {
        if let buffer = buffers.withLock({ $0.popLast() }) { return SegmentOverlay(reusing: buffer) }
        return SegmentOverlay()
    }

    func give(_ buffer: [UInt8]) {
        guard buffer.count == MutableFile.segmentSize else { return }
        buffers.withLock { if $0.count < Self.capacity { $0.append(buffer) } }
    }
}
