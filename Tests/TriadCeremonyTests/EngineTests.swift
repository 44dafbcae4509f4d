import Foundation
import TriadCrypto
import XCTest
@testable import TriadCeremony
import TriadJournal

final class EngineTests: XCTestCase {
    func transcript(_ r: RunResult) throws -> String { try String(contentsOfFile: r.transcriptPath!, encoding: .utf8) }

    func testUnattendedRunClosesAndVerifies() throws {
        let dir = try Support.tempDir()
        let (result, journal) = try Support.run(script: try Support.keylessScript(), answers: Support.keylessAnswers(), dir: dir)
        let r = try result.get()
        XCTAssertTrue(r.closed)
        let entries = try journal.entries(ceremony: r.ceremonyID)
        XCTAssertGreaterThanOrEqual(entries.count, 30)
        XCTAssertEqual(entries.filter(\.isTerminal).count, 1)
        XCTAssertEqual(entries[0].payload["mode"], "unattended")
        XCTAssertEqual(entries[0].payload["practice"], false)
        XCTAssertEqual(entries[0].payload["script"]?["sha256"]?.stringValue, try Support.keylessScript().sha256)
        XCTAssertNotNil(entries[0].payload["tool"]?["version"])
        XCTAssertNotNil(entries[0].payload["answers_sha256"])
        let report = try Verifier.verify(transcript: try transcript(r)).get()
        XCTAssertEqual(report.terminal, EventType.closed)
        XCTAssertEqual(report.participants.count, 5)
        XCTAssertTrue(try String(contentsOfFile: r.summaryPath!, encoding: .utf8).contains("COMPLETED"))
    }

    func testPracticeRunIsMarkedInFirstEntryAndOutputNames() throws {
        let dir = try Support.tempDir()
        let r = try Support.run(script: try Support.keylessScript(), answers: Support.keylessAnswers(), dir: dir, practice: true).0.get()
        XCTAssertTrue(r.ceremonyID.hasPrefix("PRACTICE-"))
        XCTAssertTrue((r.transcriptPath! as NSString).lastPathComponent.hasPrefix("PRACTICE-"))
        XCTAssertTrue((r.summaryPath! as NSString).lastPathComponent.hasPrefix("PRACTICE-"))
        let first = try XCTUnwrap(Transcript.lines(try transcript(r)).first)
        XCTAssertEqual(try JournalEntry(parsing: try CanonicalValue.parse(first)).payload["practice"], true)
        XCTAssertTrue(try String(contentsOfFile: r.summaryPath!, encoding: .utf8).hasPrefix("PRACTICE RUN"))
        XCTAssertTrue(try Verifier.verify(transcript: try transcript(r)).get().practice)
    }

    func testCeremonyIDsAreNeverReused() throws {
        let dir = try Support.tempDir()
        let script = try Support.keylessScript()
        let first = try Support.run(script: script, answers: Support.keylessAnswers(), dir: dir)
        let id = try first.0.get().ceremonyID
        let second = try Support.run(script: script, answers: Support.keylessAnswers(), dir: dir, journal: first.1)
        XCTAssertNotEqual(try second.0.get().ceremonyID, id)
        let before = try first.1.entries(ceremony: id).count
        let reuse = try Support.run(script: script, answers: Support.keylessAnswers(), dir: dir, ceremonyID: id, journal: first.1)
        XCTAssertEqual(reuse.0.failure as? JournalError, .ceremonyIDUsed(ceremony: id))
        XCTAssertEqual(try first.1.entries(ceremony: id).count, before)
        XCTAssertEqual(try first.1.ceremonies().count, 2)
    }

    /// One person named for two roles — by the same staff number, or the same name spelled
    /// differently — is refused, and the ceremony ends ABORTED.
    func testSamePersonForTwoRolesIsRefused() throws {
        let cases: [[String: String]] = [
            ["roll-call.medical.name": "Ivan Ito", "roll-call.medical.id": "X-999"],
            ["roll-call.medical.name": "Someone Else", "roll-call.medical.id": "i300"],
            ["roll-call.medical.name": "  IVÁN   ito ", "roll-call.medical.id": "Z-1"],
        ]
        for overrides in cases {
            let dir = try Support.tempDir()
            let (result, journal) = try Support.run(script: try Support.keylessScript(), answers: Support.keylessAnswers(overrides), dir: dir)
            guard case .refused(let id, let step, let reason)? = result.failure as? CeremonyError else {
                return XCTFail("not refused: \(result)")
            }
            XCTAssertEqual(step, "roll-call")
            XCTAssertTrue(reason.contains("one person, one role"), reason)
            let entries = try journal.entries(ceremony: id)
            XCTAssertEqual(entries.last?.event, EventType.aborted)
            XCTAssertTrue(entries.last?.payload["reason"]?.stringValue?.contains("already fills the role it") == true)
            XCTAssertFalse(entries.contains { $0.event == EventType.stepDone && $0.step == "roll-call" })
            XCTAssertEqual(entries.suffix(2).map(\.event), [EventType.refused, EventType.aborted])
            XCTAssertNoThrow(try Verifier.verify(transcript: Transcript.text(entries)).get())
        }
    }

