import Foundation
import TriadCrypto
import TriadJournal
import TriadRecovery

/// The offline verifier behind `ceremony verify` (docs/ceremony.md §8).
///
/// Deterministic and offline: it needs only the transcript (the BEGIN entry carries the
/// script) and, optionally, a pinned script and the words written down in the room. It
/// checks, in this order, and stops at the first bad entry, naming it:
/// 1. each line: JSON, the ten fields, its hash, canonical bytes, `seq`, `prev_hash`,
///    ceremony id, time order, event name (`JournalEntry(parsing:)` refuses an unknown one);
/// 2. exactly one terminal entry, last (a cut-off transcript fails at the missing entry);
/// 3. conformance of the events to the script (`Conformance`);
/// 4. the ceremony key's signature on every ACT_END and on the terminal entry, and the
///    terminal entry's checkpoint (`SealCheck`); then the recovery card's signature at each
///    card identification (`CardAuthCheck`);
/// 5. every anchor given against the entry it names.
/// A transcript that passes still has its exceptions and disagreements listed.
public enum Verifier {
    /// Verifies a transcript's text: chain, conformance to its embedded (or `pinnedScript`) script, and each anchor in `anchors`.
    /// With `records`, every card signature must come from a card and 9E certificate one of
    /// them lists, issued as it records, and no card it gives a 9E key may say `not-enrolled`.
    /// With `trust` (`--trust`), every participant's certificate must be issued by one of them.
    public static func verify(transcript text: String, pinnedScript: CeremonyScript? = nil, anchors: [String] = [],
                              records: [EnrolmentRecord] = [], trust: [Certificate]? = nil,
                              registry: ActionRegistry = .standard) -> Result<VerifyReport, VerifyFailure> {
        do {
            let entries = try checkChain(Transcript.lines(text))
            var report = try Conformance.check(entries, pinnedScript: pinnedScript, registry: registry)
            try SealCheck.check(entries)
            report.cardSignatures = try CardAuthCheck.check(entries, records: records)
            report.attestations = try AttestationCheck.check(entries)
            try AttestationCheck.checkScript(entries, script: try ScriptCache.parse((try? BeginPayload(entries[0]))?.script.text ?? "",
                                                                                     sha256: report.scriptSHA256))
            if let trust { report.trusted = try AttestationCheck.checkTrust(entries, anchors: trust) }
            report.ceremonyKeySHA256 = (try? Seal.key(of: entries[0]).get()).map { Hex.encode(SHA256.hash($0.spkiDER)).lowercased() } ?? ""
            for anchor in anchors { report.anchorsChecked.append(try checkAnchor(anchor, entries)) }
            return .success(report)
        } catch let failure as VerifyFailure {
            return .failure(failure)
        } catch {
            return .failure(VerifyFailure(entry: 1, message: "\(error)"))
        }
    }

    /// Everything but the replay of the script (steps 1, 2, 4, 5): what a verifier that
    /// knows the transcript format but not the actions can check — the share of
    /// docs/ceremony.md §8 that scripts/verify-transcript.py implements. Returns the
    /// terminal event.
    static func verifyWithoutReplay(transcript text: String, anchors: [String] = [], records: [EnrolmentRecord] = []) -> Result<EventType, VerifyFailure> {
        do {
            let entries = try checkChain(Transcript.lines(text))
            try SealCheck.check(entries)
            _ = try CardAuthCheck.check(entries, records: records)
            _ = try AttestationCheck.check(entries)
            for anchor in anchors { _ = try checkAnchor(anchor, entries) }
            return .success(entries.last!.event)
        } catch let failure as VerifyFailure {
            return .failure(failure)
        } catch {
            return .failure(VerifyFailure(entry: 1, message: "\(error)"))
        }
    }

    /// Step 1 and 2: the chain of every line and the terminal entry.
    static func checkChain(_ lines: [String]) throws -> [JournalEntry] {
        guard !lines.isEmpty else { throw VerifyFailure(entry: 1, message: "missing: the transcript is empty") }
        var entries: [JournalEntry] = []
        var previous: JournalEntry?
        for (index, line) in lines.enumerated() {
            let n = index + 1
            func fail(_ m: String) -> VerifyFailure { VerifyFailure(entry: n, message: m) }
            let value: CanonicalValue
            do { value = try CanonicalValue.parse(line) } catch { throw fail("not a JSON object with whole numbers only (\(error))") }
            let entry: JournalEntry
            do { entry = try JournalEntry(parsing: value) } catch { throw fail("\(error)") }
            if entry.hash != entry.computedHash { throw fail("its hash does not match its contents: the entry was changed") }
            if entry.line != line { throw fail("not in canonical form (the line was re-encoded or edited)") }
            if entry.seq != Int64(n) {
                throw fail("seq is \(entry.seq) but this is entry \(n): an entry was removed, inserted or moved before here")
            }
            if let p = previous {
                if p.isTerminal { throw fail("follows the terminal \(p.event) entry: nothing may come after it") }
                if entry.prevHash != p.hash { throw fail("prev_hash is not the hash of entry \(n - 1): the chain is broken here") }
                if entry.ceremony != p.ceremony { throw fail("belongs to ceremony \(entry.ceremony), not \(p.ceremony)") }
                if entry.time < p.time { throw fail("time \(entry.time) is earlier than entry \(n - 1)'s \(p.time)") }
                if entry.event == EventType.begin { throw fail("a second BEGIN entry") }
            } else {
                if entry.prevHash != ChainHash.genesis { throw fail("the first entry's prev_hash must be \(ChainHash.genesis)") }
                if entry.event != EventType.begin { throw fail("the first entry must be BEGIN, not \(entry.event)") }
            }
            if !JournalTime.isWellFormed(entry.time) { throw fail("time '\(entry.time)' is not a UTC time like 2026-01-31T12:00:00.000Z") }
            entries.append(entry)
            previous = entry
        }
        if let last = entries.last, !last.isTerminal {
            throw VerifyFailure(entry: entries.count + 1,
                                message: "missing: the transcript ends after entry \(entries.count) without a CLOSED or ABORTED entry (cut off?)")
        }
        return entries
    }

