import Foundation
import XCTest
import TriadCrypto
import TriadPIV
import TriadRecovery
import TriadTestSupport

/// Slips with the recovery card (docs/ceremony.md §3, rule 11): a mistyped PIN found at the PIN
/// step and retried with the witness, the last try spent only by a witnessed exception, a card
/// not yet inserted, two different new PINs at enrolment, a blocked PIN unblocked with the PUK.
final class CardSlipTests: XCTestCase {
    typealias Drill = InteractiveDrillTests
    static let exceptionRetry = [["Deviation at step", "retry"], ["What was expected?", ""], ["What happened instead?", ""],
                                 ["What was decided", "mistyped; the witness allows one more try"], ["confirm this exception record", "yes"]]

    /// From the unlock step to CLOSED.
    static let toTheEnd: [[String]] = [[Drill.go, ""], ["confirm step unlock", "yes"], [Drill.go, ""], ["confirm step factors-anchor", "yes"],
                                       [Drill.go, ""], ["confirm step canary", "yes"], [Drill.go, ""], ["confirm step report", "yes"],
                                       [Drill.go, ""], ["confirm step zeroise", "yes"], [Drill.go, ""], ["Did you observe every step", "yes"],
                                       ["confirm step sign-off", "yes"]]

    func spendPINTries(_ card: VirtualCard, _ n: Int) throws {
        let client = PIVClient(transport: try card.connect())
        _ = try client.select()
        for _ in 0..<n { _ = try? client.verifyPIN(SecureBytes(Array("00000000".utf8))) }
    }

    /// A wrong PIN is found at the PIN step (not at unlock), the tries left are shown, and a
    /// witnessed retry lets Medical type it again; the drill passes and its report shows the
    /// counter as it is after the ceremony.
    func testWrongPINIsRetriedAtThePINStepWithTheWitness() throws {
        let s = try RecoverySetup("wrong-pin")
        var plan = Array(Drill.untilThePIN(pin: "11223344").dropLast())  // the wrong PIN, then the card says no
        plan += Self.exceptionRetry
        plan += [[Drill.go, ""], ["Recovery card PIN:", RecoverySetup.pin], ["confirm step pin", "yes"]]
        plan += Self.toTheEnd
        let (run, out) = try Drill.drill(s, "drill", plan)
        XCTAssertEqual(run.status, 0, run.description)
        XCTAssertTrue(run.screen.contains("the card refused the PIN; 2 tries left"), run.description)
        XCTAssertTrue(run.screen.contains("The card accepted the PIN"), run.description)
        let t = try XCTUnwrap(transcripts(in: out).last)
        let text = try String(contentsOfFile: t, encoding: .utf8)
        XCTAssertTrue(text.contains("\"kind\":\"pin-refused\""))
        XCTAssertTrue(text.contains("\"tries_left_after\":2"))
        XCTAssertFalse(text.contains(RecoverySetup.pin), "the PIN reached the transcript")
        let report = try JSONDecoder().decode(DrillReport.self, from: FileManager.default.contents(atPath: out + "/drill-report.json")!)
        XCTAssertTrue(report.passed)
        XCTAssertEqual(report.pinTriesLeft, 3, "the correct PIN reset the counter; the report must say so")
        XCTAssertNotEqual(runProcess(product("ceremony"), ["verify", t]).status, 1)
    }

