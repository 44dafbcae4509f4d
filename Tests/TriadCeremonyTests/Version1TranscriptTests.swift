import Foundation
import XCTest
@testable import TriadCeremony
import TriadJournal

/// Transcripts made before list arguments were YAML lists (docs/ceremony.md §8, "the
/// version-1 reading"): Fixtures/ceremony/transcripts holds real ones, made by the tool of
/// then; each must still verify, with both verifiers and in the summary, although today's
/// lint refuses the script it embeds.
final class Version1TranscriptTests: XCTestCase {
    static var transcripts: [String] {
        let dir = Support.fixtures.appendingPathComponent("transcripts").path
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.filter { $0.hasSuffix(".jsonl") }.sorted().map { dir + "/" + $0 }
    }

    func entries(_ path: String) throws -> [JournalEntry] {
        try Transcript.lines(String(contentsOfFile: path, encoding: .utf8)).map { try JournalEntry(parsing: CanonicalValue.parse($0)) }
    }

    /// Every old transcript verifies CLOSED, read as version 1 exactly when its script needs
    /// it; today's lint refuses that script (so a new run of it is refused) and passes it
    /// read as version 1; the second verifier agrees; the summary has no warning and reads
    /// the drill's RECORDs through their types.
    func testEveryOldTranscriptVerifiesReadAsVersion1() throws {
        XCTAssertFalse(Self.transcripts.isEmpty, "no transcript in Fixtures/ceremony/transcripts")
        for path in Self.transcripts {
            let name = (path as NSString).lastPathComponent
            let text = try String(contentsOfFile: path, encoding: .utf8)
            switch Verifier.verify(transcript: text) {
            case .success(let r):
                XCTAssertEqual(r.terminal, .closed, name)
                XCTAssertEqual(r.readAsVersion1, name.hasPrefix("version1-"), name)
            case .failure(let f):
                XCTFail("\(name): \(f)")
            }
            let all = try entries(path)
            let script = try ScriptLoader.parse(try BeginPayload(all[0]).script.text, origin: name)
            if name.hasPrefix("version1-") {
                XCTAssertTrue(Lint.check(script).contains { $0.contains("must be list of text") }, name)
                XCTAssertEqual(Lint.check(script, registry: .standard, reading: .version1), [], name)
            }
            let summary = Summary.text(all, transcriptName: name)
            XCTAssertFalse(summary.contains("WARNING"), summary)
            if script.name == "quarterly-drill" {
                XCTAssertTrue(summary.contains("drill report: PASS"), summary)
                XCTAssertTrue(summary.contains("PIN accepted by the card: tries left before 3"), summary)
            }
        }
        try Support.assertVerifiersAgree(Self.transcripts)
    }

    /// `ceremony verify` accepts the old drill and says how it read the script.
    func testCeremonyVerifySaysItReadTheScriptAsVersion1() throws {
        let path = try XCTUnwrap(Self.transcripts.first { $0.hasSuffix("version1-quarterly-drill.jsonl") })
        let r = try Support.cli(["verify", path])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("script read as version 1"), r.out)
    }

    /// The version-1 reading splits a text as the tool of then did: at spaces, tabs and line
    /// breaks, with quotes or a backslash keeping a space inside a path.
    func testVersion1SplitsATextAsTheToolOfThenDid() {
        let cases: [(String, [String])] = [
            ("", []),
            ("   ", []),
            ("/srv/zones/ward-3", ["/srv/zones/ward-3"]),
            ("/srv/a /srv/b", ["/srv/a", "/srv/b"]),
            ("  /srv/a\t/srv/b\n", ["/srv/a", "/srv/b"]),
            ("\"/srv/zones/Radiology Reports\" /srv/lab", ["/srv/zones/Radiology Reports", "/srv/lab"]),
            ("'/srv/zones/Radiology Reports'", ["/srv/zones/Radiology Reports"]),
            ("/srv/zones/Radiology\\ Reports /srv/lab", ["/srv/zones/Radiology Reports", "/srv/lab"]),
            ("/srv/\"Cardiology A\"/2026", ["/srv/Cardiology A/2026"]),
            ("'it''s'", ["its"]),
            ("\"a \\\"quoted\\\" name\"", ["a \"quoted\" name"]),
            ("'/srv/unclosed quote", ["/srv/unclosed quote"]),
        ]
        for (text, expected) in cases {
            XCTAssertEqual(ArgumentReading.split(text), expected, text)
        }
        let specs = RecordEvidenceAction.parameters
        XCTAssertEqual(ArgumentReading.version1.values(["paths": "/srv/a '/srv/b c'"], specs: specs)["paths"], ["/srv/a", "/srv/b c"])
        XCTAssertEqual(ArgumentReading.current.values(["paths": "/srv/a /srv/b"], specs: specs)["paths"], "/srv/a /srv/b")
    }

    /// Only a text where a list is now required is forgiven: lint still refuses the script
    /// today, and with the version-1 reading it still reports every other problem.
    func testTheVersion1ReadingForgivesATextListAndNothingElse() throws {
        let old = try PathListTests.script(files: "{ description: evidence files, required: true }")
        XCTAssertFalse(Lint.check(old).isEmpty)
        XCTAssertEqual(Lint.check(old, registry: .standard, reading: .version1), [])
        let unknown = try PathListTests.script(with: "{ paths: \"${files}\", colour: red }", files: "{ description: evidence files, required: true }")
        XCTAssertTrue(Lint.check(unknown, registry: .standard, reading: .version1).contains { $0.contains("takes no argument 'colour'") })
    }
}
