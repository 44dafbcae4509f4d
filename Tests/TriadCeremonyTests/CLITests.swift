import Foundation
import XCTest
@testable import TriadCeremony
import TriadJournal
import TriadCrypto
import TriadTestSupport

final class CLITests: XCTestCase {
    let parameters = ["--set", "bag_serial=BAG-2026-0042", "--set", "ticket=INC-4711", "--script-sha256", Support.keylessSHA256]

    /// The interactive run in a real terminal: a pseudo-terminal driven like a person at
    /// the keyboard (python3's pty), with the real `ceremony` binary reading the tty.
    func testInteractiveRunInAPseudoTerminal() throws {
        let dir = try Support.tempDir()
        let go = "[Enter] run this step"
        let yes = "(yes/no)"
        var steps: [[String]] = [[go, ""]]
        for (title, name, id) in [("Ceremony Administrator", "Alice Adler", "A-100"), ("Internal Witness", "Wanda Witt", "W-200"),
                                  ("IT custodian", "Ivan Ito", "I-300"), ("Management custodian", "Maria Moser", "M-400"),
                                  ("Medical custodian", "Mehmet Demir", "D-500")] {
            steps += [["\(title) [", name], ["staff or badge number", id]]
        }
        steps += [
            ["to correct its name or number", ""], ["confirm step roll-call", "maybe"], ["Please answer yes or no", "yes"],
            [go, ""], ["confirm step environment", "yes"],
            [go, ""], ["script words on screen", "yes"], ["confirm step script-check", "y"],
            [go, ""], ["Serial number on the bag", "BAG-2026-0042"], ["confirm step bag-serial", "yes"],
            [go, "pause"], ["Reason for the break", "coffee"], ["Type resume", "resume"],
            ["Alice Adler (A-100) (Ceremony Administrator) back", "yes"], ["staff or badge number again", "A-100"],
            ["Wanda Witt", "yes"], ["staff or badge number again", "W-200"], ["Ivan Ito", "yes"], ["staff or badge number again", "I-300"],
            ["Maria Moser", "yes"], ["staff or badge number again", "M-400"], ["Mehmet Demir", "yes"], ["staff or badge number again", "D-500"],
            [go, ""], ["Is the seal of the bag intact?", "yes"], ["confirm step seal-check", "yes"],
            [go, ""], ["confirm step midpoint-anchor", "yes"],
            [go, ""], ["Ticket number", "INC-4711"], ["confirm step ticket", "yes"],
            [go, ""], ["no paper, card or medium", "yes"], ["confirm step nothing-left", "yes"],
            [go, ""], ["Did you observe every step", "yes"], ["confirm step witness-sign-off", "yes"],
        ]
        let run = try PseudoTerminal(steps).run(Support.binary, ["run", Support.testScript, "--journal", "\(dir)/journal.db",
                                                                 "--output", "\(dir)/out"] + parameters, folder: dir)
        let screen = run.screen
        XCTAssertEqual(run.status, 0, run.description)
        for shown in ["ACT 1 of 3: Opening and roll call", "Step 4 of 9 · Materials · bag-serial", "Acting:     IT custodian — Ivan Ito (I-300)",
                      "Read aloud: IT custodian:", "Confirms:   Internal Witness — Wanda Witt (W-200)", "WRITE DOWN (end of act 1)",
                      "Script SHA-256: \(try Support.keylessScript().sha256)", "PAUSED", "CLOSED"] {
            XCTAssertTrue(screen.contains(shown), "the terminal did not show: \(shown)")
        }
        let transcripts = try FileManager.default.contentsOfDirectory(atPath: "\(dir)/out").filter { $0.hasSuffix(".jsonl") }
        XCTAssertEqual(transcripts.count, 1)
        let path = "\(dir)/out/\(transcripts[0])"
        let first = try JournalEntry(parsing: CanonicalValue.parse(Transcript.lines(String(contentsOfFile: path, encoding: .utf8))[0]))
        XCTAssertEqual(first.payload["mode"], "interactive")
        XCTAssertNil(first.payload["answers_sha256"])
        let verify = try Support.cli(["verify", path])
        XCTAssertEqual(verify.status, 0, verify.err)
        XCTAssertTrue(try String(contentsOfFile: path, encoding: .utf8).contains("\"event\":\"PAUSE\""))
    }

