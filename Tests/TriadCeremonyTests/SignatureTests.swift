import Foundation
import XCTest
@testable import TriadCeremony
import TriadCrypto
import TriadJournal

/// The ceremony key (docs/ceremony.md §7 "Signatures", "Checkpoint"): a fresh P-256 key per
/// ceremony, public half in BEGIN, signing every ACT_END and the terminal entry, dropped at
/// the end. Forgeries that keep BEGIN — an edited entry re-chained, a cut tail closed by a
/// forged CLOSED or ABORTED — are refused with no words from the room at all.
final class SignatureTests: XCTestCase {
    func entries() throws -> [JournalEntry] {
        try TamperTests.transcript().lines.map { try JournalEntry(parsing: CanonicalValue.parse($0)) }
    }

    func failure(_ text: String, anchors: [String] = []) -> VerifyFailure? {
        Verifier.verify(transcript: text, anchors: anchors, registry: Support.registry).failure
    }

    func testEveryActEndAndTheTerminalEntryAreSignedAndTheKeyIsDropped() throws {
        var engine: Engine?
        let (result, journal) = try Support.run(script: try Support.keylessScript(), answers: Support.keylessAnswers(),
                                                dir: try Support.tempDir()) { engine = $0 }
        let all = try journal.entries(ceremony: try result.get().ceremonyID)
        XCTAssertTrue(engine!.ceremonyKey!.isZeroised, "the ceremony key outlived the ceremony")
        let key = try Seal.key(of: all[0]).get()
        XCTAssertEqual(key.algorithm, .ecP256)
        let sealed = all.filter { Seal.isSealed($0.event) }
        XCTAssertEqual(sealed.count, 4)   // three acts and CLOSED
        for e in all {
            XCTAssertEqual(e.payload[Seal.signatureField] != nil, Seal.isSealed(e.event), "entry \(e.seq) \(e.event)")
            if Seal.isSealed(e.event) { XCTAssertNoThrow(try Seal.verify(e, key: key).get()) }
        }
        let report = try Verifier.verify(transcript: Transcript.text(all), registry: Support.registry).get()
        XCTAssertEqual(report.ceremonyKeySHA256, Hex.encode(SHA256.hash(key.spkiDER)).lowercased())
        // Two ceremonies never share a key.
        let (second, journal2) = try Support.run(script: try Support.keylessScript(), answers: Support.keylessAnswers(), dir: try Support.tempDir())
        let other = try journal2.entries(ceremony: try second.get().ceremonyID)
        XCTAssertNotEqual(all[0].payload[Seal.keyField], other[0].payload[Seal.keyField])
    }

    /// An entry edited and the chain recomputed from there, BEGIN kept: refused at the next
    /// signed entry, no anchor given. Every non-BEGIN entry is tried.
    func testEditedAndRechainedEntryIsRefusedWithoutAnyWords() throws {
        let all = try entries()
        for i in 1..<all.count {
            var forged = all
            var p = forged[i].payload.objectValue!
            p["note"] = "forged"
            forged[i].payload = .object(p)
            let f = failure(TamperTests.rechain(forged))
            XCTAssertNotNil(f, "an edit of entry \(i + 1) verified")
            let nextSealed = all[i...].first { Seal.isSealed($0.event) }!
            XCTAssertLessThanOrEqual(f?.entry ?? 0, Int(nextSealed.seq), "entry \(i + 1)")
        }
    }

    /// The finding: cut after act 2, closed by a forged re-chained ABORTED (or CLOSED after a
    /// forged ending): refused with no words at all, in the library and through the binary.
    func testCutTailWithForgedTerminalIsRefusedWithoutAnyWords() throws {
        let all = try entries()
        let ends = all.indices.filter { all[$0].event == EventType.actEnd }
        let dir = try Support.tempDir()
        for cutAfter in ends.dropLast() {
            let last = all[cutAfter]
            for terminal in [EventType.aborted, EventType.closed] {
                var cut = Array(all.prefix(cutAfter + 1))
                let payload: CanonicalValue = terminal == EventType.aborted ? ["reason": "power cut", "at_step": ""]
                    : ["steps_completed": 9, "steps_skipped": 0, "exceptions": 1]
                cut.append(JournalEntry(ceremony: last.ceremony, seq: 0, time: last.time, act: "", step: "", role: "",
                                        event: terminal, payload: payload, prevHash: ""))
                let text = TamperTests.rechain(cut)
                XCTAssertEqual(failure(text)?.entry, cut.count, "\(terminal) after entry \(cutAfter + 1)")
                // Signed with the forger's own key: still not the key of BEGIN.
                let forger = try CeremonyKey()
                var signed = try Transcript.lines(text).map { try JournalEntry(parsing: CanonicalValue.parse($0)) }
                let t = signed.removeLast()
                let draft = JournalEntry(ceremony: t.ceremony, seq: t.seq, time: t.time, act: t.act, step: t.step, role: t.role,
                                         event: t.event, payload: t.payload, prevHash: t.prevHash)
                signed.append(JournalEntry(ceremony: t.ceremony, seq: t.seq, time: t.time, act: t.act, step: t.step, role: t.role,
                                           event: t.event, payload: try forger.seal(draft), prevHash: t.prevHash))
                let g = failure(Transcript.text(signed))
                XCTAssertEqual(g?.entry, signed.count)
                // A CLOSED after an act that is not the last is already refused by the replay.
                if terminal == EventType.aborted {
                    XCTAssertTrue(g?.message.contains("not written by the ceremony") == true, "\(String(describing: g))")
                }
                try Transcript.text(signed).write(toFile: "\(dir)/forged-\(cutAfter)-\(terminal).jsonl", atomically: false, encoding: .utf8)
                let cli = try Support.cli(["verify", "\(dir)/forged-\(cutAfter)-\(terminal).jsonl"])
                XCTAssertEqual(cli.status, 1, cli.out)
                XCTAssertTrue(cli.err.contains("entry \(signed.count):"), cli.err)
            }
        }
    }

