#if canImport(Glibc)
import Glibc
#endif
@testable import TriadMount
import TriadFormat
import XCTest

/// `OpenFile.rebaseOverlays`: a handle whose file was replaced by one with another segment
/// size (docs/mount.md §4, docs/format.md §13.1a) keeps its uncommitted writes, re-cut into
/// the new file's segments. Every written byte must land at its own plaintext offset, no
/// byte may appear that was not written (an overlay range is what a commit lays over the
/// segment on disk), and the dirty-byte count must follow the pages now held.
final class RebaseOverlaysTests: XCTestCase {
    /// Writes (plaintext offset, length) chosen against both boundaries: inside one 4 KiB
    /// segment, across a 4 KiB boundary, across a 64 KiB boundary, one long run over many
    /// segments of either size, a single byte, and two ranges of one 64 KiB segment with a
    /// gap between them (the gap must stay unwritten).
    static let writes: [(offset: Int, length: Int)] = [
        (0, 10), (4090, 20), (65530, 12), (200_000, 70_000), (131_072, 1), (300_000, 5), (300_100, 7),
    ]

    static func byte(at position: Int) -> UInt8 { UInt8(truncatingIfNeeded: position &* 31 &+ 7) }

    func testEveryWrittenByteMovesToItsSegmentInTheNewSize() throws {
        for (from, to) in [(65536, 4096), (4096, 65536)] {
            let file = try scratchOpenFile()
            var expected: [Int: UInt8] = [:]
            for w in Self.writes {
                var position = w.offset
                while position < w.offset + w.length {
                    let index = position / from
                    let within = position - index * from
                    let n = min(w.offset + w.length - position, from - within)
                    let bytes = (position..<(position + n)).map(Self.byte(at:))
                    for (i, b) in bytes.enumerated() { expected[position + i] = b }
                    if file.overlays[UInt64(index)] == nil { file.overlays[UInt64(index)] = SegmentOverlay(segmentSize: from) }
                    bytes.withUnsafeBytes { file.overlays[UInt64(index)]!.write($0, at: within) }
                    position += n
                }
            }
            file.rebaseOverlays(from: from, to: to)

            var found: [Int: UInt8] = [:]
            let plain = UnsafeMutableRawBufferPointer.allocate(byteCount: to, alignment: 64)
            defer { plain.deallocate() }
            for (index, overlay) in file.overlays {
                XCTAssertFalse(overlay.ranges.isEmpty, "\(from) → \(to): segment \(index) has an overlay with nothing written")
                overlay.apply(to: plain, limit: to)
                for range in overlay.ranges {
                    XCTAssertLessThanOrEqual(range.upperBound, to, "\(from) → \(to): a range leaves segment \(index)")
                    for within in range { found[Int(index) * to + within] = plain[within] }
                }
            }
            XCTAssertEqual(found.count, expected.count, "\(from) → \(to): bytes written \(expected.count), bytes after the re-cut \(found.count)")
            for (position, value) in expected where found[position] != value {
                XCTFail("\(from) → \(to): byte \(position) is \(found[position].map(String.init) ?? "missing"), was written as \(value)")
                break
            }
            XCTAssertEqual(file.dirtyBytes, file.overlays.values.reduce(0) { $0 + $1.allocatedBytes },
                           "\(from) → \(to): the dirty limit must count the pages the re-cut overlays hold")
        }
    }

    /// The same segment size: nothing to re-cut, the overlays stay as they are.
    func testSameSizeLeavesTheOverlaysAlone() throws {
        let file = try scratchOpenFile()
        var overlay = SegmentOverlay(segmentSize: 4096)
        [UInt8]([1, 2, 3]).withUnsafeBytes { overlay.write($0, at: 100) }
        file.overlays[7] = overlay
        file.dirtyBytes = 4096
        file.rebaseOverlays(from: 4096, to: 4096)
        XCTAssertEqual(Array(file.overlays.keys), [7])
        XCTAssertEqual(file.overlays[7]?.ranges, [100..<103])
        XCTAssertEqual(file.dirtyBytes, 4096)
    }

    /// An open file on /dev/null: `rebaseOverlays` works on the overlays alone. (A machine
    /// without /dev/null fails the test rather than skipping it.)
    private func scratchOpenFile() throws -> OpenFile {
        let fd = open("/dev/null", O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        return OpenFile(identity: OpenFile.Identity(device: 0, inode: 0), fd: fd, writable: true, content: .plaintext)
    }
}
