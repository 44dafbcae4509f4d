import Foundation
import XCTest
import TriadJournal
@testable import TriadCeremony

/// List arguments and list parameters (docs/ceremony.md §2 "Parameters" and §"Actions",
/// "Arguments"): a list is a YAML sequence in the script, a `list: true` parameter collects
/// one `--set` per item, and lint and the engine decode a step's arguments the same way.
final class PathListTests: XCTestCase {
    /// A script whose evidence step takes its `paths` from `with`, and whose parameter
    /// `files` is declared by `files`.
    static func script(with: String = "{ paths: \"${files}\" }",
                       files: String = "{ description: evidence files, list: true, required: true }",
                       extra: String = "") throws -> CeremonyScript {
        try ScriptLoader.parse("""
            name: list-test
            version: 1
            title: List test
            purpose: list parameters reach an action as lists
            roles:
              admin: { title: Administrator }
              witness: { title: Witness, witness: true }
            parameters:
              files: \(files)
              label: { description: a label, default: "" }
            acts:
              - id: one
                title: One
                steps:
                  - { id: roll-call, role: admin, say: r, action: identify-participants, with: { roles: [admin, witness] } }
                  - { id: evidence, role: admin, say: e, action: record-evidence, with: \(with) }
            \(extra)
            """, origin: "list-test")
    }

    static let answers = "roll-call: { admin: {name: A, id: \"1\"}, witness: {name: W, id: \"2\"} }\n"

    func testAListParameterIsSubstitutedAsAListWholeOrSplicedIntoASequence() {
        let parameters: [String: ParameterValue] = ["files": ["/srv/a", "/srv/Radiology Reports"], "mode": "regrant"]
        let arguments = Substitution.arguments([
            "paths": "${files}", "more": ["${files}", "/srv/extra"], "mode": "${mode}", "text": "mode ${mode}",
        ], parameters).values
        XCTAssertEqual(arguments["paths"], ["/srv/a", "/srv/Radiology Reports"])
        XCTAssertEqual(arguments["more"], ["/srv/a", "/srv/Radiology Reports", "/srv/extra"])
        XCTAssertEqual(arguments["mode"], "regrant")
        XCTAssertEqual(arguments["text"], "mode regrant")
    }

    /// `--set files=A --set files=B` collects A and B; an empty value adds nothing; a scalar
    /// parameter set twice, an undeclared one, or a value of the wrong shape is refused.
    func testRepeatedSetCollectsAListAndAScalarTakesOneValue() throws {
        let s = try Self.script()
        XCTAssertEqual(try ParameterSettings.parse(["files=/srv/a", "files=/srv/Radiology Reports", "label=x=y"], for: s),
                       ["files": ["/srv/a", "/srv/Radiology Reports"], "label": "x=y"])
        XCTAssertEqual(try ParameterSettings.parse(["files="], for: s), ["files": .list([])])
        XCTAssertThrowsError(try ParameterSettings.parse(["label=a", "label=b"], for: s)) {
            XCTAssertEqual($0 as? CeremonyError, .parameterRepeated(name: "label"))
        }
        XCTAssertThrowsError(try ParameterSettings.parse(["colour=red"], for: s)) {
            XCTAssertEqual($0 as? CeremonyError, .parameterUnknown(name: "colour"))
        }
        XCTAssertThrowsError(try ParameterSettings.resolve(s, ["files": "/srv/a"])) {
            XCTAssertEqual($0 as? CeremonyError, .parameterShape(name: "files", list: true))
        }
        XCTAssertThrowsError(try ParameterSettings.resolve(s, ["files": ["/srv/a"], "label": ["x"]])) {
            XCTAssertEqual($0 as? CeremonyError, .parameterShape(name: "label", list: false))
        }
        XCTAssertEqual(try ParameterSettings.resolve(s, ["files": ["/srv/a"]]), ["files": ["/srv/a"], "label": ""])
    }

    /// A list given as a YAML sequence lints clean — literally, as a list parameter, or with a
    /// list parameter spliced into a sequence.
    func testAListArgumentGivenAsAYAMLListLintsClean() throws {
        XCTAssertEqual(Lint.check(try Self.script()), [])
        XCTAssertEqual(Lint.check(try Self.script(with: "{ paths: [/srv/a, \"/srv/Radiology Reports\"] }")), [])
        XCTAssertEqual(Lint.check(try Self.script(with: "{ paths: [\"${files}\", /srv/extra] }")), [])
    }