    /// One try left: the card step refuses to go on until the witness confirms an exception that
    /// allows the last try; with it, the drill completes.
    func testLastTryNeedsAWitnessedException() throws {
        let s = try RecoverySetup("last-try")
        try spendPINTries(s.primary, 2)
        var plan = Array(Drill.untilThePIN().prefix(while: { $0[0] != "confirm step card" }))
        plan.removeLast()  // the card step's go is typed below, after which the refusal comes
        plan += [[Drill.go, ""], ["Deviation at step", "last-pin-try"], ["What was expected?", ""], ["What happened instead?", ""],
                 ["What was decided", "Medical is sure of the PIN; spend the last try"], ["confirm this exception record", "yes"],
                 [Drill.go, ""], ["confirm step card", "yes"], [Drill.go, ""], ["Recovery card PIN:", RecoverySetup.pin], ["confirm step pin", "yes"]]
        plan += Self.toTheEnd
        let (run, out) = try Drill.drill(s, "drill", plan)
        XCTAssertEqual(run.status, 0, run.description)
        XCTAssertTrue(run.screen.contains("only one PIN try is left on the card"), run.description)
        let text = try String(contentsOfFile: try XCTUnwrap(transcripts(in: out).last), encoding: .utf8)
        XCTAssertTrue(text.contains("\"grants\":\"last-pin-try\""), "the exception must record what it allowed")
    }

    /// The PIN step uses the card the card step identified: the primary card is identified and
    /// taken out after the card step, and the backup card — enrolled too, with the same PIN —
    /// is put into the same reader. The PIN step refuses it before any PIN is typed, and the
    /// ceremony ends ABORTED there; the backup card's PIN counter is untouched.
    func testAnotherCardAtThePINStepIsRefused() throws {
        let s = try RecoverySetup("swap")
        let takeOut = s.world.path("take-primary-out"), putIn = s.world.path("put-backup-in")
        var plan = Array(Drill.untilThePIN().prefix(while: { $0[0] != "confirm step card" }))
        plan += [["confirm step card", "yes", takeOut], [Drill.go, ""], ["insert the card into the reader", "", putIn],
                 ["Recovery card PIN:", RecoverySetup.pin], ["confirm step pin", "yes"]] + Self.toTheEnd
        let backupHere = try VirtualCard(state: s.world.path("backup.card"), port: s.primary.port)
        let room = Thread {
            // The test's part in the room, at the two hand-overs the plan names.
            func turnComes(_ path: String) -> Bool {
                let deadline = Date() + 300
                while !FileManager.default.fileExists(atPath: path + ".ready") { if Date() > deadline { return false }; usleep(100_000) }
                return true
            }
            if turnComes(takeOut) { s.primary.remove(); FileManager.default.createFile(atPath: takeOut, contents: nil) }
            if turnComes(putIn) { try? backupHere.insert(); FileManager.default.createFile(atPath: putIn, contents: nil) }
        }
        room.start()
        // The plan goes on to the PIN, so a tool that took the other card would finish the drill
        // (and fail here at once); this one ends before the PIN prompt, which the driver reports
        // as "ended before" (125).
        let (run, out) = try Drill.drill(s, "drill", plan)
        XCTAssertTrue(FileManager.default.fileExists(atPath: putIn), "the PIN step waited for a card and the backup card went in")
        XCTAssertEqual(run.status, 125, run.description)
        XCTAssertFalse(run.screen.contains("Recovery card PIN:"), "no PIN is asked for a card that was not identified")
        let t = try XCTUnwrap(transcripts(in: out).last)
        let last = try XCTUnwrap(try transcriptEntries(t).last)
        XCTAssertEqual(last["event"] as? String, "ABORTED")
        let payload = last["payload"] as? [String: Any] ?? [:]
        XCTAssertEqual(payload["at_step"] as? String, "pin", "\(payload)")
        XCTAssertTrue((payload["reason"] as? String ?? "").contains("the card in the reader is not the one identified earlier in this ceremony"), "\(payload)")
        XCTAssertEqual(runProcess(product("ceremony"), ["verify", t]).status, 3, "the aborted transcript verifies as ABORTED")
        backupHere.remove()
        try s.backup.insert()
        let backup = PIVClient(transport: try s.backup.connect())
        _ = try backup.select()
        XCTAssertEqual(try backup.pinStatus(), .triesLeft(3), "the other card was never asked for the PIN")
    }

