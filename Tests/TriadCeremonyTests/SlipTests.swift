import Foundation
import XCTest
@testable import TriadCeremony
import TriadJournal
import TriadTestSupport

/// People recover from slips inside the ceremony (docs/ceremony.md §3, rule 11): every
/// correction or retry is journaled, and the transcript still verifies.
final class SlipTests: XCTestCase {
    let parameters = ["--set", "bag_serial=BAG-2026-0042", "--set", "ticket=INC-4711", "--script-sha256", Support.keylessSHA256]

    /// A misspelt name is corrected before the witness confirms the roll call; the correction
    /// is journaled with the old entry and the verifier follows it.
    func testMisspeltNameIsCorrectedBeforeTheWitnessConfirms() throws {
        let answers = Support.keylessAnswers([
            "roll-call.medical.name": "[Mehmet Demri, Mehmet Demir]", "roll-call.medical.id": "[D-500, D-500]",
            "roll-call.correct": "[medical]",
        ])
        let r = try Support.run(script: try Support.keylessScript(), answers: answers, dir: try Support.tempDir()).0.get()
        XCTAssertTrue(r.closed)
        let text = try String(contentsOfFile: r.transcriptPath!, encoding: .utf8)
        XCTAssertTrue(text.contains("\"kind\":\"participant-corrected\""), "the correction was not journaled")
        XCTAssertTrue(text.contains("\"was\":\"Mehmet Demri (D-500)\""))
        let report = try Verifier.verify(transcript: text).get()
        XCTAssertTrue(report.participants.contains("medical: Mehmet Demir (D-500)"), "\(report.participants)")
        XCTAssertFalse(report.participants.contains { $0.contains("Demri") }, "\(report.participants)")
    }

    /// The witness says no to the roll call; after a witnessed retry the roll call runs again
    /// with the right name instead of "role medical is already filled", and the ceremony closes.
    func testRollCallRetriedAfterTheWitnessSaysNo() throws {
        let answers = Support.keylessAnswers([
            "roll-call.administrator.name": "[Alice Adler, Alice Adler]", "roll-call.administrator.id": "[A-100, A-100]",
            "roll-call.witness.name": "[Wanda Witt, Wanda Witt]", "roll-call.witness.id": "[W-200, W-200]",
            "roll-call.it.name": "[Ivan Ito, Ivan Ito]", "roll-call.it.id": "[I-300, I-300]",
            "roll-call.management.name": "[Maria Moser, Maria Moser]", "roll-call.management.id": "[M-400, M-400]",
            "roll-call.medical.name": "[Mehmet Demri, Mehmet Demir]", "roll-call.medical.id": "[D-500, D-500]",
            "roll-call.confirm.witness": "[no, yes]", "roll-call.confirm.witness.reason": "the medical custodian's name is misspelt",
            "roll-call.exception.choice": "retry", "roll-call.exception.decision": "call the roll again",
            "roll-call.exception.witness": "yes",
        ])
        let (result, journal) = try Support.run(script: try Support.keylessScript(), answers: answers, dir: try Support.tempDir())
        let r = try result.get()
        XCTAssertTrue(r.closed)
        let entries = try journal.entries(ceremony: r.ceremonyID)
        XCTAssertEqual(entries.filter { $0.step == "roll-call" && $0.event == EventType.stepStart }.count, 2)
        XCTAssertEqual(entries.filter { $0.event == EventType.exception }.count, 1)
        let report = try Verifier.verify(transcript: Transcript.text(entries)).get()
        XCTAssertTrue(report.participants.contains("medical: Mehmet Demir (D-500)"), "\(report.participants)")
        XCTAssertEqual(report.participants.count, 5, "\(report.participants)")
        XCTAssertEqual(report.disagreements.count, 1)
    }

    /// The same correction typed at a terminal.
    func testNameCorrectionAtTheTerminal() throws {
        let dir = try Support.tempDir()
        var steps: [[String]] = [["[Enter] run this step", ""]]
        for (title, name, id) in [("Ceremony Administrator", "Alice Adler", "A-100"), ("Internal Witness", "Wanda Witt", "W-200"),
                                  ("IT custodian", "Ivan Ito", "I-300"), ("Management custodian", "Maria Moser", "M-400"),
                                  ("Medical custodian", "Mehmet Demri", "D-500")] {
            steps += [["\(title) [", name], ["staff or badge number", id]]
        }
        steps += [["to correct its name or number", "medical"], ["Medical custodian [medical]: your full name", "Mehmet Demir"],
                  ["staff or badge number", "D-500"], ["to correct its name or number", ""],
                  ["confirm step roll-call", "yes"], ["[Enter] run this step", "abort"], ["Reason for aborting", "enough"]]
        let (run, verify) = try Support.terminalRun(steps, dir: dir, parameters)
        XCTAssertEqual(run.status, 1, run.description)
        XCTAssertTrue(run.screen.contains("corrected — Medical custodian [medical]: Mehmet Demir (D-500) (was Mehmet Demri (D-500))"), run.description)
        XCTAssertEqual(verify.status, 3, verify.err)   // verified, ABORTED
        XCTAssertTrue(verify.out.contains("Mehmet Demir (D-500)"), verify.out)
    }
}