    /// Lint decodes each step's arguments as the engine will, and names the step, its line
    /// and the argument for a scalar where a list is needed, a list where a text is needed,
    /// a list parameter inside a text, and an unknown argument.
    func testLintRefusesAScalarForAListAListForATextAndAnUnknownArgument() throws {
        func problems(_ s: CeremonyScript) -> String { Lint.check(s).joined(separator: "\n") }
        let evidenceLine = try XCTUnwrap(try Self.script().allSteps.first { $0.step.id == "evidence" }?.step.line)
        let at = "step evidence (line \(evidenceLine)): "
        var p = problems(try Self.script(with: "{ paths: /srv/a }"))
        XCTAssertTrue(p.contains(at + "argument 'paths' must be list of text"), p)
        XCTAssertTrue(p.contains("not text"), p)
        p = problems(try Self.script(files: "{ description: one file, required: true }"))
        XCTAssertTrue(p.contains(at + "argument 'paths' must be list of text"), p)
        let confirm = "- { id: ask, role: admin, say: q, action: confirm, with: { question: %@ } }"
        let indent = String(repeating: " ", count: 6)
        p = problems(try Self.script(extra: indent + String(format: confirm, "\"${files}\"")))
        XCTAssertTrue(p.contains("step ask (line") && p.contains("argument 'question' must be text, not list"), p)
        p = problems(try Self.script(extra: indent + String(format: confirm, "[a, b]")))
        XCTAssertTrue(p.contains("step ask (line") && p.contains("argument 'question' must be text, not list"), p)
        p = problems(try Self.script(extra: indent + String(format: confirm, "\"look at ${files}\"")))
        XCTAssertTrue(p.contains("step ask (line") && p.contains("argument 'question': the list parameter ${files} must be the whole value"), p)
        p = problems(try Self.script(with: "{ paths: \"${files}\", colour: red }"))
        XCTAssertTrue(p.contains(at + "action record-evidence takes no argument 'colour'"), p)
    }

    /// The engine runs a list parameter through to the action: each path is one item, a
    /// space inside a name needs no quoting, BEGIN records the list, and the transcript
    /// verifies against the script (both verifiers, in `Support.run`).
    func testTheEngineHandsAListParameterToTheActionAsAList() throws {
        let dir = try Support.tempDir()
        let a = "\(dir)/a.txt", b = "\(dir)/Radiology Reports.txt"
        try "a".write(toFile: a, atomically: true, encoding: .utf8)
        try "b".write(toFile: b, atomically: true, encoding: .utf8)
        let (result, journal) = try Support.run(script: try Self.script(), answers: Self.answers, dir: dir, parameters: ["files": [a, b]])
        let run = try result.get()
        XCTAssertTrue(run.closed)
        let entries = try journal.entries(ceremony: run.ceremonyID)
        XCTAssertEqual(entries[0].payload["parameters"]?["files"], .array([.string(a), .string(b)]))
        let start = try XCTUnwrap(entries.first { $0.step == "evidence" && $0.event == EventType.stepStart })
        XCTAssertEqual(start.payload["arguments"]?["paths"], .array([.string(a), .string(b)]))
        let hashed = entries.filter { $0.step == "evidence" && $0.event == EventType.record }.compactMap { $0.payload["path"]?.stringValue }
        XCTAssertEqual(hashed, [a, b])
        XCTAssertNoThrow(try Verifier.verify(transcript: Transcript.text(entries), pinnedScript: try Self.script(), registry: Support.registry).get())
    }

