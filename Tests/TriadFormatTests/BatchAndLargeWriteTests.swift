import Foundation
import XCTest
import TriadCrypto
@testable import DurableFile
@testable import TriadFormat

/// docs/format.md §7.3–§7.4: large files are sealed on one thread and written on another
/// (`ChunkWriter`), and many files can share one round of durability (`PendingBatch`).
final class BatchAndLargeWriteTests: XCTestCase {
    /// Sizes above the overlap threshold, around the 16-segment chunk size and its multiples,
    /// so the last chunk is full, partial, or a single short segment.
    func testLargeFilesRoundTripThroughTheWriterThread() throws {
        let scratch = ScratchDirectory()
        let chunk = 16 * Layout.segmentSize
        let threshold = PayloadStream.overlapThreshold
        for size in [threshold, threshold + 1, 5 * chunk, 5 * chunk + 7, threshold + chunk - Layout.segmentSize] {
            let plain = SecureRandom.bytes(count: size)
            try writeFile(scratch.file("p"), plain)
            XCTAssertTrue(try PayloadStream.overlapsWrites(input: FileHandle(path: scratch.file("p"), flags: O_RDONLY),
                                                           inputStatus: nil,
                                                           output: FileHandle(path: scratch.file("p"), flags: O_RDONLY)))
            try EncryptedFile.encrypt(OpenedFile.at(scratch.file("p")), zoneID: TestKeys.zoneID,
                                      recipients: [TestKeys.zone]).commit()
            let header = try EncryptedFile.readHeader(at: scratch.file("p"))
            let segments = (size + Layout.segmentSize - 1) / Layout.segmentSize
            XCTAssertEqual(try readFile(scratch.file("p")).count, header.encodedLength + size + 16 * segments, "size \(size)")
            try EncryptedFile.decrypt(OpenedFile.at(scratch.file("p")), to: FileLocation.at(scratch.file("d")), identities: [TestKeys.zone]).commit()
            XCTAssertTrue(try readFile(scratch.file("d")) == plain, "size \(size) decrypts to its plaintext")
            XCTAssertEqual(Set(scratch.entries()), ["d", "p"], "no temp file left")
        }
    }

    /// Before the commit every original is untouched and each new content sits in a
    /// temporary; after it every file is complete and no temporary is left.
    /// Both ways a batch becomes durable (§7.4): a few files are fsynced each, a batch of many
    /// small files goes through one syncfs (when the machine has little else dirty, as in a
    /// test run). Either way nothing is renamed before the commit and everything after it.
    func testPendingBatchRenamesOnlyAtCommit() throws {
        for (count, expected) in [(5, PendingBatch.Method.fsyncEach), (40, .syncfs)] {
            let scratch = ScratchDirectory()
            let plains = (0..<count).map { SecureRandom.bytes(count: ($0 % 5) * 40_000) }
            for (i, plain) in plains.enumerated() { try writeFile(scratch.file("f\(i)"), plain) }
            let pending = try plains.indices.map {
                try EncryptedFile.encrypt(OpenedFile.at(scratch.file("f\($0)")), to: FileLocation.at(scratch.file("f\($0)")),
                                                 zoneID: TestKeys.zoneID, recipients: [TestKeys.zone])
            }
            for (i, plain) in plains.enumerated() {
                XCTAssertTrue(try readFile(scratch.file("f\(i)")) == plain, "f\(i) is untouched before the commit")
                XCTAssertTrue(EncryptedFile.isEncrypted(at: pending[i].temporaryPath), "its temporary holds ciphertext")
            }
            let method = try PendingBatch.commit(pending)
            if expected == .syncfs, let dirty = Writeback.systemDirtyBytes(), dirty > StagedBatch.syncfsDirtyLimit {
                XCTAssertEqual(method, .fsyncEach, "with \(dirty) bytes dirty elsewhere a batch must not wait for them")
            } else {
                XCTAssertEqual(method, expected, "\(count) files")
            }
            XCTAssertEqual(Set(scratch.entries()), Set(plains.indices.map { "f\($0)" }), "no temp file left")
            for (i, plain) in plains.enumerated() {
                try EncryptedFile.decrypt(OpenedFile.at(scratch.file("f\(i)")), to: FileLocation.at(scratch.file("d")), identities: [TestKeys.zone]).commit()
                XCTAssertTrue(try readFile(scratch.file("d")) == plain, "f\(i) decrypts to its plaintext")
            }
        }
    }

    /// The dirty-memory reading that decides between syncfs and fsync parses /proc/meminfo.
    func testSystemDirtyBytesIsRead() throws {
        let dirty = try XCTUnwrap(Writeback.systemDirtyBytes(), "/proc/meminfo has Dirty and Writeback lines")
        XCTAssertGreaterThanOrEqual(dirty, 0)
        XCTAssertEqual(dirty % 1024, 0, "kB lines are turned into bytes")
    }

    /// A pending file that is dropped (an error elsewhere in its batch) leaves the original
    /// and no temporary.
    func testDroppedPendingFileLeavesTheOriginal() throws {
        let scratch = ScratchDirectory()
        let plain = SecureRandom.bytes(count: 70_000)
        try writeFile(scratch.file("f"), plain)
        do {
            let pending = try EncryptedFile.encrypt(OpenedFile.at(scratch.file("f")),
                                                           zoneID: TestKeys.zoneID, recipients: [TestKeys.zone])
            XCTAssertEqual(Set(scratch.entries()), ["f", (pending.temporaryPath as NSString).lastPathComponent], "the temporary is beside the original")
        }
        // The pending file was dropped at the end of the block, never committed.
        XCTAssertEqual(scratch.entries(), ["f"])
        XCTAssertTrue(try readFile(scratch.file("f")) == plain)
    }
}