    /// Step 4: `SEQ: word word …` (or the words alone, matched against every act boundary
    /// and the terminal entry). At least `AnchorWords.minimumWordsChecked` words.
    static func checkAnchor(_ anchor: String, _ entries: [JournalEntry]) throws -> String {
        var seq: Int64?
        var wordsPart = Substring(anchor)
        if let colon = anchor.firstIndex(of: ":") {
            guard let s = Int64(anchor[..<colon].trimmingCharacters(in: .whitespaces)) else {
                throw VerifyFailure(entry: 1, message: "anchor '\(anchor)': write it as 'SEQ: word word …'")
            }
            seq = s
            wordsPart = anchor[anchor.index(after: colon)...]
        }
        let words = wordsPart.split(whereSeparator: { $0.isWhitespace || $0 == "·" }).map(String.init)
        guard words.count >= AnchorWords.minimumWordsChecked else {
            throw VerifyFailure(entry: Int(seq ?? 1), message: "anchor '\(anchor)' has \(words.count) words; give at least \(AnchorWords.minimumWordsChecked)")
        }
        func matches(_ e: JournalEntry) -> Int? {
            let expected = AnchorWords.anchor(hexHash: e.hash)
            guard words.count <= expected.count else { return 0 }
            for (i, w) in words.enumerated() where w.lowercased() != expected[i].lowercased() { return i }
            return nil
        }
        if let seq {
            guard seq >= 1, seq <= Int64(entries.count) else {
                throw VerifyFailure(entry: Int(seq), message: "missing: the anchor names entry \(seq) but the transcript has \(entries.count) entries")
            }
            let e = entries[Int(seq) - 1]
            if let bad = matches(e) {
                let expected = AnchorWords.anchor(hexHash: e.hash)
                let has = bad < expected.count ? expected[bad] : "nothing"
                throw VerifyFailure(entry: Int(seq), message: "the written-down anchor differs at word \(bad + 1): '\(words[bad])' on paper, '\(has)' in the transcript")
            }
            return "entry \(seq): \(words.count) words match"
        }
        let boundaries = entries.filter { $0.event == EventType.actEnd || $0.isTerminal }
        if let hit = boundaries.first(where: { matches($0) == nil }) { return "entry \(hit.seq): \(words.count) words match" }
        throw VerifyFailure(entry: entries.count, message: "the anchor '\(words.joined(separator: " "))' matches no act boundary or terminal entry of this transcript")
    }
}

/// The first bad entry and why.
public struct VerifyFailure: Error, Equatable, CustomStringConvertible {
    /// 1-based entry number (= line number); one past the end for a missing entry.
    public var entry: Int
    /// What is wrong with that entry.
    public var message: String
    /// `entry N: message`, as `ceremony verify` prints it.
    public var description: String { "entry \(entry): \(message)" }
}

/// What a transcript that verifies says.
public struct VerifyReport: Equatable {
    /// The ceremony id from entry 1.
    public var ceremonyID = ""
    /// The script's name from BEGIN.
    public var scriptName = ""
    /// The script's version from BEGIN.
    public var scriptVersion = 0
    /// The script's SHA-256 from BEGIN, to compare with the approved one.
    public var scriptSHA256 = ""
    /// True for a practice run.
    public var practice = false
    /// Who answered: people at the terminal or an answers file.
    public var mode = PrompterMode.interactive
    /// How many entries verified.
    public var entries = 0
    /// CLOSED or ABORTED (a report exists only for a transcript with its terminal entry).
    public var terminal = EventType.aborted
    /// The reason of an ABORTED ceremony.
    public var terminalReason = ""
    /// The time of entry 1.
    public var started = ""
    /// The time of the terminal entry.
    public var ended = ""
    /// Everyone admitted in a roll call, with their role.
    public var participants: [String] = []
    /// Every exception record, for the auditor to read.
    public var exceptions: [String] = []
    /// Every confirmation answered no, with its reason.
    public var disagreements: [String] = []
    /// The anchors given that matched.
    public var anchorsChecked: [String] = []
    /// SHA-256 of the ceremony key's SPKI: every act end and the terminal entry verified with it.
    public var ceremonyKeySHA256 = ""
    /// One line per recovery-card identification: its signature verified, or presence not proven.
    public var cardSignatures: [String] = []
    /// One line per participant who attested with their card (docs/ceremony.md §7 "Attestations").
    public var attestations: [String] = []
    /// With `--trust`: one line per participant certificate issued by a given CA; nil without it.
    public var trusted: [String]?
    /// True when the script passes lint only with a text read as a list, as the tool before
    /// list arguments read it: the replay read it that way (docs/ceremony.md §8).
    public var readAsVersion1 = false
}
