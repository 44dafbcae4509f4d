import Foundation
import XCTest
import TriadRecovery
import TriadTestSupport

/// What a drill leaves for compliance staff (docs/ceremony.md §9.1): a summary that says what
/// was produced and the verdict, a report that names its ceremony and final hash, PRACTICE on
/// every output of a practice run, and each action's result printed for the witness.
final class ComplianceTests: XCTestCase {
    func testPracticeDrillOutputsSayPracticeAndTheReportNamesItsCeremony() throws {
        let s = try RecoverySetup("compliance")
        let out = s.world.path("drill")
        let args = s.world.ceremonyArguments("quarterly-drill", output: out, set: [
            "blob": s.blob, "record": s.record, "reader": s.primary.reader, "report": out + "/report"]) + ["--practice"]
        let r = runProcess(product("ceremony"), args, input: RecoverySetup.pin + "\n", environment: s.world.environment,
                           inputs: try s.world.attestationInputs("quarterly-drill"))
        XCTAssertEqual(r.status, 0, String(r.stdout.suffix(1200)) + r.stderr)
        for shown in ["✓ The card accepted the PIN", "✓ Recovery key unlocked in memory only", "✓ Canary"] {
            XCTAssertTrue(r.stdout.contains(shown), "the witness was not shown: \(shown)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/report.txt"), "a practice report without PRACTICE in its name")
        let report = try String(contentsOfFile: out + "/PRACTICE-report.txt", encoding: .utf8)
        XCTAssertTrue(report.hasPrefix("PRACTICE"), report)
        let t = try XCTUnwrap(transcripts(in: out).last)
        XCTAssertTrue((t as NSString).lastPathComponent.hasPrefix("PRACTICE-quarterly-drill-"))
        let last = try XCTUnwrap(try transcriptEntries(t).last)
        let id = try XCTUnwrap(last["ceremony"] as? String), hash = try XCTUnwrap(last["hash"] as? String)
        let seq = try XCTUnwrap(last["seq"] as? Int)
        XCTAssertTrue(report.contains("Ceremony: \(id)"), report)
        XCTAssertTrue(report.contains("Ceremony \(id) ended CLOSED at journal entry \(seq); final hash \(hash)"), report)
        let json = try JSONSerialization.jsonObject(with: FileManager.default.contents(atPath: out + "/PRACTICE-report.json")!) as! [String: Any]
        XCTAssertEqual((json["ceremony_end"] as? [String: Any])?["hash"] as? String, hash)
        let summary = try String(contentsOfFile: t.replacingOccurrences(of: ".jsonl", with: "-summary.txt"), encoding: .utf8)
        for line in ["PRACTICE RUN", "Drill:", "PASS", "recovery card serial", "PIN accepted by the card: tries left before 3, after 3",
                     "recovery key unlocked in memory", "COMPLETED — every step ran in order", "Final hash: \(hash)"] {
            XCTAssertTrue(summary.contains(line), "summary lacks \(line):\n\(summary)")
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: t.replacingOccurrences(of: ".jsonl", with: "-summary.html")))
    }
}
