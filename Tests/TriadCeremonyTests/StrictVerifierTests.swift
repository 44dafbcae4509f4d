import Foundation
import XCTest
@testable import TriadCeremony
import TriadCrypto
import TriadJournal

/// The forgeries a recomputed chain cannot hide from a strict replay: a script that fails
/// lint, a fact no action produces, arguments that are not the script's, CLOSED counts that
/// do not add up; and the exit codes of `ceremony verify` (docs/ceremony.md §8).
final class StrictVerifierTests: XCTestCase {
    func entries() throws -> [JournalEntry] {
        try TamperTests.transcript().lines.map { try JournalEntry(parsing: CanonicalValue.parse($0)) }
    }

    func failure(_ text: String, pinned: CeremonyScript? = nil, anchors: [String] = []) -> VerifyFailure? {
        Verifier.verify(transcript: text, pinnedScript: pinned, anchors: anchors, registry: Support.registry).failure
    }

    /// Replaces the script embedded in BEGIN (text and SHA-256 kept consistent).
    static func embed(_ source: String, in entries: inout [JournalEntry]) {
        var begin = entries[0].payload.objectValue!, script = begin["script"]!.objectValue!
        script["text"] = .string(source)
        script["sha256"] = .string(Hex.encode(SHA256.hash(Array(source.utf8))))
        begin["script"] = .object(script)
        entries[0].payload = .object(begin)
    }

    static func setFacts(_ entry: inout JournalEntry, _ facts: [String]) {
        var p = entry.payload.objectValue!
        p["facts"] = .array(facts.sorted().map { .string($0) })
        entry.payload = .object(p)
    }

    /// A genuine factor-test ceremony (blob, card, PIN, unlock) with the test key actions.
    static func factorCeremony() throws -> [JournalEntry] {
        let (result, journal) = try Support.runFactorTest()
        return try journal.entries(ceremony: try result.get().ceremonyID)
    }

    /// Finding: the PIN step removed from the script and its fact smuggled into the card
    /// step's STEP_DONE, chain recomputed. The embedded script fails lint: refused at entry 1;
    /// with the original script kept, the smuggled fact alone is refused at its entry.
    func testPINStepRemovedAndItsFactSmuggledIsRefused() throws {
        let genuine = try Self.factorCeremony()
        XCTAssertNil(failure(Transcript.text(genuine)))
        var forged = genuine.filter { $0.step != "pin" }
        let pinStep = "      - id: pin\n        role: med\n        say: Medical types the PIN\n        action: test-take-pin\n        confirm: [witness]\n"
        let source = genuine[0].payload["script"]!["text"]!.stringValue!
        XCTAssertTrue(source.contains(pinStep))
        Self.embed(source.replacingOccurrences(of: pinStep, with: ""), in: &forged)
        let cardDone = forged.firstIndex { $0.step == "card" && $0.event == EventType.stepDone }!
        Self.setFacts(&forged[cardDone], ["factor:recovery-card", "factor:card-pin"])
        var closed = forged.last!.payload.objectValue!
        closed["steps_completed"] = .int(closed["steps_completed"]!.intValue! - 1)
        forged[forged.count - 1].payload = .object(closed)
        let f = failure(TamperTests.rechain(forged))
        XCTAssertEqual(f?.entry, 1)
        XCTAssertTrue(f?.message.contains("fails lint") == true, "\(String(describing: f))")

        // The script left as it was, the fact smuggled into the blob step: refused there.
        var smuggled = genuine
        let blobDone = smuggled.firstIndex { $0.step == "blob" && $0.event == EventType.stepDone }!
        Self.setFacts(&smuggled[blobDone], ["factor:escrow-blob", "factor:card-pin"])
        let g = failure(TamperTests.rechain(smuggled))
        XCTAssertEqual(g?.entry, blobDone + 1)
        XCTAssertTrue(g?.message.contains("claims facts") == true && g?.message.contains("factor:card-pin") == true, "\(String(describing: g))")
    }