    /// Enter before the card is in does not end the ceremony: the tool asks again, and abort ends it.
    func testTheToolWaitsForTheCard() throws {
        let s = try RecoverySetup("wait-card")
        s.primary.remove()
        var plan = Array(Drill.untilThePIN().prefix(while: { $0[0] != "confirm step card" }))
        plan.removeLast()
        plan += [[Drill.go, ""], ["insert the card into the reader", ""], ["insert the card into the reader", "abort"]]
        let (run, out) = try Drill.drill(s, "drill", plan)
        XCTAssertEqual(run.status, 1, run.description)
        try assertAborted(Run(status: run.status, stdout: run.screen, stderr: ""), output: out, at: "card", mentioning: "the card was not inserted")
        XCTAssertEqual(run.screen.components(separatedBy: "insert the card into the reader").count - 1, 2, run.description)
    }

    /// Two different new PINs at enrolment: a witnessed retry, nothing written to the card the
    /// first time; the key generation completes. An aborted key generation leaves no
    /// certificate behind, so the next run into the same folder works.
    func testEnrolmentPINSlipAndAnAbortedKeyGenerationLeaveNothingBehind() throws {
        let world = World("enrol-slip")
        world.mkdir("recovery")
        let out = world.path("recovery")
        let primary = try VirtualCard(state: world.path("primary.card"), port: 35963)
        let backup = try VirtualCard(state: world.path("backup.card"), port: 35964)
        try primary.insert(); try backup.insert()
        defer { primary.remove(); backup.remove() }
        let set = ["out": out, "reader_primary": primary.reader, "reader_backup": backup.reader, "days": "30"]
        // 1. Aborted at the first enrolment: the certificate written by the generate step is removed again.
        let aborted = world.ceremony("recovery-keygen", output: world.path("k1"), pins: [],
                                     answers: ["enrol-primary.go=abort", "enrol-primary.abort-reason=the card was damaged"], set: set)
        XCTAssertEqual(aborted.status, 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/recovery.cert.pem"), "an aborted key generation left its certificate")
        let abortedText = try String(contentsOfFile: try XCTUnwrap(transcripts(in: world.path("k1")).last), encoding: .utf8)
        XCTAssertTrue(abortedText.contains("removed_outputs"))
        // 2. The same folder again, with a mismatched PIN retried under the witness.
        let p = RecoverySetup.pin, k = RecoverySetup.puk
        let r = world.ceremony("recovery-keygen", output: world.path("k2"), pins: [p, "13572468", p, p, k, k, p, p, k, k],
                               answers: ["enrol-primary.exception.choice=retry", "enrol-primary.exception.decision=typed twice differently; again",
                                         "enrol-primary.exception.witness=yes"], set: set)
        XCTAssertEqual(r.status, 0, String(r.stdout.suffix(1200)) + r.stderr)
        XCTAssertTrue(r.stdout.contains("the two PIN entries differ"), String(r.stdout.suffix(1200)))
        let text = try String(contentsOfFile: try XCTUnwrap(transcripts(in: world.path("k2")).last), encoding: .utf8)
        XCTAssertTrue(text.contains("\"kind\":\"new-pin-entries-differ\""))
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/recovery-record.json"))
    }

    /// A blocked PIN is unblocked with the PUK in the shipped pin-change ceremony, and the new
    /// PIN then passes a drill.
    func testBlockedPINIsUnblockedWithThePUK() throws {
        let s = try RecoverySetup("puk")
        try spendPINTries(s.primary, 3)
        let r = s.world.ceremony("pin-change", output: s.world.path("change"), pins: [RecoverySetup.puk, "24681357", "24681357"],
                                 set: ["record": s.record, "reader": s.primary.reader])
        XCTAssertEqual(r.status, 0, String(r.stdout.suffix(1200)) + r.stderr)
        XCTAssertTrue(r.stdout.contains("unblocked and changed"), String(r.stdout.suffix(800)))
        let out = s.world.path("drill")
        let d = s.world.ceremony("quarterly-drill", output: out, pins: ["24681357"], set: [
            "blob": s.blob, "record": s.record, "reader": s.primary.reader, "report": out + "/r"])
        XCTAssertEqual(d.status, 0, String(d.stdout.suffix(800)))
    }
}
