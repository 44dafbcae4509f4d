import Foundation
import XCTest
import TriadCrypto
@testable import TriadFormat

/// Not by example: every header byte, a sample across the payload, every segment boundary
/// ±1, every pair of segments, appended data. Each must fail, and leave nothing behind:
/// no output file, no temp file, no byte on the pipe.
final class SystematicTamperTests: XCTestCase {
    var scratch: ScratchDirectory!
    var original: [UInt8] = []
    var headerLength = 0
    let sealed = 65536 + 16

    override func setUpWithError() throws {
        scratch = ScratchDirectory()
        try writeFile(scratch.file("p"), SecureRandom.bytes(count: 2 * 65536 + 1000))
        let grease = KeySlotRecipient(slot: KeySlot(type: 0x7F00, body: [1, 2, 3, 4]))
        try EncryptedFile.encrypt(OpenedFile.at(scratch.file("p")), to: FileLocation.at(scratch.file("good")), zoneID: TestKeys.zoneID,
                                  recipients: [TestKeys.zone, RecoveryRecipient(certificate: try TestKeys.recoveryCertificate()), grease]).commit()
        original = try readFile(scratch.file("good"))
        headerLength = try EncryptedFile.readHeader(at: scratch.file("good")).encodedLength
        try FileManager.default.removeItem(atPath: scratch.file("p"))
        try FileManager.default.removeItem(atPath: scratch.file("good"))
    }

    /// Writes `bytes` as the input and checks all three readers refuse it without output.
    func assertRefused(_ bytes: [UInt8], _ what: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let input = scratch.file("in")
        try writeFile(input, bytes)
        XCTAssertThrowsError(try EncryptedFile.decrypt(OpenedFile.at(input), to: FileLocation.at(scratch.file("out")), identities: [TestKeys.zone]).commit(),
                             "\(what): decrypted", file: file, line: line)
        XCTAssertEqual(scratch.entries(), ["in"], "\(what): left a file behind", file: file, line: line)
        let piped = capturePipe { try EncryptedFile.decrypt(OpenedFile.at(input), to: $0, identities: [TestKeys.zone]) }
        XCTAssertNotNil(piped.error, "\(what): decrypted to a pipe", file: file, line: line)
        XCTAssertEqual(piped.bytes.count, 0, "\(what): plaintext reached the pipe", file: file, line: line)
        var readerFailed = false
        do {
            let reader = try EncryptedFileReader(path: input, identities: [TestKeys.zone])
            for index in 0..<reader.segmentCount { _ = try reader.readSegment(index) }
        } catch { readerFailed = true }
        XCTAssertTrue(readerFailed, "\(what): the random-access reader accepted it", file: file, line: line)
    }

    func testTheUntouchedFileOpens() throws {
        let input = scratch.file("in")
        try writeFile(input, original)
        try EncryptedFile.decrypt(OpenedFile.at(input), to: FileLocation.at(scratch.file("out")), identities: [TestKeys.zone]).commit()
        XCTAssertEqual(try readFile(scratch.file("out")).count, 2 * 65536 + 1000)
    }

    func testFlipEveryHeaderByte() throws {
        XCTAssertGreaterThan(headerLength, 200)
        for offset in 0..<headerLength {
            var bytes = original
            bytes[offset] ^= 0x80
            try assertRefused(bytes, "header byte \(offset) flipped")
        }
    }

    func testFlipASampleAcrossThePayload() throws {
        var offsets = Set(stride(from: headerLength, to: original.count, by: 997))
        for k in 0..<3 {   // first byte, last body byte and every tag byte of every segment
            let start = headerLength + k * sealed
            let end = min(original.count, start + sealed)
            offsets.insert(start)
            offsets.formUnion((end - 16)..<end)
            offsets.insert(end - 17)
        }
        for offset in offsets.sorted() {
            var bytes = original
            bytes[offset] ^= 0x01
            try assertRefused(bytes, "payload byte \(offset) flipped")
        }
    }

    func testTruncateAtEverySegmentBoundaryAndNeighbours() throws {
        var lengths = Set<Int>()
        for k in 0...3 {
            let boundary = min(original.count, headerLength + k * sealed)
            lengths.formUnion([boundary - 1, boundary, boundary + 1])
        }
        lengths.formUnion([0, 1, 7, 8, 59, 60, 65, 66, original.count - 16, original.count - 1])
        for length in lengths.sorted() where length < original.count && length >= 0 {
            try assertRefused(Array(original.prefix(length)), "truncated to \(length)")
        }
    }

    func testTruncateInsideTheHeaderAtEveryLength() throws {
        for length in 0..<headerLength {
            try assertRefused(Array(original.prefix(length)), "header cut at \(length)")
        }
    }

    func testSwapEveryPairOfSegments() throws {
        let segments = (0..<3).map { Array(original[(headerLength + $0 * sealed)..<min(original.count, headerLength + ($0 + 1) * sealed)]) }
        for i in 0..<3 {
            for j in (i + 1)..<3 {
                var reordered = segments
                reordered.swapAt(i, j)
                try assertRefused(Array(original.prefix(headerLength)) + reordered.flatMap { $0 }, "segments \(i) and \(j) swapped")
            }
        }
        // Dropping or duplicating a middle segment is reordering too.
        try assertRefused(Array(original.prefix(headerLength)) + segments[0] + segments[2], "segment 1 dropped")
        try assertRefused(Array(original.prefix(headerLength)) + segments[0] + segments[0] + segments[1] + segments[2], "segment 0 repeated")
    }

    func testAppendedData() throws {
        for count in [1, 16, 65552] {
            try assertRefused(original + SecureRandom.bytes(count: count), "\(count) bytes appended")
        }
        let last = Array(original[(headerLength + 2 * sealed)...])
        try assertRefused(original + last, "the final segment appended again")
    }

    /// A header from another file of the same zone does not fit this payload (file id and
    /// core are bound into the payload key).
    func testHeaderSpliceFromAnotherFile() throws {
        try writeFile(scratch.file("p"), SecureRandom.bytes(count: 10))
        try EncryptedFile.encrypt(OpenedFile.at(scratch.file("p")), to: FileLocation.at(scratch.file("other")), zoneID: TestKeys.zoneID, recipients: [TestKeys.zone]).commit()
        let other = try readFile(scratch.file("other"))
        let otherHeader = try EncryptedFile.readHeader(at: scratch.file("other")).encodedLength
        try FileManager.default.removeItem(atPath: scratch.file("p"))
        try FileManager.default.removeItem(atPath: scratch.file("other"))
        try assertRefused(Array(other.prefix(otherHeader)) + Array(original[headerLength...]), "header of another file")
    }
}