    /// The break hole: a break before the unlock, Management and Medical do not come back,
    /// and the unlock still runs. A transcript recording that is refused at the unlock's
    /// STEP_START, whoever made it.
    func testCombiningWhileAPresenterIsAbsentIsRefused() throws {
        let genuine = try Self.factorCeremony()
        let start = genuine.firstIndex { $0.step == "unlock" && $0.event == EventType.stepStart }!
        let at = genuine[start]
        var forged = genuine
        forged.insert(contentsOf: [
            JournalEntry(ceremony: at.ceremony, seq: 0, time: at.time, act: at.act, step: at.step, role: at.role,
                         event: EventType.pause, payload: ["reason": "lunch"], prevHash: ""),
            JournalEntry(ceremony: at.ceremony, seq: 0, time: at.time, act: at.act, step: at.step, role: at.role,
                         event: EventType.resume, payload: ["present": ["admin", "witness", "it"], "absent": ["mgmt", "med"]], prevHash: ""),
        ], at: start)
        let f = failure(TamperTests.rechain(forged))
        XCTAssertEqual(f?.entry, start + 3)
        XCTAssertTrue(f?.message.contains("who presented it, was not present") == true, "\(String(describing: f))")
        // Only the card holder left: still refused; nobody left: the unlock may run.
        forged[start + 1].payload = ["present": ["admin", "witness", "it", "med"], "absent": ["mgmt"]]
        XCTAssertTrue(failure(TamperTests.rechain(forged))?.message.contains("role mgmt") == true)
        forged[start + 1].payload = ["present": ["admin", "witness", "it", "mgmt", "med"], "absent": []]
        XCTAssertNotEqual(failure(TamperTests.rechain(forged))?.entry, start + 3)
    }

    /// Any fact added to any STEP_DONE of the keyless transcript, chain recomputed, is refused
    /// at that entry.
    func testEveryExtraFactIsRefusedWhereItIsClaimed() throws {
        let all = try entries()
        var checked = 0
        for (i, e) in all.enumerated() where e.event == EventType.stepDone {
            var forged = all
            let facts = e.payload["facts"]!.arrayValue!.compactMap(\.stringValue)
            Self.setFacts(&forged[i], facts + ["seal-intact-forged"])
            XCTAssertEqual(failure(TamperTests.rechain(forged))?.entry, i + 1, "STEP_DONE of \(e.step)")
            checked += 1
        }
        XCTAssertGreaterThanOrEqual(checked, 9)
    }

    /// Finding: STEP_START arguments changed (as `mode` regrant → decrypt and `paths` of an
    /// incident recovery), chain recomputed, verified even with `--script`. Now refused at
    /// that STEP_START — and so is BEGIN's parameter changed alone, since the step's
    /// arguments no longer follow from it. Changing `say`, `title` or the attempt number is
    /// refused the same way.
    func testChangedStepArgumentsOrParametersAreRefused() throws {
        let all = try entries()
        let start = all.firstIndex { $0.step == "bag-serial" && $0.event == EventType.stepStart }!
        XCTAssertEqual(all[start].payload["arguments"]?["expect"], "BAG-2026-0042")
        func edited(_ key: String, _ change: (inout [String: CanonicalValue]) -> Void) -> String {
            var forged = all
            var p = forged[start].payload.objectValue!
            change(&p)
            forged[start].payload = .object(p)
            return TamperTests.rechain(forged)
        }
        let pinned = try Support.keylessScript()
        for (name, text) in [
            ("arguments", edited("arguments") { p in var a = p["arguments"]!.objectValue!; a["expect"] = "BAG-2026-9999"; p["arguments"] = .object(a) }),
            ("argument added", edited("arguments") { p in var a = p["arguments"]!.objectValue!; a["twice"] = false; p["arguments"] = .object(a) }),
            ("say", edited("say") { $0["say"] = .string($0["say"]!.stringValue! + " (as agreed)") }),
            ("title", edited("title") { $0["title"] = "Something else" }),
            ("attempt", edited("attempt") { $0["attempt"] = 2 }),
            ("extra field", edited("x") { $0["note"] = "forged" }),
        ] {
            let f = failure(text, pinned: pinned)
            XCTAssertEqual(f?.entry, start + 1, name)
            XCTAssertTrue(f?.message.contains("differs from the script") == true, "\(name): \(String(describing: f))")
        }
        // BEGIN's parameter changed alone: the STEP_START no longer follows from it.
        var forged = all
        var begin = forged[0].payload.objectValue!
        begin["parameters"] = ["bag_serial": "BAG-2026-9999", "ticket": "INC-4711"]
        forged[0].payload = .object(begin)
        XCTAssertEqual(failure(TamperTests.rechain(forged), pinned: pinned)?.entry, start + 1)
        // An undeclared parameter, or a declared one left out, is refused at BEGIN.
        begin["parameters"] = ["bag_serial": "BAG-2026-0042", "ticket": "INC-4711", "mode": "decrypt"]
        forged[0].payload = .object(begin)
        XCTAssertEqual(failure(TamperTests.rechain(forged))?.entry, 1)
        begin["parameters"] = ["bag_serial": "BAG-2026-0042"]
        forged[0].payload = .object(begin)
        XCTAssertEqual(failure(TamperTests.rechain(forged))?.entry, 1)
    }