    /// A step whose role was never filled is refused at run time (lint is skipped here to
    /// reach the engine's own check) and nothing of the step runs.
    func testStepWithUnfilledRoleIsRefused() throws {
        let original = try Support.keylessScript()
        let script = try ScriptLoader.parse(original.source.replacingOccurrences(
            of: "roles: [administrator, witness, it, management, medical]", with: "roles: [administrator, witness, it, management]"),
            origin: "without-medical")
        XCTAssertFalse(Lint.check(script).isEmpty)
        let dir = try Support.tempDir()
        let (result, journal) = try Support.run(script: script, answers: Support.keylessAnswers(), dir: dir, skipLint: true)
        guard case .refused(let id, let step, let reason)? = result.failure as? CeremonyError else { return XCTFail("\(result)") }
        XCTAssertEqual(step, "ticket")
        XCTAssertTrue(reason.contains("role medical (Medical custodian) has not been filled"), reason)
        let entries = try journal.entries(ceremony: id)
        XCTAssertEqual(entries.suffix(2).map(\.event), [EventType.refused, EventType.aborted])
        XCTAssertFalse(entries.contains { $0.step == "ticket" && $0.event == EventType.stepStart })
        // The tool never runs a script that fails lint, so its transcript does not verify.
        let f = Verifier.verify(transcript: Transcript.text(entries), registry: Support.registry).failure
        XCTAssertEqual(f?.entry, 1)
        XCTAssertTrue(f?.message.contains("fails lint") == true, "\(String(describing: f))")
    }

    /// A false precondition at run time: the bag serial is wrong, the participants skip the
    /// step with a witnessed exception, and the seal check (after: bag-serial) is refused.
    func testFalsePreconditionIsRefused() throws {
        let answers = Support.keylessAnswers([
            "bag-serial.value": "BAG-WRONG-1",
            "bag-serial.exception.choice": "skip",
            "bag-serial.exception.decision": "serial differs from the plan; skip and investigate",
            "bag-serial.exception.witness": "yes",
        ])
        let dir = try Support.tempDir()
        let (result, journal) = try Support.run(script: try Support.keylessScript(), answers: answers, dir: dir)
        guard case .refused(let id, let step, let reason)? = result.failure as? CeremonyError else { return XCTFail("\(result)") }
        XCTAssertEqual(step, "seal-check")
        XCTAssertTrue(reason.contains("step bag-serial has not been completed"), reason)
        let entries = try journal.entries(ceremony: id)
        XCTAssertEqual(entries.filter { $0.event == EventType.exception }.count, 1)
        XCTAssertEqual(entries.last?.event, EventType.aborted)
        let report = try Verifier.verify(transcript: Transcript.text(entries)).get()
        XCTAssertEqual(report.exceptions.count, 1)
        XCTAssertTrue(report.exceptions[0].contains("BAG-WRONG-1"))
    }

    /// A deviation: the first entry is wrong, an exception (expected, happened, decision) is
    /// confirmed by the witness, the step is retried and the ceremony closes.
    func testExceptionWithRetryIsWitnessedAndListed() throws {
        let answers = Support.keylessAnswers([
            "bag-serial.value": "[BAG-2026-0024, BAG-2026-0042]",
            "bag-serial.confirm.witness": "[yes]",
            "bag-serial.exception.choice": "retry",
            "bag-serial.exception.decision": "digits swapped while typing; retype",
            "bag-serial.exception.witness": "yes",
        ])
        let dir = try Support.tempDir()
        let r = try Support.run(script: try Support.keylessScript(), answers: answers, dir: dir).0.get()
        XCTAssertTrue(r.closed)
        let report = try Verifier.verify(transcript: try String(contentsOfFile: r.transcriptPath!, encoding: .utf8)).get()
        XCTAssertEqual(report.exceptions.count, 1)
        XCTAssertTrue(report.exceptions[0].contains("digits swapped"), report.exceptions[0])
        XCTAssertTrue(report.exceptions[0].contains("Wanda Witt"))
    }

