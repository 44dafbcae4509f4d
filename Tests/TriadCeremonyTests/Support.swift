import Foundation
import XCTest
@testable import TriadCeremony
import TriadJournal
import TriadTestSupport

/// Paths and helpers shared by the ceremony tests.
enum Support {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var fixtures: URL { root.appendingPathComponent("Fixtures/ceremony") }
    static var ceremonies: URL { root.appendingPathComponent("Ceremonies") }
    static var testScript: String { ceremonies.appendingPathComponent("test-keyless.yaml").path }

    /// The `ceremony` executable next to the test bundle.
    static var binary: String { Products.ceremony }

    static func tempDir(_ name: String = #function) throws -> String {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("triad-ceremony-tests/\(name.filter { $0.isLetter || $0.isNumber })-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.path
    }

    /// The registry of the shipped tool plus the test key actions.
    static var registry: ActionRegistry {
        var r = ActionRegistry.standard
        for a in TestKeyActions.all { r.register(a) }
        return r
    }

    /// Answers that complete `test-keyless.yaml`, as YAML lines; tests override keys.
    static func keylessAnswers(_ overrides: [String: String] = [:], drop: Set<String> = []) -> String {
        var a: [(String, String)] = [
            ("roll-call.administrator.name", "Alice Adler"), ("roll-call.administrator.id", "A-100"),
            ("roll-call.witness.name", "Wanda Witt"), ("roll-call.witness.id", "W-200"),
            ("roll-call.it.name", "Ivan Ito"), ("roll-call.it.id", "I-300"),
            ("roll-call.management.name", "Maria Moser"), ("roll-call.management.id", "M-400"),
            ("roll-call.medical.name", "Mehmet Demir"), ("roll-call.medical.id", "D-500"),
            ("roll-call.confirm.witness", "yes"), ("environment.confirm.witness", "yes"),
            ("script-check.answer", "yes"), ("script-check.confirm.administrator", "yes"),
            ("bag-serial.value", "BAG-2026-0042"), ("bag-serial.confirm.witness", "yes"),
            ("seal-check.answer", "yes"), ("seal-check.confirm.witness", "yes"),
            ("midpoint-anchor.confirm.witness", "yes"),
            ("ticket.value", "INC-4711"), ("ticket.confirm.witness", "yes"),
            ("nothing-left.answer", "yes"), ("nothing-left.confirm.witness", "yes"),
            ("witness-sign-off.answer", "yes"), ("witness-sign-off.confirm.administrator", "yes"),
        ]
        a = a.filter { !drop.contains($0.0) && overrides[$0.0] == nil }
        a += overrides.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        return a.map { "\($0.0): \(quote($0.1))" }.joined(separator: "\n") + "\n"
    }