    /// Ctrl-C at a prompt asks before it acts; a second Ctrl-C ends the ceremony ABORTED with
    /// the reason, and its transcript verifies as a complete, aborted ceremony.
    func testCtrlCAsksAndASecondCtrlCAborts() throws {
        let dir = try Support.tempDir()
        let steps = [["[Enter] run this step", ""], ["Ceremony Administrator [", "Alice Adler"], ["staff or badge number", "^C"],
                     ["Ctrl-C: nothing has been done", "^C"]]
        let (run, verify) = try Support.terminalRun(steps, dir: dir, parameters)
        XCTAssertEqual(run.status, 1, run.description)
        XCTAssertTrue(run.screen.contains("CEREMONY ABORTED: interrupted"), run.description)
        XCTAssertEqual(verify.status, 3, verify.err)   // verified, but ABORTED (docs/ceremony.md §8)
        XCTAssertTrue(verify.out.contains("ended ABORTED: interrupted"), verify.out)
    }

    /// A Ctrl-C answered with Enter changes nothing: the question comes back and the ceremony
    /// goes on to the end.
    func testCtrlCThenEnterGoesOn() throws {
        let dir = try Support.tempDir()
        var steps = [["[Enter] run this step", ""], ["Ceremony Administrator [", "^C"], ["Ctrl-C: nothing has been done", ""],
                     ["Ceremony Administrator [", "Alice Adler"], ["staff or badge number", "A-100"]]
        for (title, name, id) in [("Internal Witness", "Wanda Witt", "W-200"), ("IT custodian", "Ivan Ito", "I-300"),
                                  ("Management custodian", "Maria Moser", "M-400"), ("Medical custodian", "Mehmet Demir", "D-500")] {
            steps += [["\(title) [", name], ["staff or badge number", id]]
        }
        steps += [["to correct its name or number", ""], ["confirm step roll-call", "yes"], ["[Enter] run this step", "abort"], ["Reason for aborting", "test over"]]
        let run = try PseudoTerminal(steps).run(Support.binary, ["run", Support.testScript, "--journal", "\(dir)/journal.db",
                                                                 "--output", "\(dir)/out"] + parameters, folder: dir)
        XCTAssertEqual(run.status, 1, run.description)
        XCTAssertTrue(run.screen.contains("Going on."), run.description)
        XCTAssertTrue(run.screen.contains("CEREMONY ABORTED: aborted by the participants: test over"), run.description)
    }

