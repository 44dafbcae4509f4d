#if canImport(Glibc)
import Glibc
#endif
import Foundation
import XCTest
import TriadCrypto
import TriadFormat
@testable import TriadZone

/// The tree engine's own promises (docs/zone.md §7), on real files and real commits: every
/// file once, outcomes in listing order and only once durable, at most two batches of
/// temporaries, the error policies, a stop request, and a failed commit.
final class TreeEngineTests: XCTestCase {
    let zoneID = [UInt8](repeating: 9, count: 16)
    var recipient: ZoneSlotKey { ZoneSlotKey(zoneID: zoneID, epoch: 1, zoneKey: SecureBytes([UInt8](repeating: 3, count: 32))) }

    /// `count` plaintext files in one folder, listed.
    func tree(_ s: Scratch, _ count: Int) throws -> [TreeFile] {
        for i in 0..<count { s.write(String(format: "t/f%03d", i), Array("file \(i)".utf8)) }
        return try ZoneTree.list([s.path("t")]).files
    }

    func temporaries(_ s: Scratch) -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: s.path("t"))) ?? []).filter(ZoneTree.isTemporary).count
    }

    func testEveryFileOnceInOrderAndAtMostTwoBatchesOfTemporaries() throws {
        let s = Scratch()
        let files = try tree(s, 100)
        var engine = TreeEngine()
        engine.workers = 8
        engine.batchFiles = 4
        engine.firstBatchFiles = 4
        let lock = NSLock()
        var calls: [String: Int] = [:], most = 0
        let recipient = self.recipient
        let run = engine.run(files) { file -> FileStep<String> in
            let pending = try EncryptedFile.encrypt(OpenedFile.at(file.path), zoneID: self.zoneID, recipients: [recipient])
            lock.lock()
            calls[file.path, default: 0] += 1
            most = max(most, self.temporaries(s))
            lock.unlock()
            return .write(pending, file.path)
        }
        XCTAssertTrue(run.isComplete)
        XCTAssertEqual(run.outcomes.map(\.value), files.map(\.path), "outcomes in listing order")
        XCTAssertEqual(Set(calls.values), [1], "every file exactly once")
        XCTAssertEqual(calls.count, files.count)
        XCTAssertLessThanOrEqual(most, 8, "one batch committing and one being written, 4 files each")
        XCTAssertGreaterThan(most, 0)
        XCTAssertEqual(temporaries(s), 0)
        for f in files { XCTAssertTrue(EncryptedFile.isEncrypted(at: f.path), f.path) }
    }

    func testKeepGoingReportsEveryFailureAndStopStartsNothingAfterOne() throws {
        let s = Scratch()
        let files = try tree(s, 40)
        let failing: Set<String> = [files[3].path, files[17].path]
        func job(_ file: TreeFile) throws -> FileStep<Int> {
            if failing.contains(file.path) { throw ZoneError.io(path: file.path, problem: "planted") }
            usleep(5_000)  // a file takes a moment, a failure none: the stop is recorded first
            return .leave(1)
        }
        var engine = TreeEngine()
        engine.workers = 4
        var run = engine.run(files, job)
        XCTAssertEqual(run.failures.map(\.path), [files[3].path, files[17].path])
        XCTAssertEqual(run.outcomes.count, 38)
        XCTAssertEqual(run.notStarted, 0)

        engine.errorPolicy = .stop
        run = engine.run(files, job)
        XCTAssertEqual(run.failures.first?.path, files[3].path)
        XCTAssertGreaterThan(run.notStarted, 0, "no file is started after the failure")
        XCTAssertLessThanOrEqual(run.outcomes.count + run.failures.count, 3 + 1 + engine.workers)
        XCTAssertFalse(run.isComplete)
    }

    func testAStopRequestCommitsWhatWasFinished() throws {
        let s = Scratch()
        let files = try tree(s, 60)
        var engine = TreeEngine()
        engine.workers = 3
        var finished = 0
        engine.progress = { finished = $0.finished }
        engine.shouldStop = { finished >= 10 }
        let recipient = self.recipient
        let run = engine.run(files) { file -> FileStep<Bool> in
            .write(try EncryptedFile.encrypt(OpenedFile.at(file.path), zoneID: self.zoneID, recipients: [recipient]), true)
        }
        XCTAssertTrue(run.interrupted)
        XCTAssertGreaterThanOrEqual(run.outcomes.count, 10)
        XCTAssertLessThanOrEqual(run.outcomes.count, 10 + engine.workers - 1)
        XCTAssertEqual(run.notStarted, files.count - run.outcomes.count)
        let encrypted = files.filter { EncryptedFile.isEncrypted(at: $0.path) }
        XCTAssertEqual(encrypted.map(\.path), run.outcomes.map(\.file.path), "exactly the finished files are durable and in place")
        XCTAssertEqual(temporaries(s), 0)
    }

    /// A batch whose commit fails (here: one of its temporaries vanished) stops the run; the
    /// files of later batches are not renamed into place. The job of the last file of the next
    /// batch waits until the failing commit has renamed what it could (f008, f009), so that batch
    /// completes after the failure, the order in which it used to be committed anyway.
    func testAFailedCommitStopsTheRun() throws {
        let s = Scratch()
        let files = try tree(s, 64)
        var engine = TreeEngine()
        engine.workers = 1
        engine.batchFiles = 8
        engine.firstBatchFiles = 8
        let recipient = self.recipient
        let run = engine.run(files) { file -> FileStep<Bool> in
            let pending = try EncryptedFile.encrypt(OpenedFile.at(file.path), zoneID: self.zoneID, recipients: [recipient])
            if file.path == files[10].path { unlink(pending.temporaryPath) }
            if file.path == files[23].path {
                let deadline = Date() + 10
                while !EncryptedFile.isEncrypted(at: files[9].path) && Date() < deadline { usleep(5_000) }
                usleep(200_000)  // the failed commit files its error under the run's lock meanwhile
            }
            return .write(pending, true)
        }
        XCTAssertNotNil(run.commitFailure)
        XCTAssertFalse(run.isComplete)
        XCTAssertEqual(run.outcomes.count, 8, "only the first batch counts as done")
        XCTAssertGreaterThan(run.notStarted, 0)
        for f in files[16...] {
            XCTAssertFalse(EncryptedFile.isEncrypted(at: f.path), "\(f.path): nothing after the failed batch is renamed")
        }
        XCTAssertEqual(temporaries(s), 0, "discarded temporaries are removed")
    }
}
