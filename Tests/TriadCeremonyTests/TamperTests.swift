import Foundation
import XCTest
@testable import TriadCeremony
import TriadJournal
import TriadTestSupport

/// Exhaustive tampering over a closed transcript of more than 30 entries: every field of
/// every entry edited, every entry deleted, duplicated, preceded by a forged entry, every
/// adjacent pair swapped, every truncation. Each must fail `ceremony verify` (exit 1) and
/// name the first bad entry. The same cases run through the library and the binary.
final class TamperTests: XCTestCase {
    nonisolated(unsafe) static var cached: (path: String, lines: [String])?

    /// A closed transcript with an exception and a retry in it, so every event kind the
    /// keyless script can produce is covered.
    static func transcript() throws -> (path: String, lines: [String]) {
        if let c = cached { return c }
        let answers = Support.keylessAnswers([
            "bag-serial.value": "[BAG-2026-0024, BAG-2026-0042]", "bag-serial.exception.choice": "retry",
            "bag-serial.exception.decision": "digits swapped; retype", "bag-serial.exception.witness": "yes",
        ])
        let r = try Support.run(script: try Support.keylessScript(), answers: answers, dir: try Support.tempDir("tamper")).0.get()
        let lines = Transcript.lines(try String(contentsOfFile: r.transcriptPath!, encoding: .utf8))
        cached = (r.transcriptPath!, lines)
        return cached!
    }

    struct Case { var name: String; var text: String; var expected: Int }

    static func entry(_ line: String) -> [String: CanonicalValue] { try! CanonicalValue.parse(line).objectValue! }

    static func encode(_ m: [String: CanonicalValue]) -> String { CanonicalValue.object(m).canonicalText }

    /// Every single-field edit of entry `i` (1-based), each keeping the rest byte-identical.
    static func fieldEdits(_ lines: [String], _ i: Int) -> [Case] {
        let e = entry(lines[i - 1])
        var cases: [Case] = []
        func add(_ name: String, _ change: (inout [String: CanonicalValue]) -> Void) {
            var m = e
            change(&m)
            var l = lines
            l[i - 1] = encode(m)
            if l[i - 1] != lines[i - 1] { cases.append(Case(name: "entry \(i): \(name)", text: l.joined(separator: "\n") + "\n", expected: i)) }
        }
        for field in ["act", "ceremony", "event", "role", "step", "time"] {
            let v = e[field]!.stringValue!
            add("\(field) + space") { $0[field] = .string(v + " ") }
            add("\(field) emptied or set") { $0[field] = .string(v.isEmpty ? "x" : "") }
            add("\(field) first letter changed") { $0[field] = .string(v.isEmpty ? "Y" : (v.first == "Q" ? "R" : "Q") + v.dropFirst()) }
        }
        for field in ["hash", "prev_hash"] {
            let v = e[field]!.stringValue!
            add("\(field) last digit flipped") { $0[field] = .string(String(v.dropLast()) + (v.last == "0" ? "1" : "0")) }
            add("\(field) upper case") { $0[field] = .string(v.uppercased() == v ? v + "0" : v.uppercased()) }
        }
        let seq = e["seq"]!.intValue!
        add("seq + 1") { $0["seq"] = .int(seq + 1) }
        add("seq - 1") { $0["seq"] = .int(seq - 1) }
        add("seq as text") { $0["seq"] = .string(String(seq)) }
        let payload = e["payload"]!.objectValue!
        add("payload: key added") { $0["payload"] = .object(payload.merging(["forged": 1]) { a, _ in a }) }
        for key in payload.keys.sorted() {
            add("payload.\(key) removed") { var p = payload; p[key] = nil; $0["payload"] = .object(p) }
            add("payload.\(key) changed") {
                var p = payload
                switch payload[key]! {
                case .string(let s): p[key] = .string(s + " ")
                case .int(let n): p[key] = .int(n + 1)
                case .bool(let b): p[key] = .bool(!b)
                default: p[key] = .string("replaced")
                }
                $0["payload"] = .object(p)
            }
        }
        add("field removed") { $0["role"] = nil }
        add("field added") { $0["extra"] = "x" }
        return cases
    }

