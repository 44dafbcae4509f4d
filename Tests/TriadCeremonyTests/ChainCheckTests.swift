import Foundation
import XCTest
@testable import TriadCeremony
import TriadJournal

/// Which chain check refuses (docs/ceremony.md §8 items 1 and 2). TamperTests edits bytes
/// without recomputing anything, so the entry hash refuses almost every case first and the
/// link, `seq` and terminal checks behind it are never the ones that speak. Here each forgery
/// recomputes what the earlier checks look at, so that exactly one check is the first to
/// fail, and the test asserts that check's own failure: the entry number and the message.
/// Both verifiers are asked: the full one (`Verifier.verify`) and the one without the script
/// replay (`verifyWithoutReplay`, the part the second verifier implements), because the
/// replay and the ceremony-key signatures would otherwise refuse some of these forgeries
/// later, under another name.
final class ChainCheckTests: XCTestCase {
    func entries() throws -> [JournalEntry] {
        try TamperTests.transcript().lines.map { try JournalEntry(parsing: CanonicalValue.parse($0)) }
    }

    /// The first failure of both verifiers; they must agree.
    func failure(_ entries: [JournalEntry], file: StaticString = #filePath, line: UInt = #line) -> VerifyFailure? {
        let text = Transcript.text(entries)
        let full = Verifier.verify(transcript: text, registry: Support.registry).failure
        let chainOnly = Verifier.verifyWithoutReplay(transcript: text).failure
        XCTAssertEqual(full, chainOnly, "the verifier with and without the replay disagree", file: file, line: line)
        return full
    }

    /// `entry` with its `hash` recomputed, so the entry-hash check passes.
    static func rehashed(_ entry: JournalEntry) -> JournalEntry {
        var e = entry
        e.hash = e.computedHash
        return e
    }

    /// Positive control for every forgery below: the genuine transcript passes both
    /// verifiers, and the unsigned entries the forgeries edit are where the tests expect.
    func testGenuineTranscriptVerifiesWithAndWithoutTheReplay() throws {
        let all = try entries()
        XCTAssertNil(failure(all))
        XCTAssertEqual(try Verifier.verify(transcript: Transcript.text(all), registry: Support.registry).get().terminal, EventType.closed)
        XCTAssertEqual(try Verifier.verifyWithoutReplay(transcript: Transcript.text(all)).get(), EventType.closed)
        let environment = try XCTUnwrap(all.firstIndex { $0.payload["kind"]?.stringValue == "environment" })
        XCTAssertFalse(Seal.isSealed(all[environment].event))
        XCTAssertFalse(Seal.isSealed(all[environment + 1].event))
    }

    // MARK: - prev_hash (§8 item 1: "`prev_hash` equal to the previous entry's hash")

    /// The machine recorded in the environment RECORD rewritten and that entry's hash
    /// recomputed, the next entry left as the ceremony wrote it. Every entry is then well
    /// formed and hashes correctly, the seq numbers run on, and no signed entry changed:
    /// the only thing wrong is that the next entry's `prev_hash` names the old hash. The
    /// link check must refuse that next entry; without it this forgery would verify, since
    /// the replay does not compare host names and the signatures and checkpoint cover only
    /// ACT_END and the terminal entry (docs/ceremony.md §7).
    func testRewrittenEntryWithItsHashRecomputedBreaksTheLinkToTheNext() throws {
        var all = try entries()
        let i = try XCTUnwrap(all.firstIndex { $0.payload["kind"]?.stringValue == "environment" })
        var payload = try XCTUnwrap(all[i].payload.objectValue)
        XCTAssertNotEqual(payload["host"], .string("forged-host"))
        payload["host"] = .string("forged-host")
        all[i].payload = .object(payload)
        all[i] = Self.rehashed(all[i])
        // Entry i + 1 (1-based) is the edited one and hashes correctly; entry i + 2 links to
        // the hash the edited entry had before.
        XCTAssertEqual(failure(all), VerifyFailure(entry: i + 2, message: "prev_hash is not the hash of entry \(i + 1): the chain is broken here"))
    }

    /// An entry pointing past its predecessor (its `prev_hash` set to the hash of the entry
    /// two back, its own hash recomputed): refused at that entry, by the link check.
    func testEntryLinkedPastItsPredecessorIsRefusedWhereTheLinkBreaks() throws {
        var all = try entries()
        let i = try XCTUnwrap(all.firstIndex { $0.payload["kind"]?.stringValue == "environment" })
        all[i].prevHash = all[i - 2].hash
        all[i] = Self.rehashed(all[i])
        XCTAssertEqual(failure(all), VerifyFailure(entry: i + 1, message: "prev_hash is not the hash of entry \(i): the chain is broken here"))
    }

    // MARK: - seq (§8 item 1: "`seq` equal to its line number")