    /// Without the witness's confirmation there is no exception, and no going on.
    func testUnwitnessedExceptionAborts() throws {
        let answers = Support.keylessAnswers([
            "bag-serial.value": "BAG-WRONG-1", "bag-serial.exception.choice": "retry",
            "bag-serial.exception.decision": "retype", "bag-serial.exception.witness": "no",
        ])
        let (result, journal) = try Support.run(script: try Support.keylessScript(), answers: answers, dir: try Support.tempDir())
        guard case .aborted(let id, _, let reason)? = result.failure as? CeremonyError else { return XCTFail("\(result)") }
        XCTAssertTrue(reason.contains("witness did not confirm"))
        XCTAssertFalse(try journal.entries(ceremony: id).contains { $0.event == EventType.exception })
    }

    /// A confirming role that does not agree is journaled with the reason, not ignored.
    func testDisagreementIsRecorded() throws {
        let answers = Support.keylessAnswers([
            "seal-check.confirm.witness": "[no, yes]", "seal-check.confirm.witness.reason": "I could not see the seal",
            "seal-check.answer": "[yes, yes]", "seal-check.exception.choice": "retry",
            "seal-check.exception.decision": "hold the bag under the lamp", "seal-check.exception.witness": "yes",
        ])
        let r = try Support.run(script: try Support.keylessScript(), answers: answers, dir: try Support.tempDir()).0.get()
        let report = try Verifier.verify(transcript: try String(contentsOfFile: r.transcriptPath!, encoding: .utf8)).get()
        XCTAssertEqual(report.disagreements.count, 1)
        XCTAssertTrue(report.disagreements[0].contains("could not see the seal"))
        XCTAssertEqual(report.exceptions.count, 1)
    }

    /// Abort writes ABORTED with the reason, zeroises the secrets, and the transcript of the
    /// aborted ceremony verifies as ABORTED.
    func testAbortWritesAbortedWithReasonAndZeroisesSecrets() throws {
        let script = try ScriptLoader.load(path: Support.fixtures.appendingPathComponent("factor-test.yaml").path)
        let answers = """
            roll-call: { admin: {name: A, id: "1"}, witness: {name: W, id: "2"}, it: {name: I, id: "3"}, mgmt: {name: M, id: "4"}, med: {name: D, id: "5"} }
            blob.confirm.witness: "yes"
            card.go: abort
            card.abort-reason: the card holder was called away
            """
        var engine: Engine?
        let (result, journal) = try Support.run(script: script, answers: answers, dir: try Support.tempDir()) { engine = $0 }
        guard case .aborted(let id, let step, let reason)? = result.failure as? CeremonyError else { return XCTFail("\(result)") }
        XCTAssertEqual(step, "card")
        XCTAssertTrue(reason.contains("called away"))
        let last = try XCTUnwrap(try journal.entries(ceremony: id).last)
        XCTAssertEqual(last.event, EventType.aborted)
        XCTAssertTrue(last.payload["reason"]?.stringValue?.contains("the card holder was called away") == true)
        XCTAssertTrue(engine!.secrets.zeroised)
        XCTAssertEqual(engine!.secrets.names, [])
        XCTAssertEqual(try Verifier.verify(transcript: Transcript.text(try journal.entries(ceremony: id)), registry: Support.registry).get().terminal,
                       EventType.aborted)
    }

    /// The three factors combine inside one running ceremony; the PIN comes from --pin-fd.
    func testFactorsCombineInOneCeremonyAndSecretsAreZeroisedAtClose() throws {
        var engine: Engine?
        let (result, journal) = try Support.runFactorTest { engine = $0 }
        let r = try result.get()
        XCTAssertTrue(r.closed)
        XCTAssertTrue(engine!.secrets.zeroised)
        let text = Transcript.text(try journal.entries(ceremony: r.ceremonyID))
        XCTAssertFalse(text.contains("123456"), "the PIN reached the journal")
        XCTAssertTrue(text.contains("key_check_value"))
        XCTAssertNoThrow(try Verifier.verify(transcript: text, registry: Support.registry).get())
    }