    /// The unattended run through the binary, then verify with the words it printed.
    func testUnattendedRunThroughTheBinaryAndVerifyWithItsAnchors() throws {
        let dir = try Support.tempDir()
        try Support.keylessAnswers().write(toFile: "\(dir)/answers.yaml", atomically: true, encoding: .utf8)
        let run = try Support.cli(["run", Support.testScript, "--journal", "\(dir)/j.db", "--answers", "\(dir)/answers.yaml",
                                   "--output", "\(dir)/out", "--practice"] + parameters)
        XCTAssertEqual(run.status, 0, run.err)
        XCTAssertTrue(run.out.contains("PRACTICE RUN"))
        var anchors: [String] = []
        let lines = run.out.components(separatedBy: "\n")
        for (i, line) in lines.enumerated() where line.contains("WRITE DOWN") {
            let seq = line.components(separatedBy: "journal entry ").last!
            anchors.append("\(seq): \(lines[i + 1].replacingOccurrences(of: "·", with: " "))")
        }
        XCTAssertEqual(anchors.count, 5)
        let path = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: "\(dir)/out").first { $0.hasSuffix(".jsonl") })
        XCTAssertTrue(path.hasPrefix("PRACTICE-test-keyless-"))
        let verify = try Support.cli(["verify", "\(dir)/out/\(path)", "--script", "test-keyless",
                                      "--scripts", Support.ceremonies.path] + anchors.flatMap { ["--anchor", $0] })
        XCTAssertEqual(verify.status, 0, verify.err)
        XCTAssertEqual(verify.out.components(separatedBy: "words match").count - 1, 5)
        // The environment fingerprint: BEGIN and the record-environment step name the binary
        // that ran by its own SHA-256, the host and the kernel, as a person would find them.
        let ceremonyBinary = try XCTUnwrap(FileManager.default.contents(atPath: Support.binary))
        let binarySHA256 = Hex.encode(SHA256.hash(Array(ceremonyBinary)))
        let recorded = try Transcript.lines(try String(contentsOfFile: "\(dir)/out/\(path)", encoding: .utf8)).map { try JournalEntry(parsing: CanonicalValue.parse($0)) }
        let begin = try XCTUnwrap(recorded.first)
        XCTAssertEqual(begin.payload["tool"]?.objectValue?["sha256"]?.stringValue, binarySHA256, "BEGIN names the binary that ran")
        let environment = try XCTUnwrap(recorded.first { $0.event == .record && $0.payload["kind"]?.stringValue == "environment" }, "the environment is recorded")
        let facts = try XCTUnwrap(environment.payload["data"]?.objectValue ?? environment.payload.objectValue)
        XCTAssertEqual(facts["tool_sha256"]?.stringValue, binarySHA256)
        var names = utsname()
        uname(&names)
        let kernel = withUnsafeBytes(of: names.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        XCTAssertEqual(facts["kernel"]?.stringValue?.contains(kernel), true, "\(facts)")
        XCTAssertEqual(facts["host"]?.stringValue, ProcessInfo.processInfo.hostName, "\(facts)")
        XCTAssertNotNil(facts["usb_devices"]?.arrayValue)
        let log = try Support.cli(["log", "--journal", "\(dir)/j.db"])
        XCTAssertTrue(log.out.contains("PRACTICE-test-keyless-") && log.out.contains("CLOSED"), log.out)
        let id = String(path.dropLast(".jsonl".count))
        let entries = try Support.cli(["log", "--journal", "\(dir)/j.db", "--ceremony", id])
        XCTAssertEqual(entries.out.split(separator: "\n").count, Transcript.lines(try String(contentsOfFile: "\(dir)/out/\(path)", encoding: .utf8)).count)
        // Outputs are never overwritten.
        let again = try Support.cli(["export", "--journal", "\(dir)/j.db", "--ceremony", id, "--output", "\(dir)/out"])
        XCTAssertEqual(again.status, 1)
        XCTAssertTrue(again.err.contains("never overwritten"), again.err)
    }

    func testRefusalsAndErrorsExitOneWithOneLine() throws {
        let dir = try Support.tempDir()
        try Support.keylessAnswers(["roll-call.medical.name": "Ivan Ito", "roll-call.medical.id": "I-300"])
            .write(toFile: "\(dir)/a.yaml", atomically: true, encoding: .utf8)
        let run = try Support.cli(["run", Support.testScript, "--journal", "\(dir)/j.db", "--answers", "\(dir)/a.yaml"] + parameters)
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(run.err.contains("step roll-call refused") && run.err.contains("one person, one role"), run.err)
        XCTAssertEqual(run.err.split(separator: "\n").count, 1, run.err)
        let pinned = try Support.cli(["run", Support.testScript, "--journal", "\(dir)/j.db", "--answers", "\(dir)/a.yaml",
                                      "--set", "bag_serial=BAG-2026-0042", "--script-sha256", String(repeating: "0", count: 64)])
        XCTAssertEqual(pinned.status, 1)
        XCTAssertTrue(pinned.err.contains("not the approved"), pinned.err)
        let missing = try Support.cli(["run", Support.testScript, "--journal", "\(dir)/j.db", "--answers", "\(dir)/a.yaml",
                                       "--script-sha256", Support.keylessSHA256])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.err.contains("--set bag_serial=VALUE"), missing.err)
        let unknown = try Support.cli(["run", Support.testScript, "--journal", "\(dir)/j.db", "--answers", "\(dir)/a.yaml",
                                       "--set", "bag_serial=B", "--set", "colour=red", "--script-sha256", Support.keylessSHA256])
        XCTAssertTrue(unknown.err.contains("parameter colour: the script declares no parameter of that name; drop --set colour="), unknown.err)
        let noCeremony = try Support.cli(["log", "--journal", "\(dir)/j.db", "--ceremony", "nope"])
        XCTAssertEqual(noCeremony.status, 1)
        XCTAssertTrue(noCeremony.err.contains("no ceremony nope in this journal; `ceremony log --journal DB` lists"), noCeremony.err)
        let notFound = try Support.cli(["verify", "\(dir)/nothing.jsonl"])
        XCTAssertEqual(notFound.status, 1)
    }

    /// Library errors carry values; only the `ceremony` command names its options, added
    /// after the sentence (`CeremonyCommand.hint(for:)`).
    func testLibraryErrorsNameNoOption() {
        let errors: [CustomStringConvertible] = [
            CeremonyError.parameterMissing(name: "p"), CeremonyError.parameterUnknown(name: "p"), CeremonyError.noSecretInput,
            CeremonyError.cannotLog(ceremony: "c", journal: "j.db", step: "s", reason: "disk full"),
            CeremonyError.secretEmpty(source: "PIN descriptor 3"), JournalError.unknownCeremony(ceremony: "c"),
            TranscriptError.cannotWrite(path: "t.jsonl", reason: "exists"),
        ]
        for e in errors { XCTAssertFalse(e.description.contains("--"), e.description) }
    }

    func testUsageErrorsExitTwoAndHelpWorks() throws {
        XCTAssertEqual(try Support.cli(["run"]).status, 2)
        XCTAssertEqual(try Support.cli(["verify"]).status, 2)
        XCTAssertEqual(try Support.cli(["show", Support.testScript, "--format", "pdf"]).status, 2)
        XCTAssertEqual(try Support.cli(["run", Support.testScript, "--journal", "/tmp/x.db", "--set", "novalue"]).status, 2)
        let help = try Support.cli(["--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.out.contains("verify"))
        XCTAssertEqual(try Support.cli(["run", "--help"]).status, 0)
    }

    /// `ceremony list` and `ceremony show` for every shipped script, in both formats: every
    /// role, every step id and the text read aloud are on the page, with places to initial.
    func testListAndShowEveryShippedScript() throws {
        let list = try Support.cli(["list", "--scripts", Support.ceremonies.path])
        XCTAssertEqual(list.status, 0)
        for path in ScriptLoader.scriptPaths(in: Support.ceremonies.path) {
            let script = try ScriptLoader.load(path: path)
            XCTAssertTrue(list.out.contains(script.name))
            for format in ["markdown", "html"] {
                let show = try Support.cli(["show", path, "--format", format])
                XCTAssertEqual(show.status, 0, show.err)
                XCTAssertGreaterThan(show.out.count, 400)
                for role in script.roles { XCTAssertTrue(show.out.contains(role.title), "\(format): \(role.title)") }
                for (_, step) in script.allSteps { XCTAssertTrue(show.out.contains(step.id), "\(format): \(step.id)") }
                XCTAssertTrue(show.out.contains("Initials"))
                XCTAssertTrue(show.out.contains("Exception sheet"))
                XCTAssertTrue(show.out.contains(script.sha256))
                XCTAssertEqual(show.out.components(separatedBy: "End of act").count - 1, script.acts.count)
            }
        }
    }

    /// `--dry-run` prints every step with the `--set` values substituted and touches nothing.
    func testDryRunPrintsEveryStepAndWritesNothing() throws {
        let dir = try Support.tempDir()
        let run = try Support.cli(["run", Support.testScript, "--dry-run", "--set", "bag_serial=BAG-9", "--output", "\(dir)/out"], cwd: dir)
        XCTAssertEqual(run.status, 0, run.err)
        for (_, step) in try Support.keylessScript().allSteps { XCTAssertTrue(run.out.contains("· \(step.id)"), step.id) }
        XCTAssertTrue(run.out.contains("expect = \"BAG-9\""), run.out)
        XCTAssertTrue(run.out.contains("Runs only if: step bag-serial completed"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [])
        let missing = try Support.cli(["run", Support.testScript, "--dry-run"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.err.contains("--set bag_serial=VALUE"), missing.err)
    }
}