    /// CLOSED's counts must be what the transcript shows; ABORTED must name its step.
    func testTerminalCountsAndAbortedStepAreChecked() throws {
        let all = try entries()
        for key in ["steps_completed", "steps_skipped", "exceptions"] {
            var forged = all
            var p = forged.last!.payload.objectValue!
            p[key] = .int(p[key]!.intValue! + 1)
            forged[forged.count - 1].payload = .object(p)
            XCTAssertEqual(failure(TamperTests.rechain(forged))?.entry, all.count, key)
        }
        let cut = all.firstIndex { $0.step == "seal-check" && $0.event == EventType.stepStart }!
        var aborted = Array(all.prefix(cut + 1))
        let at = aborted.last!
        aborted.append(JournalEntry(ceremony: at.ceremony, seq: 0, time: at.time, act: at.act, step: at.step, role: at.role,
                                    event: EventType.aborted, payload: ["reason": "forged", "at_step": "ticket"], prevHash: ""))
        XCTAssertEqual(failure(TamperTests.rechain(aborted))?.entry, aborted.count)
    }

    /// The three checks of the chain that other checks used to shadow (scripts/mutants.json
    /// verify-prev-hash, verify-seq, verify-terminal-missing), each on a transcript that
    /// only that check refuses.
    func testEachChainCheckOnItsOwn() throws {
        let lines = try TamperTests.transcript().lines
        let all = try entries()
        // One entry replaced by a self-consistent one (its own hash recomputed, nothing after
        // it re-chained): only the next entry's prev_hash shows it.
        let i = all.firstIndex { $0.event == EventType.record && $0.payload["kind"]?.stringValue == "participant" }!
        var replaced = lines
        let forged = JournalEntry(ceremony: all[i].ceremony, seq: all[i].seq, time: all[i].time, act: all[i].act, step: all[i].step,
                                  role: all[i].role, event: all[i].event, payload: all[i].payload, prevHash: all[i - 1].prevHash)
        replaced[i] = forged.line
        var f = failure(replaced.joined(separator: "\n") + "\n")
        XCTAssertEqual(f?.entry, i + 1)
        XCTAssertTrue(f?.message.contains("prev_hash") == true, "\(String(describing: f))")
        // The whole chain recomputed with a sequence number skipped: only seq shows it.
        var skipped: [JournalEntry] = []
        for (n, e) in all.enumerated() {
            skipped.append(JournalEntry(ceremony: e.ceremony, seq: Int64(n >= 10 ? n + 2 : n + 1), time: e.time, act: e.act, step: e.step,
                                        role: e.role, event: e.event, payload: e.payload, prevHash: skipped.last?.hash ?? ChainHash.genesis))
        }
        f = failure(Transcript.text(skipped))
        XCTAssertEqual(f?.entry, 11)
        XCTAssertTrue(f?.message.contains("seq is 12") == true, "\(String(describing: f))")
        // Cut off at every point before the terminal entry: the message says so.
        for n in 1..<lines.count {
            f = failure(lines.prefix(n).joined(separator: "\n") + "\n")
            XCTAssertEqual(f?.entry, n + 1)
            XCTAssertTrue(f?.message.contains("without a CLOSED or ABORTED entry") == true, "cut at \(n): \(String(describing: f))")
        }
    }