    static func quote(_ v: String) -> String {
        if v.hasPrefix("[") { return v }
        return "\"" + v.replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    static let keylessParameters: [String: ParameterValue] = ["bag_serial": "BAG-2026-0042", "ticket": "INC-4711"]

    /// Runs a script in-process with answers; returns the result or the error, and the dir.
    @discardableResult
    static func run(script: CeremonyScript, answers: String, dir: String, parameters: [String: ParameterValue]? = nil,
                    practice: Bool = false, skipLint: Bool = false, pinFD: Int32? = nil, ceremonyID: String? = nil,
                    journal: Journal? = nil, configure: ((Engine) -> Void)? = nil) throws -> (Result<RunResult, Error>, Journal) {
        let answersPath = "\(dir)/answers-\(UUID().uuidString.prefix(6)).yaml"
        try answers.write(toFile: answersPath, atomically: true, encoding: .utf8)
        let db = try journal ?? Journal(path: "\(dir)/journal.db", busyTimeout: 0.5)
        var options = RunOptions(outputDirectory: "\(dir)/out")
        options.parameters = parameters ?? (script.name == "test-keyless" ? keylessParameters : [:])
        options.practice = practice
        options.skipLint = skipLint
        options.registry = registry
        options.pinFD = pinFD
        options.ceremonyID = ceremonyID
        let quiet = FileHandle(forWritingAtPath: "/dev/null")!
        let engine = Engine(script: script, journal: db, prompter: try AnswersPrompter(path: answersPath, output: quiet), options: options)
        configure?(engine)
        let result = Result { try engine.run() }
        // Every transcript a test makes goes through both verifiers (docs/ceremony.md §8).
        let made = ((try? FileManager.default.contentsOfDirectory(atPath: "\(dir)/out")) ?? []).filter { $0.hasSuffix(".jsonl") }
        try assertVerifiersAgree(made.map { "\(dir)/out/\($0)" })
        return (result, db)
    }

    /// scripts/verify-transcript.py, the second verifier written from docs/ceremony.md.
    static var secondVerifier: String { root.appendingPathComponent("scripts/verify-transcript.py").path }

    /// Runs the second verifier once over `paths` and requires, for each, the exit status
    /// and first bad entry of the tool's verifier without the script replay (the part of
    /// docs/ceremony.md §8 both implement); a transcript the full verifier accepts must be
    /// accepted by both with the same status.
    static func assertVerifiersAgree(_ paths: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        guard !paths.isEmpty else { return }
        let r = try Command("/usr/bin/env", ["python3", secondVerifier, "--each"] + paths).run()
        XCTAssertEqual(r.status, 0, r.err, file: file, line: line)
        let verdicts = r.out.split(separator: "\n").map { $0.split(separator: " ", maxSplits: 2).map(String.init) }
        XCTAssertEqual(verdicts.count, paths.count, r.out, file: file, line: line)
        for v in verdicts where v.count == 3 {
            let text = String(decoding: FileManager.default.contents(atPath: v[2]) ?? Data(), as: UTF8.self)
            let swift: (String, String)
            switch Verifier.verifyWithoutReplay(transcript: text) {
            case .success(let terminal): swift = (terminal == EventType.closed ? "0" : "3", "0")
            case .failure(let f): swift = ("1", String(f.entry))
            }
            XCTAssertTrue(swift == (v[0], v[1]), "\(v[2]): python says status \(v[0]) entry \(v[1]), ceremony verify \(swift.0) entry \(swift.1)",
                          file: file, line: line)
            if case .success(let full) = Verifier.verify(transcript: text, registry: registry) {
                XCTAssertEqual(v[0], full.terminal == EventType.closed ? "0" : "3", v[2], file: file, line: line)
            }
        }
    }

    static func keylessScript() throws -> CeremonyScript { try ScriptLoader.load(path: testScript) }

    /// Runs Fixtures/ceremony/factor-test.yaml to CLOSED: blob, card and PIN (123456 on a
    /// --pin-fd pipe) presented by three people, then combined.
    static func runFactorTest(configure: ((Engine) -> Void)? = nil) throws -> (Result<RunResult, Error>, Journal) {
        let script = try ScriptLoader.load(path: fixtures.appendingPathComponent("factor-test.yaml").path)
        let answers = """
            roll-call: { admin: {name: A, id: "1"}, witness: {name: W, id: "2"}, it: {name: I, id: "3"}, mgmt: {name: M, id: "4"}, med: {name: D, id: "5"} }
            blob.confirm.witness: "yes"
            card.confirm.witness: "yes"
            pin.confirm.witness: "yes"
            unlock.confirm.witness: "yes"
            """
        let pipe = Pipe()
        pipe.fileHandleForWriting.write(Data("123456\n".utf8))
        try pipe.fileHandleForWriting.close()
        return try run(script: script, answers: answers, dir: try tempDir("factor-test"), pinFD: pipe.fileHandleForReading.fileDescriptor,
                       configure: configure)
    }

    /// Runs test-keyless at a pseudo-terminal, typing `steps`; then `ceremony verify` on the one
    /// transcript it wrote (status 0 CLOSED, 3 ABORTED, 1 invalid).
    static func terminalRun(_ steps: [[String]], dir: String, _ arguments: [String])
        throws -> (run: PseudoTerminal.Outcome, verify: (status: Int32, out: String, err: String)) {
        let run = try PseudoTerminal(steps).run(binary, ["run", testScript, "--journal", "\(dir)/journal.db", "--output", "\(dir)/out"] + arguments,
                                                folder: dir)
        let path = try FileManager.default.contentsOfDirectory(atPath: "\(dir)/out").first { $0.hasSuffix(".jsonl") } ?? "none.jsonl"
        return (run, try cli(["verify", "\(dir)/out/\(path)"]))
    }

    /// The SHA-256 a production run of test-keyless is pinned to.
    static var keylessSHA256: String { (try? keylessScript().sha256) ?? "" }

    /// Runs the `ceremony` binary; returns exit status, stdout, stderr.
    @discardableResult
    static func cli(_ arguments: [String], cwd: String? = nil, stdin: String? = nil) throws -> (status: Int32, out: String, err: String) {
        var command = Command(binary, arguments, stdin: Data((stdin ?? "").utf8))
        command.directory = cwd
        let r = try command.run()
        return (r.status, r.out, r.err)
    }
}

extension Result {
    var failure: Failure? { if case .failure(let e) = self { return e }; return nil }
    var value: Success? { if case .success(let v) = self { return v }; return nil }
}
