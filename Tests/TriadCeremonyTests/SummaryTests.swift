import Foundation
import XCTest
@testable import TriadCeremony
import TriadJournal

/// The summary (compliance certificate, docs/ceremony.md §9.1) says what the transcript
/// proves: COMPLETED only when every step ran, every break and absence, skipped steps, and
/// the same page in HTML.
final class SummaryTests: XCTestCase {
    /// A step skipped by a witnessed exception is not "COMPLETED — every step ran in order".
    func testASkippedStepIsNotCompleted() throws {
        let answers = Support.keylessAnswers([
            "ticket.go": "exception", "ticket.exception.choice": "skip", "ticket.exception.happened": "the ticket is not at hand",
            "ticket.exception.decision": "no ticket number today; the witness allows it", "ticket.exception.witness": "yes",
        ], drop: ["ticket.value", "ticket.confirm.witness"])
        let r = try Support.run(script: try Support.keylessScript(), answers: answers, dir: try Support.tempDir()).0.get()
        XCTAssertTrue(r.closed)
        let text = try String(contentsOfFile: r.summaryPath!, encoding: .utf8)
        XCTAssertFalse(text.contains("COMPLETED"), text)
        XCTAssertTrue(text.contains("CLOSED WITH EXCEPTIONS — 1 exception(s); skipped by exception: ticket."), text)
        XCTAssertTrue(text.contains("Steps skipped by an exception:\n  - ticket"), text)
        let html = try String(contentsOfFile: r.summaryPath!.replacingOccurrences(of: "-summary.txt", with: "-summary.html"), encoding: .utf8)
        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
        XCTAssertTrue(html.contains("CLOSED WITH EXCEPTIONS"), html)
        XCTAssertTrue(html.contains("no ticket number today"), html)
    }

    /// Who was present in each act, the break, and who did not come back.
    func testPresenceBreaksAndAbsencesAreListed() throws {
        let answers = Support.keylessAnswers([
            "ticket.go": "[pause, go]", "ticket.pause.reason": "lunch", "ticket.resume": "resume",
            "ticket.resume.administrator": "yes", "ticket.resume.witness": "yes", "ticket.resume.it": "yes",
            "ticket.resume.management": "no", "ticket.resume.medical": "yes",
            "ticket.resume.administrator.id": "A-100", "ticket.resume.witness.id": "W-200", "ticket.resume.it.id": "I-300",
            "ticket.resume.medical.id": "D-500",
        ])
        let r = try Support.run(script: try Support.keylessScript(), answers: answers, dir: try Support.tempDir()).0.get()
        let text = try String(contentsOfFile: r.summaryPath!, encoding: .utf8)
        XCTAssertTrue(text.contains("COMPLETED — every step ran in order"), text)
        XCTAssertTrue(text.contains("before step ticket (lunch): absent from then on: Maria Moser (M-400) Management custodian"), text)
        XCTAssertTrue(text.contains("Closing: ") && text.contains("absent: Maria Moser (M-400) Management custodian"), text)
        XCTAssertTrue(text.contains("Opening and roll call: Alice Adler (A-100) Ceremony Administrator"), text)
    }
}
