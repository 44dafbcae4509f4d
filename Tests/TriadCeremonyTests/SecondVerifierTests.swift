import Foundation
import XCTest
@testable import TriadCeremony
import TriadJournal
import TriadTestSupport

/// scripts/verify-transcript.py (Python, `cryptography`) was written from docs/ceremony.md
/// alone. Both verifiers judge every tampered, truncated, re-chained and re-signed
/// transcript the other tests make, and must agree on the exit status and the first bad
/// entry (the Python one does not replay the script; docs/ceremony.md §8).
final class SecondVerifierTests: XCTestCase {
    func write(_ texts: [String], _ name: String = #function) throws -> [String] {
        let dir = try Support.tempDir(name)
        return try texts.enumerated().map { i, t in
            let path = "\(dir)/t\(i).jsonl"
            try t.write(toFile: path, atomically: false, encoding: .utf8)
            return path
        }
    }

    /// The tamper corpus the binary runs: every deletion, swap, duplicate, insertion,
    /// truncation and re-encoding, and one edit of each field of each entry.
    func testBothVerifiersAgreeOnEveryTampering() throws {
        let cases = try TamperTests.binaryCases()
        let (path, _) = try TamperTests.transcript()
        try Support.assertVerifiersAgree([path] + (try write(cases.map(\.text))))
    }

    /// Re-chained forgeries: cut tails with forged terminals, edited entries, moved, removed
    /// and foreign signatures, a re-keyed whole transcript, and bytes that are not text.
    func testBothVerifiersAgreeOnRechainedForgeries() throws {
        let all = try TamperTests.transcript().lines.map { try JournalEntry(parsing: CanonicalValue.parse($0)) }
        var texts: [String] = []
        for cut in 1..<all.count {
            let last = all[cut - 1]
            for terminal in [EventType.closed, EventType.aborted] {
                var forged = Array(all.prefix(cut))
                forged.append(JournalEntry(ceremony: last.ceremony, seq: 0, time: last.time, act: "", step: "", role: "",
                                           event: terminal, payload: ["reason": "forged", "at_step": ""], prevHash: ""))
                texts.append(TamperTests.rechain(forged))
            }
            var edited = all
            var p = edited[cut].payload.objectValue!
            p["forged"] = true
            edited[cut].payload = .object(p)
            texts.append(TamperTests.rechain(edited))
        }
        texts.append("{\"not\":\"an entry\"}\n")
        texts.append("")
        texts.append(Transcript.text(all).replacingOccurrences(of: "\"seq\":5,", with: "\"seq\":5.0,"))
        texts.append(Transcript.text(all) + "\u{FEFF}")
        let paths = try write(texts)
        try Data([0xFF, 0xFE, 0x0A]).write(to: URL(fileURLWithPath: paths[0] + ".bin"))
        try Support.assertVerifiersAgree(paths + [paths[0] + ".bin"])
    }

    /// Through the command lines: the same exit status and NO PAPER ANCHOR wording, with and
    /// without the words.
    func testCommandLinesAgreeWithAndWithoutAnchors() throws {
        let (path, lines) = try TamperTests.transcript()
        let closed = try JournalEntry(parsing: CanonicalValue.parse(lines.last!))
        let good = "\(closed.seq): " + AnchorWords.anchor(hexHash: closed.hash).joined(separator: " ")
        var wrong = AnchorWords.anchor(hexHash: closed.hash)
        wrong[2] = wrong[2] == "Zulu" ? "aardvark" : "Zulu"
        for anchors in [[], ["--anchor", good], ["--anchor", "\(closed.seq): " + wrong.joined(separator: " ")]] {
            let swift = try Support.cli(["verify", path] + anchors)
            let python = try Command("/usr/bin/env", ["python3", Support.secondVerifier, path] + anchors).run()
            XCTAssertEqual(swift.status, python.status, "\(anchors): \(python.err)")
            XCTAssertEqual(swift.out.contains("NO PAPER ANCHOR COMPARED"), python.out.contains("NO PAPER ANCHOR COMPARED"))
            if swift.status == 1 { XCTAssertTrue(python.err.contains("entry \(closed.seq):"), python.err) }
        }
        XCTAssertEqual(try Command("/usr/bin/env", ["python3", Support.secondVerifier]).run().status, 2)
    }
}
