import Foundation
import XCTest
@testable import TriadCeremony
import TriadJournal
import TriadTestSupport

/// Production runs are pinned to an approved script, a running ceremony cannot be closed from
/// another terminal, and a dry run checks what the ceremony will need (docs/ceremony.md §1).
final class ProductionTests: XCTestCase {
    func ceremony(_ arguments: [String], environment extra: [String: String] = [:]) throws -> ProcessResult {
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "TRIAD_APPROVED_CEREMONIES")
        env.merge(extra) { $1 }
        var command = Command(Support.binary, arguments, environment: env)
        command.timeout = 120
        return try command.run()
    }

    /// Without `--practice` the run needs the approved hash: refused without one, refused with
    /// a list that lacks it, and run with a list that holds it.
    func testAProductionRunNeedsTheApprovedScriptHash() throws {
        let dir = try Support.tempDir()
        try Support.keylessAnswers().write(toFile: "\(dir)/a.yaml", atomically: true, encoding: .utf8)
        let base = ["run", Support.testScript, "--journal", "\(dir)/j.db", "--answers", "\(dir)/a.yaml", "--output", "\(dir)/out",
                    "--set", "bag_serial=BAG-2026-0042", "--set", "ticket=INC-4711"]
        let none = try ceremony(base, environment: ["TRIAD_APPROVED_CEREMONIES": "\(dir)/no-such-list"])
        XCTAssertEqual(none.status, 1, none.description)
        XCTAssertTrue(none.err.contains("a production run needs the approved script's SHA-256"), none.err)
        XCTAssertTrue(none.err.contains("--script-sha256"), none.err)
        try "\(String(repeating: "ab", count: 32))  other.yaml\n".write(toFile: "\(dir)/approved", atomically: true, encoding: .utf8)
        let other = try ceremony(base + ["--approved", "\(dir)/approved"])
        XCTAssertEqual(other.status, 1, other.description)
        XCTAssertTrue(other.err.contains("is not in the approved list"), other.err)
        XCTAssertNil(try? FileManager.default.contentsOfDirectory(atPath: "\(dir)/out"), "a refused run wrote nothing")
        try "\(Support.keylessSHA256)  Ceremonies/test-keyless.yaml\n".write(toFile: "\(dir)/approved", atomically: true, encoding: .utf8)
        let approved = try ceremony(base, environment: ["TRIAD_APPROVED_CEREMONIES": "\(dir)/approved"])
        XCTAssertEqual(approved.status, 0, approved.description)
    }

    /// `ceremony abort` from another terminal refuses while the ceremony's process is alive,
    /// and closes it once the process is gone.
    func testAbortRefusesALiveCeremony() throws {
        let dir = try Support.tempDir()
        // The ceremony waits for its first answer on a standard input that stays open.
        var command = Command(Support.binary, ["run", Support.testScript, "--journal", "\(dir)/j.db", "--output", "\(dir)/out",
                                               "--set", "bag_serial=BAG-2026-0042", "--script-sha256", Support.keylessSHA256])
        command.keepsStdinOpen = true
        command.stdout = .discard
        let run = try command.start()
        defer { run.kill(SIGKILL); run.closeStdin() }
        var id: String?
        for _ in 0..<200 where id == nil {
            id = try? Journal(path: "\(dir)/j.db").ceremonies().first?.id
            if id == nil { usleep(100_000) }
        }
        let ceremonyID = try XCTUnwrap(id, "the ceremony never began")
        let refused = try ceremony(["abort", "--journal", "\(dir)/j.db", "--ceremony", ceremonyID, "--reason", "from another terminal"])
        XCTAssertEqual(refused.status, 1, refused.description)
        XCTAssertTrue(refused.err.contains("is still running (pid \(run.pid)"), refused.err)
        XCTAssertTrue(run.isRunning)
        XCTAssertFalse(try Journal(path: "\(dir)/j.db").entries(ceremony: ceremonyID).contains(where: \.isTerminal))
        run.kill(SIGKILL)
        run.wait()
        let closed = try ceremony(["abort", "--journal", "\(dir)/j.db", "--ceremony", ceremonyID, "--reason", "the laptop crashed"])
        XCTAssertEqual(closed.status, 0, closed.description)
        XCTAssertEqual(try Journal(path: "\(dir)/j.db").entries(ceremony: ceremonyID).last?.event, EventType.aborted)
    }

    /// A dry run checks that the files a step reads exist and its reader is connected, and
    /// says NOT READY (exit 1) naming each problem.
    func testDryRunChecksFilesAndReaders() throws {
        let dir = try Support.tempDir()
        try "{}".write(toFile: "\(dir)/record.json", atomically: true, encoding: .utf8)
        let r = try ceremony(["run", Support.ceremonies.appendingPathComponent("quarterly-drill.yaml").path, "--dry-run",
                              "--set", "blob=\(dir)/missing.blob", "--set", "record=\(dir)/record.json",
                              "--set", "reader=No Such Reader 99", "--set", "report=\(dir)/report"])
        XCTAssertEqual(r.status, 1, r.description)
        XCTAssertTrue(r.err.contains("not ready"), r.err)
        XCTAssertTrue(r.err.contains("step blob: file \(dir)/missing.blob (blob) does not exist"), r.err)
        XCTAssertTrue(r.err.contains("step card: ") && r.err.contains("No Such Reader 99"), r.err)
        XCTAssertTrue(r.out.contains("✓ record \(dir)/record.json is an existing file"), r.out)
        XCTAssertTrue(r.out.contains("NOT READY"), r.out)
    }
}