    /// With lint skipped, a scalar where the action needs a list does not reach the action:
    /// the engine refuses the step, naming it and the argument, and aborts; no crash.
    func testTheEngineRefusesABadArgumentWithLintSkipped() throws {
        let dir = try Support.tempDir()
        let script = try Self.script(with: "{ paths: /srv/a }")
        XCTAssertFalse(Lint.check(script).isEmpty)
        let (result, journal) = try Support.run(script: script, answers: Self.answers, dir: dir, parameters: ["files": ["/srv/a"]], skipLint: true)
        guard case .refused(let id, let step, let reason)? = result.failure as? CeremonyError else { return XCTFail("\(result)") }
        XCTAssertEqual(step, "evidence")
        XCTAssertTrue(reason.contains("argument 'paths' must be list of text"), reason)
        let entries = try journal.entries(ceremony: id)
        XCTAssertEqual(entries.suffix(2).map(\.event), [EventType.refused, EventType.aborted])
        XCTAssertFalse(entries.contains { $0.step == "evidence" && $0.event == EventType.stepStart })
    }

    /// Lint cannot know a `${NAME}` will be set empty; the engine refuses the required
    /// argument then, before the action runs, and the transcript verifies as ABORTED.
    func testTheEngineRefusesARequiredArgumentSubstitutedEmpty() throws {
        let dir = try Support.tempDir()
        let indent = String(repeating: " ", count: 6)
        let script = try Self.script(extra: indent + "- { id: value, role: admin, say: v, action: record-value, with: { name: \"${label}\" } }")
        XCTAssertEqual(Lint.check(script), [])
        let file = "\(dir)/a.txt"
        try "a".write(toFile: file, atomically: true, encoding: .utf8)
        let (result, journal) = try Support.run(script: script, answers: Self.answers, dir: dir, parameters: ["files": [file]])
        guard case .refused(let id, let step, let reason)? = result.failure as? CeremonyError else { return XCTFail("\(result)") }
        XCTAssertEqual(step, "value")
        XCTAssertTrue(reason.contains("argument 'name' of action record-value is empty"), reason)
        let entries = try journal.entries(ceremony: id)
        XCTAssertFalse(entries.contains { $0.step == "value" && $0.event == EventType.stepStart })
        let verdict = try Verifier.verify(transcript: Transcript.text(entries), pinnedScript: script, registry: Support.registry).get()
        XCTAssertEqual(verdict.terminal, EventType.aborted)
    }

    /// Through the binary: `--set files=A --set 'files=B C'` gives the list [A, B C], and the
    /// transcript verifies against the script.
    func testRepeatedSetOnTheCommandLineGivesAList() throws {
        let dir = try Support.tempDir()
        let a = "\(dir)/a.txt", b = "\(dir)/Radiology Reports.txt"
        try "a".write(toFile: a, atomically: true, encoding: .utf8)
        try "b".write(toFile: b, atomically: true, encoding: .utf8)
        try Self.script().source.write(toFile: "\(dir)/list-test.yaml", atomically: true, encoding: .utf8)
        try Self.answers.write(toFile: "\(dir)/answers.yaml", atomically: true, encoding: .utf8)
        let run = try Support.cli(["run", "\(dir)/list-test.yaml", "--journal", "\(dir)/j.db", "--answers", "\(dir)/answers.yaml",
                                   "--output", "\(dir)/out", "--practice", "--set", "files=\(a)", "--set", "files=\(b)"])
        XCTAssertEqual(run.status, 0, run.err)
        let path = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: "\(dir)/out").first { $0.hasSuffix(".jsonl") })
        let entries = try Transcript.lines(try String(contentsOfFile: "\(dir)/out/\(path)", encoding: .utf8))
            .map { try JournalEntry(parsing: CanonicalValue.parse($0)) }
        let done = try XCTUnwrap(entries.first { $0.step == "evidence" && $0.event == EventType.stepDone })
        XCTAssertEqual(done.payload["result"]?["files"], .array([.string(a), .string(b)]))
        let verify = try Support.cli(["verify", "\(dir)/out/\(path)", "--script", "\(dir)/list-test.yaml"])
        XCTAssertEqual(verify.status, 0, verify.err)
        let twice = try Support.cli(["run", "\(dir)/list-test.yaml", "--journal", "\(dir)/j.db", "--answers", "\(dir)/answers.yaml",
                                     "--practice", "--set", "files=\(a)", "--set", "label=x", "--set", "label=y"])
        XCTAssertEqual(twice.status, 1)
        XCTAssertTrue(twice.err.contains("parameter label was given more than once"), twice.err)
    }
}