    /// A script that tries to combine factors another ceremony presented is refused at run
    /// time even with lint skipped: facts and secrets live only in one running ceremony.
    func testFactorsFromAnotherCeremonyDoNotCount() throws {
        let original = try ScriptLoader.load(path: Support.fixtures.appendingPathComponent("factor-test.yaml").path)
        let pinStep = "      - id: pin\n        role: med\n        say: Medical types the PIN\n        action: test-take-pin\n        confirm: [witness]\n"
        XCTAssertTrue(original.source.contains(pinStep))
        let script = try ScriptLoader.parse(original.source.replacingOccurrences(of: pinStep, with: ""), origin: "without-pin")
        XCTAssertNil(script.allSteps.first { $0.step.id == "pin" })
        let answers = """
            roll-call: { admin: {name: A, id: "1"}, witness: {name: W, id: "2"}, it: {name: I, id: "3"}, mgmt: {name: M, id: "4"}, med: {name: D, id: "5"} }
            blob.confirm.witness: "yes"
            card.confirm.witness: "yes"
            """
        let (result, journal) = try Support.run(script: script, answers: answers, dir: try Support.tempDir(), skipLint: true)
        guard case .refused(let id, let step, let reason)? = result.failure as? CeremonyError else { return XCTFail("\(result)") }
        XCTAssertEqual(step, "unlock")
        XCTAssertTrue(reason.contains("factor:card-pin"), reason)
        XCTAssertFalse(try journal.entries(ceremony: id).contains { $0.step == "unlock" && $0.event == EventType.stepStart })
    }

    /// After a break everyone is asked again; a custodian who does not come back makes the
    /// next step needing them refused.
    func testPauseResumeRechecksPresence() throws {
        let answers = Support.keylessAnswers([
            "ticket.go": "[pause, go]", "ticket.pause.reason": "lunch", "ticket.resume": "resume",
            "ticket.resume.administrator": "yes", "ticket.resume.witness": "yes", "ticket.resume.it": "yes",
            "ticket.resume.management": "yes", "ticket.resume.medical": "no",
            "ticket.resume.administrator.id": "A-100", "ticket.resume.witness.id": "W-200", "ticket.resume.it.id": "I-300",
            "ticket.resume.management.id": "M-400",
        ])
        let (result, journal) = try Support.run(script: try Support.keylessScript(), answers: answers, dir: try Support.tempDir())
        guard case .refused(let id, let step, let reason)? = result.failure as? CeremonyError else { return XCTFail("\(result)") }
        XCTAssertEqual(step, "ticket")
        XCTAssertTrue(reason.contains("not present since the break"), reason)
        let events = try journal.entries(ceremony: id).map(\.event)
        XCTAssertEqual(Array(events.suffix(4)), [EventType.pause, EventType.resume, EventType.refused, EventType.aborted])
    }

    /// "Cannot log ⇒ cannot act": another process takes an exclusive lock on the journal in
    /// the middle of the ceremony; the engine's next append fails, the ceremony stops with a
    /// clear message, and the next action never runs. Once the lock is gone, `ceremony
    /// abort` closes the ceremony and its transcript verifies.
    func testUnwritableJournalStopsBeforeTheNextAction() throws {
        let dir = try Support.tempDir()
        let path = "\(dir)/journal.db"
        let script = try ScriptLoader.parse("""
            name: lock-test
            version: 1
            title: Lock test
            purpose: the journal becomes unwritable mid-ceremony
            roles:
              admin: { title: Administrator }
              witness: { title: Witness, witness: true }
            acts:
              - id: one
                title: One
                steps:
                  - { id: roll-call, role: admin, say: r, action: identify-participants, with: { roles: [admin, witness] } }
                  - { id: lock, role: admin, say: l, action: test-lock-journal, with: { path: "\(path)" } }
                  - { id: count, role: admin, say: c, action: test-count }
            """, origin: "lock-test")
        XCTAssertEqual(Lint.check(script, registry: Support.registry), [])
        TestKeyActions.CountRuns.runs = 0
        let answers = "roll-call: { admin: {name: A, id: \"1\"}, witness: {name: W, id: \"2\"} }\n"
        let (result, journal) = try Support.run(script: script, answers: answers, dir: dir)
        defer { TestKeyActions.LockJournal.release() }
        guard case .cannotLog(let id, _, let step, let reason)? = result.failure as? CeremonyError else { return XCTFail("\(result)") }
        XCTAssertEqual(step, "lock")
        XCTAssertTrue(reason.contains("locked") || reason.contains("busy"), reason)
        let message = (result.failure as! CeremonyError).description
        XCTAssertTrue(message.contains("cannot write to the journal"), message)
        XCTAssertTrue(message.contains("no further action ran"), message)
        XCTAssertEqual(TestKeyActions.CountRuns.runs, 0, "an action ran although the journal could not log")
        TestKeyActions.LockJournal.release()
        let entries = try journal.entries(ceremony: id)
        XCTAssertEqual(entries.last?.event, EventType.stepStart)
        XCTAssertEqual(entries.last?.step, "lock")
        XCTAssertNotNil(Verifier.verify(transcript: Transcript.text(entries), registry: Support.registry).failure)
        let abort = try Support.cli(["abort", "--journal", path, "--ceremony", id, "--reason", "journal was unwritable"])
        XCTAssertEqual(abort.status, 0, abort.err)
        let closed = try journal.entries(ceremony: id)
        XCTAssertEqual(closed.last?.event, EventType.aborted)
        // Closed afterwards, without the ceremony key (gone with the process): the record is
        // complete but its tail is unsigned, which is what a forged ending looks like, so it
        // does not verify — and the verifier says who closed it (docs/ceremony.md §8).
        let f = Verifier.verify(transcript: Transcript.text(closed), registry: Support.registry).failure
        XCTAssertEqual(f?.entry, closed.count)
        XCTAssertTrue(f?.message.contains("ceremony abort") == true, "\(String(describing: f))")
    }