    /// An entry removed and the chain re-linked over the gap, every later entry keeping the
    /// `seq` it was written with (hashes and `prev_hash` recomputed). Hash and link checks
    /// pass; the entry now on the removed one's line carries the next number, and the seq
    /// check must say so there. (Without it the forgery is refused only later, by the
    /// replay or by the first ACT_END signature, at another entry and for another reason.)
    func testRemovedEntryWithTheChainRelinkedIsRefusedBySeqAtTheGap() throws {
        let genuine = try entries()
        let removed = try XCTUnwrap(genuine.firstIndex { $0.payload["kind"]?.stringValue == "environment" })
        var forged = genuine
        forged.remove(at: removed)
        for j in removed..<forged.count {
            forged[j].prevHash = forged[j - 1].hash
            forged[j] = Self.rehashed(forged[j])
        }
        XCTAssertEqual(forged[removed].seq, Int64(removed + 2))
        XCTAssertEqual(failure(forged), VerifyFailure(
            entry: removed + 1, message: "seq is \(removed + 2) but this is entry \(removed + 1): an entry was removed, inserted or moved before here"))
    }

    /// The transcript as an engine holding its own ceremony key would write it: BEGIN names a
    /// fresh key, every entry links to the one before, and every ACT_END and the terminal
    /// entry (with its checkpoint) is signed again (`CeremonyKey.seal`, docs/ceremony.md §7).
    /// Each entry keeps the `seq` it is given.
    static func resigned(_ entries: [JournalEntry]) throws -> [JournalEntry] {
        let key = try CeremonyKey()
        var out: [JournalEntry] = []
        for var e in entries {
            var members = e.payload.objectValue ?? [:]
            if e.event == EventType.begin { members[Seal.keyField] = Seal.keyMember(key.publicKey) }
            members[Seal.signatureField] = nil
            members[Checkpoint.field] = nil
            e.payload = .object(members)
            e.prevHash = out.last?.hash ?? ChainHash.genesis
            if Seal.isSealed(e.event) { e.payload = try key.seal(e) }
            out.append(rehashed(e))
        }
        return out
    }

    /// The same removal, by whoever held the ceremony key before it was dropped (an engine
    /// that skipped a number, or an operator rewriting the journal mid-ceremony): chain,
    /// signatures and checkpoint all consistent, the replay content with the environment
    /// RECORD gone. `seq` is the only check left that sees the gap. Control: the same
    /// re-signing with nothing removed verifies, under the new key.
    func testRemovedEntryInATranscriptSignedByItsOwnKeyIsRefusedBySeq() throws {
        let genuine = try entries()
        let control = try Self.resigned(genuine)
        XCTAssertNil(failure(control))
        XCTAssertNotEqual(try Verifier.verify(transcript: Transcript.text(control), registry: Support.registry).get().ceremonyKeySHA256,
                          try Verifier.verify(transcript: Transcript.text(genuine), registry: Support.registry).get().ceremonyKeySHA256)

        let removed = try XCTUnwrap(genuine.firstIndex { $0.payload["kind"]?.stringValue == "environment" })
        var cut = genuine
        cut.remove(at: removed)
        XCTAssertEqual(failure(try Self.resigned(cut)), VerifyFailure(
            entry: removed + 1, message: "seq is \(removed + 2) but this is entry \(removed + 1): an entry was removed, inserted or moved before here"))
    }

    /// One entry renumbered with its hash recomputed: refused at that entry by the seq check
    /// (the next entry's broken link comes after it), for both a number ahead and behind.
    func testRenumberedEntryIsRefusedBySeqAtThatEntry() throws {
        let genuine = try entries()
        let i = try XCTUnwrap(genuine.firstIndex { $0.payload["kind"]?.stringValue == "environment" })
        for seq in [genuine[i].seq + 1, genuine[i].seq - 1, 1_000] {
            var forged = genuine
            forged[i].seq = seq
            forged[i] = Self.rehashed(forged[i])
            XCTAssertEqual(failure(forged), VerifyFailure(
                entry: i + 1, message: "seq is \(seq) but this is entry \(i + 1): an entry was removed, inserted or moved before here"))
        }
    }

    // MARK: - The terminal entry (§8 item 2: "a cut-off transcript fails at the missing entry")

    /// Every cut before the terminal entry: each line of a cut transcript is intact, so only
    /// the terminal check can name what is wrong — the missing entry, one past the last.
    /// Without it the verifier without the replay accepts a cut transcript outright (no
    /// signed entry is missing from it before the cut), and the full verifier refuses it only
    /// as a script step missing.
    func testEveryCutBeforeTheTerminalEntryFailsAtTheMissingEntry() throws {
        let all = try entries()
        XCTAssertTrue(all.last!.isTerminal)
        for kept in 1..<all.count {
            XCTAssertEqual(failure(Array(all.prefix(kept))), VerifyFailure(
                entry: kept + 1, message: "missing: the transcript ends after entry \(kept) without a CLOSED or ABORTED entry (cut off?)"),
                "cut after entry \(kept)")
        }
    }
}
