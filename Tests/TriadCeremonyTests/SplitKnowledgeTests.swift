import Foundation
import XCTest
@testable import TriadCeremony
import TriadJournal

/// Split knowledge in the engine and in lint (docs/ceremony.md §3, rules 9–10): the factors
/// are combined only while everyone who presented one is present and re-identified, and no
/// role presents two factors or runs the ceremony and presents one.
final class SplitKnowledgeTests: XCTestCase {
    static let rollCall = """
        roll-call: { admin: {name: A, id: "1"}, witness: {name: W, id: "2"}, it: {name: I, id: "3"}, mgmt: {name: M, id: "4"}, med: {name: D, id: "5"} }
        blob.confirm.witness: "yes"
        card.confirm.witness: "yes"
        pin.confirm.witness: "yes"

        """

    func factorScript() throws -> CeremonyScript {
        try ScriptLoader.load(path: Support.fixtures.appendingPathComponent("factor-test.yaml").path)
    }

    /// A break before the unlock step, answered for each role; `ids` are the staff numbers typed again.
    func breakAnswers(back: [String: Bool], ids: [String: String] = [:]) -> String {
        var lines = ["unlock.go: [pause, go]", "unlock.pause.reason: lunch", "unlock.resume: resume", "unlock.confirm.witness: \"yes\""]
        let staff = ["admin": "1", "witness": "2", "it": "3", "mgmt": "4", "med": "5"]
        for role in ["admin", "witness", "it", "mgmt", "med"] {
            let isBack = back[role] ?? true
            lines.append("unlock.resume.\(role): \(isBack ? "\"yes\"" : "\"no\"")")
            if isBack { lines.append("unlock.resume.\(role).id: \"\(ids[role] ?? staff[role]!)\"") }
        }
        return Self.rollCall + lines.joined(separator: "\n") + "\n"
    }

    func runWithPIN(_ script: CeremonyScript, _ answers: String, skipLint: Bool = false) throws -> (Result<RunResult, Error>, Journal) {
        let pipe = Pipe()
        pipe.fileHandleForWriting.write(Data("123456\n".utf8))
        try pipe.fileHandleForWriting.close()
        return try Support.run(script: script, answers: answers, dir: try Support.tempDir(), skipLint: skipLint,
                               pinFD: pipe.fileHandleForReading.fileDescriptor)
    }

    /// The break hole: PIN typed, a break, Management and Medical do not come back — the
    /// administrator and witness alone must not get the key. Refused, journaled, ABORTED, and
    /// the unlock action never started.
    func testCombiningIsRefusedWhenCustodiansLeftAtABreak() throws {
        let (result, journal) = try runWithPIN(try factorScript(), breakAnswers(back: ["mgmt": false, "med": false]))
        guard case .refused(let id, let step, let reason)? = result.failure as? CeremonyError else { return XCTFail("\(result)") }
        XCTAssertEqual(step, "unlock")
        XCTAssertTrue(reason.contains("M (4), who presented the recovery card (Management), is not present"), reason)
        XCTAssertTrue(reason.contains("D (5), who presented the card's PIN (Medical), is not present"), reason)
        let entries = try journal.entries(ceremony: id)
        XCTAssertEqual(entries.suffix(4).map(\.event), [EventType.pause, EventType.resume, EventType.refused, EventType.aborted])
        XCTAssertEqual(entries.first { $0.event == EventType.resume }?.payload["absent"], .array(["mgmt", "med"]))
        XCTAssertFalse(entries.contains { $0.step == "unlock" && $0.event == EventType.stepStart })
        XCTAssertFalse(Transcript.text(entries).contains("key_check_value"))
    }

    /// One custodian who says they are back but types another staff number is not
    /// re-identified, and the factors are not combined.
    func testCustodianWhoDoesNotReidentifyCountsAsAbsent() throws {
        let (result, journal) = try runWithPIN(try factorScript(), breakAnswers(back: [:], ids: ["med": "55"]))
        guard case .refused(let id, let step, let reason)? = result.failure as? CeremonyError else { return XCTFail("\(result)") }
        XCTAssertEqual(step, "unlock")
        XCTAssertTrue(reason.contains("D (5), who presented the card's PIN"), reason)
        XCTAssertEqual(try journal.entries(ceremony: id).first { $0.event == EventType.resume }?.payload["absent"], .array(["med"]))
    }