    /// An error from a lower layer inside an action is a deviation like any other: journaled
    /// as STEP_FAILED, then a witnessed exception lets the step be retried.
    func testLowerLayerErrorIsADeviationNotACrash() throws {
        let script = try ScriptLoader.parse("""
            name: fail-once
            version: 1
            title: Fail once
            purpose: an action fails with a card error, then succeeds
            roles:
              admin: { title: Administrator }
              witness: { title: Witness, witness: true }
            acts:
              - id: one
                title: One
                steps:
                  - { id: roll-call, role: admin, say: r, action: identify-participants, with: { roles: [admin, witness] } }
                  - { id: card-op, role: admin, say: c, action: test-fail-once }
            """, origin: "fail-once")
        TestKeyActions.FailOnce.failed = false
        let answers = """
            roll-call: { admin: {name: A, id: "1"}, witness: {name: W, id: "2"} }
            card-op.exception: { choice: retry, decision: "PIN mistyped; Medical types it again", witness: "yes" }
            """
        let r = try Support.run(script: script, answers: answers, dir: try Support.tempDir()).0.get()
        XCTAssertTrue(r.closed)
        let text = try String(contentsOfFile: r.transcriptPath!, encoding: .utf8)
        XCTAssertTrue(text.contains("PIN incorrect, 2 tries left"))
        XCTAssertEqual(try Verifier.verify(transcript: text, registry: Support.registry).get().exceptions.count, 1)
    }

    /// Evidence files (video, scans) are hashed into the journal, binding the audit bundle
    /// to the transcript; a missing file is a deviation, not a silent gap.
    func testEvidenceFilesAreHashedIntoTheJournal() throws {
        let dir = try Support.tempDir()
        try Data("camera 1 footage".utf8).write(to: URL(fileURLWithPath: "\(dir)/cam1.mp4"))
        let script = try ScriptLoader.parse("""
            name: evidence
            version: 1
            title: Evidence
            purpose: hash the evidence bundle
            roles:
              admin: { title: Administrator }
              witness: { title: Witness, witness: true }
            acts:
              - id: one
                title: One
                steps:
                  - { id: roll-call, role: admin, say: r, action: identify-participants, with: { roles: [admin, witness] } }
                  - { id: bundle, role: admin, say: b, action: record-evidence, confirm: [witness] }
            """, origin: "evidence")
        let answers = """
            roll-call: { admin: {name: A, id: "1"}, witness: {name: W, id: "2"} }
            bundle: { path: ["\(dir)/missing.mp4", "", "\(dir)/cam1.mp4", ""], confirm.witness: "yes" }
            bundle.exception: { choice: retry, decision: "wrong file name; use cam1", witness: "yes" }
            """
        let r = try Support.run(script: script, answers: answers, dir: dir).0.get()
        let text = try String(contentsOfFile: r.transcriptPath!, encoding: .utf8)
        XCTAssertTrue(text.contains(Hex.encode(SHA256.hash(Array("camera 1 footage".utf8)))))
        XCTAssertTrue(text.contains("cannot read evidence file"))
        XCTAssertEqual(try Verifier.verify(transcript: text).get().exceptions.count, 1)
    }
}