    static func structuralCases(_ lines: [String]) -> [Case] {
        let n = lines.count
        func text(_ l: [String]) -> String { l.isEmpty ? "" : l.joined(separator: "\n") + "\n" }
        var cases: [Case] = []
        for i in 1...n {
            var d = lines; d.remove(at: i - 1)
            cases.append(Case(name: "delete entry \(i)", text: text(d), expected: i))
            cases.append(Case(name: "truncate to \(i - 1) entries", text: text(Array(lines.prefix(i - 1))), expected: i))
            var dup = lines; dup.insert(lines[i - 1], at: i)
            cases.append(Case(name: "duplicate entry \(i)", text: text(dup), expected: i + 1))
            let prev = try! JournalEntry(parsing: CanonicalValue.parse(lines[i - 1]))
            let forged = JournalEntry(ceremony: prev.ceremony, seq: Int64(i + 1), time: prev.time, act: prev.act, step: prev.step,
                                      role: prev.role, event: EventType.record, payload: ["kind": "note", "text": "forged"], prevHash: prev.hash)
            var ins = lines; ins.insert(forged.line, at: i)
            cases.append(Case(name: "forged entry inserted after \(i)", text: text(ins), expected: i < n ? i + 2 : n + 1))
            var spaced = lines
            spaced[i - 1] = lines[i - 1].replacingOccurrences(of: "\",\"", with: "\", \"")
            cases.append(Case(name: "entry \(i) re-encoded with spaces", text: text(spaced), expected: i))
            if i < n {
                var s = lines; s.swapAt(i - 1, i)
                cases.append(Case(name: "swap entries \(i) and \(i + 1)", text: text(s), expected: i))
            }
        }
        return cases
    }

    /// Every structural case, and for every entry one edit of each of its fields.
    static func binaryCases() throws -> [Case] {
        let lines = try transcript().lines
        var cases = structuralCases(lines)
        for i in 1...lines.count {
            var seen = Set<String>()
            for c in fieldEdits(lines, i) {
                let field = String(c.name.split(separator: ":")[1].split(separator: " ")[0])
                if seen.insert(field).inserted { cases.append(c) }
            }
        }
        return cases
    }

    static func allCases() throws -> [Case] {
        let lines = try transcript().lines
        return structuralCases(lines) + (1...lines.count).flatMap { fieldEdits(lines, $0) }
    }

    func testTranscriptIsLongEnoughAndIntact() throws {
        let (path, lines) = try Self.transcript()
        XCTAssertGreaterThanOrEqual(lines.count, 30)
        XCTAssertNoThrow(try Verifier.verify(transcript: lines.joined(separator: "\n") + "\n").get())
        let ok = try Support.cli(["verify", path])
        XCTAssertEqual(ok.status, 0, ok.err)
    }

    func testEveryTamperingFailsInTheLibraryNamingTheFirstBadEntry() throws {
        let cases = try Self.allCases()
        XCTAssertGreaterThan(cases.count, 1000)
        print("tamper cases checked in the library: \(cases.count) over \(try Self.transcript().lines.count) entries")
        for c in cases {
            switch Verifier.verify(transcript: c.text) {
            case .success: XCTFail("\(c.name): verified")
            case .failure(let f): XCTAssertEqual(f.entry, c.expected, "\(c.name): \(f)")
            }
        }
    }