    /// Everyone back and re-identified: the factors combine and the ceremony closes.
    func testEveryoneBackAndReidentifiedCombines() throws {
        let (result, journal) = try runWithPIN(try factorScript(), breakAnswers(back: [:]))
        let r = try result.get()
        XCTAssertTrue(r.closed)
        let entries = try journal.entries(ceremony: r.ceremonyID)
        XCTAssertEqual(entries.first { $0.event == EventType.resume }?.payload["absent"], .array([]))
        XCTAssertTrue(entries.contains { $0.step == "unlock" && $0.event == EventType.stepDone })
    }

    /// With lint skipped, the engine itself refuses Management typing the PIN after presenting
    /// the card, before the PIN is read.
    func testEngineRefusesOneRolePresentingTwoFactors() throws {
        let original = try factorScript()
        let source = original.source.replacingOccurrences(of: "      - id: pin\n        role: med", with: "      - id: pin\n        role: mgmt")
        let script = try ScriptLoader.parse(source, origin: "mgmt-types-pin")
        XCTAssertTrue(Lint.check(script, registry: Support.registry).contains { $0.contains("one role, one factor") })
        let (result, journal) = try runWithPIN(script, Self.rollCall + "unlock.confirm.witness: \"yes\"\n", skipLint: true)
        guard case .refused(let id, let step, let reason)? = result.failure as? CeremonyError else { return XCTFail("\(result)") }
        XCTAssertEqual(step, "pin")
        XCTAssertTrue(reason.contains("already presents the recovery card (Management)"), reason)
        XCTAssertFalse(try journal.entries(ceremony: id).contains { $0.step == "pin" && $0.event == EventType.stepStart })
    }

    /// With lint skipped, the engine refuses the administrator presenting a factor.
    func testEngineRefusesTheAdministratorPresentingAFactor() throws {
        let source = try factorScript().source.replacingOccurrences(of: "      - id: blob\n        role: it", with: "      - id: blob\n        role: admin")
        let script = try ScriptLoader.parse(source, origin: "admin-presents-blob")
        let (result, _) = try runWithPIN(script, Self.rollCall, skipLint: true)
        guard case .refused(_, let step, let reason)? = result.failure as? CeremonyError else { return XCTFail("\(result)") }
        XCTAssertEqual(step, "blob")
        XCTAssertTrue(reason.contains("runs or witnesses the ceremony and may not present the escrow blob"), reason)
    }

    /// Both bad scripts of the issue through the `ceremony lint` binary: exit 1, the reason.
    func testLintBinaryRefusesSplitKnowledgeThatIsNotSplit() throws {
        for (file, message) in [
            ("administrator-presents-every-factor", "role administrator (Ceremony Administrator) runs or witnesses the ceremony and may not present the escrow blob (IT)"),
            ("management-types-the-pin", "role management (Management custodian) already presents the recovery card (Management) and may not also present the card's PIN (Medical)"),
        ] {
            let lint = try Support.cli(["lint", Support.fixtures.appendingPathComponent("lint/\(file).yaml").path])
            XCTAssertEqual(lint.status, 1, file)
            XCTAssertTrue(lint.err.contains(message), lint.err)
            XCTAssertTrue(lint.err.contains("step "), lint.err)
        }
        let witness = try factorScript().source.replacingOccurrences(of: "      - id: card\n        role: mgmt", with: "      - id: card\n        role: witness")
        let problems = Lint.check(try ScriptLoader.parse(witness, origin: "witness-card"), registry: Support.registry)
        XCTAssertTrue(problems.contains { $0.contains("role witness (Witness) runs or witnesses the ceremony and may not present the recovery card") }, "\(problems)")
    }
}