    /// Exit codes through the binary: 0 CLOSED, 3 ABORTED (verified), 1 invalid, 2 usage;
    /// without --anchor the output says no paper anchor was compared.
    func testExitCodes() throws {
        let (path, lines) = try TamperTests.transcript()
        let ok = try Support.cli(["verify", path])
        XCTAssertEqual(ok.status, 0, ok.err)
        XCTAssertTrue(ok.out.contains("NO PAPER ANCHOR COMPARED"), ok.out)
        let closed = try JournalEntry(parsing: CanonicalValue.parse(lines.last!))
        let anchored = try Support.cli(["verify", path, "--anchor", "\(closed.seq): " + AnchorWords.anchor(hexHash: closed.hash).joined(separator: " ")])
        XCTAssertEqual(anchored.status, 0, anchored.err)
        XCTAssertFalse(anchored.out.contains("NO PAPER ANCHOR COMPARED"), anchored.out)

        let dir = try Support.tempDir()
        let answers = Support.keylessAnswers(["ticket.go": "abort", "ticket.abort-reason": "the ticket is not approved"])
        let r = try Support.run(script: try Support.keylessScript(), answers: answers, dir: dir).0
        guard case .aborted(let id, _, _)? = r.failure as? CeremonyError else { return XCTFail("\(r)") }
        let abortedPath = "\(dir)/out/\(id).jsonl"
        let aborted = try Support.cli(["verify", abortedPath])
        XCTAssertEqual(aborted.status, 3, aborted.out + aborted.err)
        XCTAssertTrue(aborted.out.contains("VERIFIED, ABORTED") && aborted.out.contains("did NOT complete"), aborted.out)

        try "{}\n".write(toFile: "\(dir)/bad.jsonl", atomically: false, encoding: .utf8)
        XCTAssertEqual(try Support.cli(["verify", "\(dir)/bad.jsonl"]).status, 1)
        XCTAssertEqual(try Support.cli(["verify", path, "--no-such-option"]).status, 2)
    }

    /// Finding: a transcript cut after act 2 and closed with a forged, re-chained ABORTED
    /// verified with exit 0. Now its ABORTED lacks the ceremony key's signature: exit 1
    /// without any words, and with the words of the real CLOSED.
    func testCutAfterActTwoWithForgedAbortedIsNotASuccess() throws {
        let all = try entries()
        let ends = all.indices.filter { all[$0].event == EventType.actEnd }
        XCTAssertGreaterThanOrEqual(ends.count, 2)
        var cut = Array(all.prefix(ends[1] + 2))   // act 3's ACT_START, then the forged ABORTED
        let last = cut.last!
        cut.append(JournalEntry(ceremony: last.ceremony, seq: 0, time: last.time, act: last.act, step: "", role: "",
                                event: EventType.aborted, payload: ["reason": "power cut", "at_step": ""], prevHash: ""))
        let dir = try Support.tempDir()
        try TamperTests.rechain(cut).write(toFile: "\(dir)/forged.jsonl", atomically: false, encoding: .utf8)
        let plain = try Support.cli(["verify", "\(dir)/forged.jsonl"])
        XCTAssertEqual(plain.status, 1, plain.out)
        XCTAssertTrue(plain.err.contains("entry \(cut.count): ABORTED"), plain.err)
        let closed = all.last!
        let withWords = try Support.cli(["verify", "\(dir)/forged.jsonl", "--anchor",
                                         "\(closed.seq): " + AnchorWords.anchor(hexHash: closed.hash).prefix(8).joined(separator: " ")])
        XCTAssertEqual(withWords.status, 1, withWords.out)
    }
}