    /// A signature taken from another act end does not sign this one; an unsigned act end,
    /// a BEGIN without a key or with another key is refused.
    func testSignaturesCannotBeMovedRemovedOrReKeyed() throws {
        let all = try entries()
        let ends = all.indices.filter { all[$0].event == EventType.actEnd }
        var moved = all
        var p = moved[ends[1]].payload.objectValue!
        p[Seal.signatureField] = all[ends[0]].payload[Seal.signatureField]
        moved[ends[1]].payload = .object(p)
        XCTAssertEqual(failure(TamperTests.rechain(moved))?.entry, ends[1] + 1)
        var removed = all
        p = removed[ends[0]].payload.objectValue!
        p[Seal.signatureField] = nil
        removed[ends[0]].payload = .object(p)
        XCTAssertEqual(failure(TamperTests.rechain(removed))?.entry, ends[0] + 1)
        var noKey = all
        p = noKey[0].payload.objectValue!
        p[Seal.keyField] = nil
        noKey[0].payload = .object(p)
        XCTAssertEqual(failure(TamperTests.rechain(noKey))?.entry, 1)
        // Another key in BEGIN: the first act end no longer verifies.
        var otherKey = all
        p = otherKey[0].payload.objectValue!
        p[Seal.keyField] = Seal.keyMember(try CeremonyKey().publicKey)
        otherKey[0].payload = .object(p)
        XCTAssertEqual(failure(TamperTests.rechain(otherKey))?.entry, ends[0] + 1)
    }

    /// What the key cannot do: a forger who rewrites from entry 1 with a key of their own and
    /// re-signs everything makes a transcript that verifies by itself. The words written
    /// down in the room refuse it (docs/ceremony.md §8).
    func testWholeTranscriptReKeyedIsCaughtOnlyByTheWords() throws {
        let all = try entries()
        let forger = try CeremonyKey()
        var out: [JournalEntry] = []
        for (i, e) in all.enumerated() {
            var payload = e.payload
            if i == 0 { var p = payload.objectValue!; p[Seal.keyField] = Seal.keyMember(forger.publicKey); payload = .object(p) }
            if Seal.isSealed(e.event) { var p = payload.objectValue!; p[Seal.signatureField] = nil; p[Checkpoint.field] = nil; payload = .object(p) }
            let draft = JournalEntry(ceremony: e.ceremony, seq: e.seq, time: e.time, act: e.act, step: e.step, role: e.role,
                                     event: e.event, payload: payload, prevHash: out.last?.hash ?? ChainHash.genesis)
            out.append(Seal.isSealed(e.event) ? JournalEntry(ceremony: e.ceremony, seq: e.seq, time: e.time, act: e.act, step: e.step,
                                                             role: e.role, event: e.event, payload: try forger.seal(draft), prevHash: draft.prevHash)
                                              : draft)
        }
        let text = Transcript.text(out)
        XCTAssertNil(failure(text))
        let firstEnd = all.first { $0.event == EventType.actEnd }!
        XCTAssertEqual(failure(text, anchors: ["\(firstEnd.seq): " + AnchorWords.anchor(hexHash: firstEnd.hash).prefix(8).joined(separator: " ")])?.entry,
                       Int(firstEnd.seq))
    }

