import Foundation
import XCTest
import TriadRecovery
import TriadTestSupport

/// The shipped quarterly drill with the participants' own cards (attest: card, docs/ceremony.md
/// §7 "Attestations" and §4 "slips"): a person's card that has left its reader when an act ends
/// is waited for — the drill goes on once it is back — and a card that stays out ends the drill
/// ABORTED, the terminal entry naming who could not sign and why; both verifiers agree.
///
/// The witness's staff card is the one taken out: its common name is the witness's name, so the
/// roll call takes exactly that card for the witness.
final class AttestationSlipTests: XCTestCase {
    typealias Drill = InteractiveDrillTests
    static let cardPrompt = "Internal Witness Wanda Witt: insert your card into a reader"

    /// The plan to the end of act "factors", the witness's card taken out after the unlock step.
    static func untilTheFactorsEnd(takeOut: String) -> [[String]] {
        Drill.untilThePIN() + [[Drill.go, ""], ["confirm step unlock", "yes", takeOut], [Drill.go, ""], ["confirm step factors-anchor", "yes"]]
    }

    /// The room's part: at each hand-over the plan names, `act` runs, then the driver types.
    func handOvers(_ turns: [(String, () -> Void)]) -> Thread {
        let room = Thread {
            for (path, act) in turns {
                let deadline = Date() + 300
                while !FileManager.default.fileExists(atPath: path + ".ready") {
                    if Date() > deadline { return }
                    usleep(100_000)
                }
                act()
                FileManager.default.createFile(atPath: path, contents: nil)
            }
        }
        room.start()
        return room
    }

    func testACardThatLeftIsAwaitedAtTheActEndAndTheDrillCloses() throws {
        let s = try RecoverySetup("attest-away")
        let witnessCard = try StaffCards.ensure().cards[0]
        let takeOut = s.world.path("take-witness-card"), putBack = s.world.path("put-witness-card-back")
        var plan = Self.untilTheFactorsEnd(takeOut: takeOut)
        plan += [[Self.cardPrompt, ""], [Self.cardPrompt, "", putBack]]
        plan += Array(CardSlipTests.toTheEnd.dropFirst(4))   // from the canary on
        _ = handOvers([(takeOut, { witnessCard.remove() }), (putBack, { try? witnessCard.insert() })])
        let (run, out) = try Drill.drill(s, "drill", plan)
        XCTAssertEqual(run.status, 0, run.description)
        XCTAssertEqual(run.screen.components(separatedBy: Self.cardPrompt).count - 1, 2, "asked again while the card was out: \(run.description)")
        let t = try XCTUnwrap(transcripts(in: out).last)
        let entries = try transcriptEntries(t)
        let factorsEnd = try XCTUnwrap(entries.first { ($0["event"] as? String) == "ACT_END" && ($0["act"] as? String) == "factors" })
        let signers = ((factorsEnd["payload"] as? [String: Any])?["attestations"] as? [[String: Any]] ?? []).compactMap { $0["role"] as? String }
        XCTAssertEqual(Set(signers), ["witness", "it", "management", "medical"], "every person present signed the act end once the card was back")
        let (swift, python) = verifyBoth(t, ["--trust", try StaffCards.ensure().caPath])
        XCTAssertEqual(swift.status, 0, swift.stderr)
        XCTAssertEqual(python.status, 0, python.stderr)
    }

    func testACardThatStaysOutEndsTheDrillAbortedNamingWhoCouldNotSign() throws {
        let s = try RecoverySetup("attest-gone")
        let witnessCard = try StaffCards.ensure().cards[0]
        let takeOut = s.world.path("take-witness-card")
        let plan = Self.untilTheFactorsEnd(takeOut: takeOut) + [[Self.cardPrompt, "abort"]]
        _ = handOvers([(takeOut, { witnessCard.remove() })])
        let (run, out) = try Drill.drill(s, "drill", plan)
        XCTAssertEqual(run.status, 1, run.description)
        let t = try XCTUnwrap(transcripts(in: out).last)
        let entries = try transcriptEntries(t)
        XCTAssertFalse(entries.contains { ($0["event"] as? String) == "ACT_END" && ($0["act"] as? String) == "factors" },
                       "no act end without the witness's signature")
        let last = try XCTUnwrap(entries.last)
        XCTAssertEqual(last["event"] as? String, "ABORTED")
        let payload = try XCTUnwrap(last["payload"] as? [String: Any])
        XCTAssertTrue((payload["reason"] as? String ?? "").contains("Wanda Witt: the card was not inserted"), "\(payload)")
        let signers = (payload["attestations"] as? [[String: Any]] ?? []).compactMap { $0["role"] as? String }
        XCTAssertEqual(Set(signers), ["it", "management", "medical"], "\(payload)")
        let missing = try XCTUnwrap(payload["attestations_missing"] as? [[String: Any]])
        XCTAssertEqual(missing.compactMap { $0["role"] as? String }, ["witness"])
        XCTAssertTrue((missing.first?["reason"] as? String ?? "").contains("in no reader"), "\(missing)")
        let (swift, python) = verifyBoth(t)
        XCTAssertEqual(swift.status, 3, swift.stderr)
        XCTAssertEqual(python.status, 3, python.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: t.replacingOccurrences(of: ".jsonl", with: "-summary.txt")))
        try witnessCard.insert()
    }

    /// One card, one person: with the medical custodian's card out, the three cards in the
    /// readers are taken by the three people before them and the roll call finds no card left
    /// for the fourth — it never reuses one — so the drill ends at the roll call.
    func testACardIsNeverTakenForTwoPeople() throws {
        let s = try RecoverySetup("attest-one-card")
        let staff = try StaffCards.ensure()
        let medicalCard = staff.cards[3]
        medicalCard.remove()
        defer { try? medicalCard.insert() }
        let out = s.world.path("drill")
        let args = s.world.ceremonyArguments("quarterly-drill", output: out, answers: ["roll-call.exception.choice=abort"], set: [
            "blob": s.blob, "record": s.record, "reader": s.primary.reader, "report": out + "/drill-report", "zones": ""])
        let r = runProcess(product("ceremony"), args, input: RecoverySetup.pin + "\n", environment: s.world.environment,
                           inputs: [3: StaffCards.pinInput])
        try assertAborted(r, output: out, at: "roll-call", mentioning: "each attesting person signs with their own card")
        let entries = try transcriptEntries(try XCTUnwrap(transcripts(in: out).last))
        let cards = entries.filter { ($0["payload"] as? [String: Any])?["kind"] as? String == "attestor-card" }
        XCTAssertEqual(cards.compactMap { $0["role"] as? String }, ["witness", "it", "management"])
        XCTAssertEqual(Set(cards.compactMap { ($0["payload"] as? [String: Any])?["certificate_fingerprint"] as? String }).count, 3)
        XCTAssertFalse(entries.contains { ($0["event"] as? String) == "STEP_START" && ($0["step"] as? String) == "pin" })
    }
}
