import Foundation
import XCTest
@testable import TriadCeremony
import TriadJournal

/// Which chain check refuses (docs/ceremony.md §8 items 1 and 2), on forgeries that no other
/// check refuses at all. TamperTests edits bytes without recomputing anything, so the entry
/// hash speaks first; StrictVerifierTests.testEachChainCheckOnItsOwn recomputes hashes, but
/// its forgeries would still be caught later (by an ACT_END signature or the replay) if the
/// check under test were gone. Here each forgery is consistent in everything but the one
/// property the check looks at, so without that check it would verify, and the test asserts
/// that check's own failure: the entry number and the message. Both verifiers are asked —
/// the full one (`Verifier.verify`) and the one without the script replay
/// (`verifyWithoutReplay`, the part scripts/verify-transcript.py implements) — and must agree.
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

    // MARK: - seq (§8 item 1: "`seq` equal to its line number")

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

    /// The environment RECORD removed and the transcript written again, every entry keeping
    /// its `seq`, by whoever holds the ceremony key (an engine that skipped a number, or an
    /// operator rewriting the journal before the key was dropped): hashes, links, signatures
    /// and checkpoint all consistent, and the replay does not miss that RECORD. `seq` is the
    /// only check that sees the gap, at the line of the removed entry. Control: the same
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