    /// The whole transcript re-keyed by a forger (as above) whose terminal entry carries a
    /// checkpoint for another head — the note an outside witness would cosign — while every
    /// seal verifies: the checkpoint check alone refuses it, at the terminal entry. The same
    /// forgery with the right checkpoint verifies, so the refusal is the checkpoint's.
    func testAReSignedTranscriptWhoseCheckpointNamesAnotherHeadIsRefused() throws {
        let all = try entries()
        let forger = try PrivateKey.generate(.ecP256)
        func reKeyed(checkpointHead: (_ out: [JournalEntry]) -> String) throws -> String {
            var out: [JournalEntry] = []
            for (i, e) in all.enumerated() {
                var members = e.payload.objectValue!
                if i == 0 { members[Seal.keyField] = Seal.keyMember(forger.publicKey) }
                members[Seal.signatureField] = nil
                members[Checkpoint.field] = nil
                if e.isTerminal {
                    let body = Checkpoint.body(ceremony: e.ceremony, size: e.seq - 1, headHash: checkpointHead(out))
                    members[Checkpoint.field] = .string(try Checkpoint.signedNote(body: body, ceremony: e.ceremony, key: forger))
                }
                var entry = JournalEntry(ceremony: e.ceremony, seq: e.seq, time: e.time, act: e.act, step: e.step, role: e.role,
                                         event: e.event, payload: .object(members), prevHash: out.last?.hash ?? ChainHash.genesis)
                if Seal.isSealed(e.event) {
                    members[Seal.signatureField] = .string(Hex.encode(try forger.sign(Seal.message(entry), scheme: .ecdsaSHA256)).lowercased())
                    entry = JournalEntry(ceremony: e.ceremony, seq: e.seq, time: e.time, act: e.act, step: e.step, role: e.role,
                                         event: e.event, payload: .object(members), prevHash: entry.prevHash)
                }
                out.append(entry)
            }
            return Transcript.text(out)
        }
        let right = try reKeyed { $0.last!.hash }, otherHead = try reKeyed { $0[$0.count - 2].hash }
        XCTAssertNil(failure(right), "control: the forgery with the right checkpoint verifies by itself")
        let wrong = failure(otherHead)
        XCTAssertEqual(wrong?.entry, all.count)
        XCTAssertTrue(wrong?.message.hasPrefix("the checkpoint in ") == true, "\(wrong.map { "\($0)" } ?? "verified")")
        // scripts/verify-transcript.py says the same of both.
        let dir = try Support.tempDir()
        try right.write(toFile: "\(dir)/right.jsonl", atomically: false, encoding: .utf8)
        try otherHead.write(toFile: "\(dir)/other-head.jsonl", atomically: false, encoding: .utf8)
        try Support.assertVerifiersAgree(["\(dir)/right.jsonl", "\(dir)/other-head.jsonl"])
    }

    /// The checkpoint: a C2SP signed note in the terminal entry; `ceremony checkpoint` prints
    /// it after verifying; its body is origin, size and head hash; its signature line is the
    /// ceremony key's (key ID = SHA-256 of the SPKI, first 4 bytes), checked here with the
    /// key from BEGIN. A changed note is refused.
    func testCheckpointIsASignedNoteOfTheHeadBeforeTheTerminalEntry() throws {
        let (path, _) = try TamperTests.transcript()
        let all = try entries()
        let printed = try Support.cli(["checkpoint", path])
        XCTAssertEqual(printed.status, 0, printed.err)
        let terminal = all.last!, head = all[all.count - 2]
        XCTAssertEqual(printed.out, terminal.payload[Checkpoint.field]?.stringValue)
        let origin = "triad-ceremony/\(terminal.ceremony)"
        let body = "\(origin)\n\(all.count - 1)\n\(Data(Hex.decode(head.hash)!).base64EncodedString())\n"
        XCTAssertTrue(printed.out.hasPrefix(body + "\n\u{2014} \(origin) "), printed.out)
        let key = try Seal.key(of: all[0]).get()
        let blob = Array(Data(base64Encoded: String(printed.out.split(separator: " ").last!.dropLast()))!)
        XCTAssertEqual(Array(blob.prefix(4)), Array(SHA256.hash(key.spkiDER).prefix(4)))
        XCTAssertTrue(key.verify(signature: Array(blob.dropFirst(4)), for: Array(body.utf8), scheme: .ecdsaSHA256))
        // A note for another size, or with its signature line changed, is refused.
        for bad in [printed.out.replacingOccurrences(of: "\n\(all.count - 1)\n", with: "\n\(all.count)\n"),
                    printed.out.replacingOccurrences(of: "\u{2014} ", with: "\u{2014} x")] {
            XCTAssertNotNil(Checkpoint.problem(note: bad, ceremony: terminal.ceremony, size: Int64(all.count - 1), headHash: head.hash, key: key))
        }
        // A transcript that does not verify gives no checkpoint.
        let dir = try Support.tempDir()
        try Transcript.lines(try String(contentsOfFile: path, encoding: .utf8)).dropLast().joined(separator: "\n")
            .write(toFile: "\(dir)/cut.jsonl", atomically: false, encoding: .utf8)
        let refused = try Support.cli(["checkpoint", "\(dir)/cut.jsonl"])
        XCTAssertEqual(refused.status, 1)
        XCTAssertEqual(refused.out, "")
    }
}