    /// Through the binary: every structural case, and for every entry one edit of each of
    /// its fields (the library test above runs every variant of every field).
    func testEveryTamperingMakesTheBinaryExitOneNamingTheEntry() throws {
        let cases = try Self.binaryCases()
        XCTAssertGreaterThan(cases.count, 600)
        print("tamper cases run through the binary: \(cases.count)")
        let dir = try Support.tempDir()
        for (index, c) in cases.enumerated() {
            try c.text.write(toFile: "\(dir)/case-\(index).jsonl", atomically: false, encoding: .utf8)
        }
        // One shell runs the real binary on every file, three at a time, keeping each exit
        // status and stderr beside the file.
        var shell = Command("/bin/bash", ["-c", """
            cd "$1" && ls case-*.jsonl | xargs -P 3 -I{} sh -c '"$0" verify {} >/dev/null 2>{}.err; echo $? >{}.rc' "$2"
            """, "bash", dir, Support.binary])
        shell.timeout = 1800
        let result = try shell.run()
        XCTAssertEqual(result.status, 0, result.description)
        for (index, c) in cases.enumerated() {
            let rc = try String(contentsOfFile: "\(dir)/case-\(index).jsonl.rc", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let err = try String(contentsOfFile: "\(dir)/case-\(index).jsonl.err", encoding: .utf8)
            XCTAssertEqual(rc, "1", "\(c.name): exit \(rc)")
            XCTAssertTrue(err.contains("entry \(c.expected):"), "\(c.name): \(err)")
        }
    }

    // MARK: Forgeries with a recomputed chain: caught by conformance or by the anchors.

    /// Recomputes seq, prev_hash and hash; with `times`, entry i gets times[i], so a
    /// reordering keeps the time order and only conformance can catch it.
    static func rechain(_ entries: [JournalEntry], times: [String]? = nil) -> String {
        var out: [JournalEntry] = []
        for (i, e) in entries.enumerated() {
            out.append(JournalEntry(ceremony: e.ceremony, seq: Int64(i + 1), time: times?[i] ?? e.time, act: e.act, step: e.step, role: e.role,
                                    event: e.event, payload: e.payload, prevHash: out.last?.hash ?? ChainHash.genesis))
        }
        return Transcript.text(out)
    }

    func entries() throws -> [JournalEntry] {
        try Self.transcript().lines.map { try JournalEntry(parsing: CanonicalValue.parse($0)) }
    }

    func failure(_ text: String, pinned: CeremonyScript? = nil, anchors: [String] = []) -> VerifyFailure? {
        Verifier.verify(transcript: text, pinnedScript: pinned, anchors: anchors).failure
    }

    func testRechainedForgeriesFailConformance() throws {
        let all = try entries()
        // A confirmation removed: the step is done without its confirmation.
        let c = all.firstIndex { $0.event == EventType.confirm && $0.step == "seal-check" }!
        var e1 = all; e1.remove(at: c)
        XCTAssertEqual(failure(Self.rechain(e1))?.entry, c + 1)
        // A whole step removed: the next entry is not the step the script expects.
        let first = all.firstIndex { $0.step == "seal-check" }!, last = all.lastIndex { $0.step == "seal-check" }!
        var e2 = all; e2.removeSubrange(first...last)
        XCTAssertEqual(failure(Self.rechain(e2))?.entry, first + 1)
        XCTAssertTrue(failure(Self.rechain(e2))!.message.contains("seal-check"))
        // Two steps in the wrong order.
        let ticket = all.indices.filter { all[$0].step == "ticket" }, left = all.indices.filter { all[$0].step == "nothing-left" }
        var e3 = all
        let moved = Array(e3[left.first!...left.last!])
        e3.removeSubrange(left.first!...left.last!)
        e3.insert(contentsOf: moved, at: ticket.first!)
        XCTAssertEqual(failure(Self.rechain(e3))?.entry, ticket.first! + left.count + 1, "time order")
        XCTAssertEqual(failure(Self.rechain(e3, times: all.map(\.time)))?.entry, ticket.first! + 1)
        // One person made to fill two roles.
        let med = all.firstIndex { $0.event == EventType.record && $0.role == "medical" }!
        var e4 = all
        e4[med].payload = ["kind": "participant", "name": "Ivan Ito", "staff_id": "I-300"]
        XCTAssertEqual(failure(Self.rechain(e4))?.entry, med + 1)
        // An act boundary dropped.
        let actEnd = all.firstIndex { $0.event == EventType.actEnd }!
        var e5 = all; e5.remove(at: actEnd)
        XCTAssertEqual(failure(Self.rechain(e5))?.entry, actEnd + 1)
        // The embedded script edited (SHA-256 no longer matches), or swapped for another.
        var e6 = all
        var begin = e6[0].payload.objectValue!, script = begin["script"]!.objectValue!
        script["text"] = .string(script["text"]!.stringValue! + "# edited\n")
        begin["script"] = .object(script); e6[0].payload = .object(begin)
        XCTAssertEqual(failure(Self.rechain(e6))?.entry, 1)
        let pinned = try ScriptLoader.parse(try Support.keylessScript().source + "# another approved version\n", origin: "pinned")
        XCTAssertEqual(failure(Self.rechain(all), pinned: pinned)?.entry, 1)
        XCTAssertNil(failure(Self.rechain(all), pinned: try Support.keylessScript()))
    }

    /// Cutting the tail and appending a freshly chained ABORTED: the ABORTED entry lacks the
    /// ceremony key's signature, so it is refused with no words (SignatureTests has every
    /// cut); the anchor of the real CLOSED entry refuses it too.
    func testTruncatedAndReterminatedTranscriptIsCaughtByTheAnchor() throws {
        let all = try entries()
        var cut = Array(all.prefix(20))
        cut.append(JournalEntry(ceremony: all[0].ceremony, seq: 21, time: all[19].time, act: "", step: "", role: "",
                                event: EventType.aborted, payload: ["reason": "power cut", "at_step": ""], prevHash: all[19].hash))
        let forged = Self.rechain(cut)
        XCTAssertEqual(failure(forged)?.entry, 21)
        let closed = all.last!
        let anchor = "\(closed.seq): " + AnchorWords.anchor(hexHash: closed.hash).joined(separator: " ")
        // The forged terminal entry carries no ceremony-key signature (docs/ceremony.md §7), so it
        // is refused at entry 21 before any anchor is compared.
        XCTAssertEqual(failure(forged, anchors: [anchor])?.entry, 21)
        let boundary = all.first { $0.event == EventType.actEnd && $0.seq > 21 }!
        let words = AnchorWords.anchor(hexHash: boundary.hash).prefix(8).joined(separator: " ")
        XCTAssertNotNil(failure(forged, anchors: [words]))
    }

    func testAnchorWordsMustMatchWordForWord() throws {
        let all = try entries()
        let text = Transcript.text(all)
        for boundary in all where boundary.event == EventType.actEnd || boundary.isTerminal {
            let words = AnchorWords.anchor(hexHash: boundary.hash)
            XCTAssertNil(failure(text, anchors: ["\(boundary.seq): " + words.joined(separator: " ")]))
            XCTAssertNil(failure(text, anchors: [words.prefix(8).joined(separator: " ").uppercased()]))
            for position in words.indices {
                var wrong = words
                let list = position % 2 == 0 ? AnchorWords.evenList : AnchorWords.oddList
                let index = list.firstIndex(of: words[position])!
                wrong[position] = list[(index + 1) % 256]
                let f = failure(text, anchors: ["\(boundary.seq): " + wrong.joined(separator: " ")])
                XCTAssertEqual(f?.entry, Int(boundary.seq), "word \(position + 1)")
                XCTAssertTrue(f?.message.contains("word \(position + 1)") == true)
            }
        }
        XCTAssertNotNil(failure(text, anchors: ["\(all.count): " + AnchorWords.anchor(hexHash: all.last!.hash).prefix(5).joined(separator: " ")]))
        let (path, _) = try Self.transcript()
        var wrong = AnchorWords.anchor(hexHash: all.last!.hash)
        wrong[3] = wrong[3] == "Zulu" ? "aardvark" : "Zulu"
        let cli = try Support.cli(["verify", path, "--anchor", "\(all.count): " + wrong.joined(separator: " ")])
        XCTAssertEqual(cli.status, 1)
        XCTAssertTrue(cli.err.contains("entry \(all.count):"), cli.err)
    }
}
