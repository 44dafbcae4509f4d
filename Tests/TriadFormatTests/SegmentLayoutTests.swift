import XCTest
import TriadCrypto
@testable import TriadFormat

/// A new, empty suite-2 file in a scratch folder, with the folder open for its journal; both
/// descriptors are closed with the object.
final class ScratchMutableFile {
    let scratch = ScratchDirectory()
    let path: String
    let fd: Int32
    let folder: Int32
    let file: MutableFile

    init() throws {
        path = scratch.file("f")
        fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0o600)
        folder = open(scratch.path, O_RDONLY | O_DIRECTORY)
        file = try MutableFile.create(fd: fd, path: path, zoneID: TestKeys.zoneID, recipients: [TestKeys.zone])
    }

    deinit {
        close(fd)
        close(folder)
    }
}

/// The pieces 4 KiB suite-2 segments added (docs/format.md §13.1a): cutting a stream into
/// segments of another size, and reading many segments with one pread.
final class SegmentLayoutTests: XCTestCase {
    /// Every way a stream can end against a segment boundary: the output is the input, every
    /// segment but the last is full, exactly the last is final, and an empty final segment
    /// never follows others (the rule every reader enforces, §6.1).
    func testResegmenterKeepsTheStreamRules() throws {
        let size = 4096
        for total in [0, 1, 4095, 4096, 4097, 8192, 65536, 65537, 3 * 65536, 3 * 65536 + 5] {
            for pieceSize in [1000, 4096, 65536] {
                let input = (0..<total).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
                var segments = Resegmenter(size: size)
                var out: [[UInt8]] = []
                var finals: [Bool] = []
                var indices: [UInt64] = []
                let pieces = stride(from: 0, to: max(total, 1), by: pieceSize).map { Array(input[min($0, total)..<min($0 + pieceSize, total)]) }
                for (i, piece) in pieces.enumerated() {
                    try piece.withUnsafeBytes { p in
                        try segments.feed(p, isLast: i == pieces.count - 1) { plain, index, isFinal in
                            out.append(Array(plain)); finals.append(isFinal); indices.append(index)
                        }
                    }
                }
                let label = "\(total) bytes in pieces of \(pieceSize)"
                XCTAssertEqual(out.flatMap { $0 }, input, label)
                XCTAssertEqual(indices, (0..<UInt64(out.count)).map { $0 }, label)
                XCTAssertEqual(finals, out.indices.map { $0 == out.count - 1 }, label)
                XCTAssertEqual(out.count, max(1, (total + size - 1) / size), label)
                XCTAssertTrue(out.dropLast().allSatisfy { $0.count == size }, label)
                if out.count > 1 { XCTAssertFalse(out.last!.isEmpty, "\(label): an empty final segment after others") }
            }
        }
    }

    /// `readSegments` against a model: any start and count, across the final segment, equal
    /// what segment-by-segment reads return — with the final flag checked where it belongs.
    func testReadSegmentsMatchesSegmentBySegment() throws {
        let scratch = try ScratchMutableFile()
        let (path, fd, dir, file) = (scratch.path, scratch.fd, scratch.folder, scratch.file)
        XCTAssertEqual(file.segmentSize, 4096, "a new suite-2 file has 4 KiB segments")
        let model = SecureRandom.bytes(count: 40 * 4096 + 123)
        var overlays: [UInt64: SegmentOverlay] = [:]
        for index in 0...40 {
            let from = index * 4096, to = min(model.count, from + 4096)
            var overlay = SegmentOverlay(segmentSize: 4096)
            model.withUnsafeBytes { overlay.write(UnsafeRawBufferPointer(rebasing: $0[from..<to]), at: 0) }
            overlays[UInt64(index)] = overlay
        }
        try CommitLock.withExclusive(fd: fd, path: path) {
            try file.refresh()
            try file.commit(overlays, journal: JournalTarget(directoryFD: dir))
        }
        XCTAssertEqual(file.plaintextSize, UInt64(model.count))
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 20 * 4096, alignment: 64)
        defer { buffer.deallocate() }
        for first in [0, 1, 15, 24, 25, 30, 39, 40] {
            for count in [1, 2, 16, 17] {
                let n = try file.readSegments(from: UInt64(first), count: count, into: buffer)
                let expected = Array(model[(first * 4096)..<min(model.count, (first + min(count, 16)) * 4096)])
                XCTAssertEqual(Array(buffer[0..<n]), expected, "from \(first), \(count) wanted")
            }
        }
    }
}
