import ArgumentParser
import TriadCLI
import TriadTestSupport
import TriadZone
import XCTest

/// A root command whose run throws whatever the test puts in `ShellProbe.error`.
private struct ShellProbe: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "probe")
    nonisolated(unsafe) static var error: Error?

    @Option var count: Int = 0

    func validate() throws {
        if count < 0 { throw ValidationError("--count must not be negative") }
    }

    func run() throws {
        if let error = Self.error { throw error }
    }
}

/// The one command shell (README "Exit status", docs/ARCHITECTURE.md "The command shell"):
/// how each kind of error becomes an exit status and a line, in the library and through the
/// three real binaries.
final class CommandShellTests: XCTestCase {
    private func outcome(_ arguments: [String], throwing error: Error? = nil) -> CommandShell.Outcome {
        ShellProbe.error = error
        do {
            var command = try ShellProbe.parseAsRoot(arguments)
            try command.run()
            return .exit(code: 0)
        } catch let thrown {
            return CommandShell.outcome(ShellProbe.self, name: "probe", error: thrown, parsing: false)
        }
    }

    func testEachKindOfErrorHasItsExitStatus() {
        guard case .help(let text) = outcome(["--help"]) else { return XCTFail("help") }
        XCTAssertTrue(text.contains("USAGE") || text.contains("Usage") || text.contains("usage"), text)
        guard case .usage = outcome(["--count", "-1"]) else { return XCTFail("validation is a usage error") }
        XCTAssertEqual(outcome([], throwing: CLIError.usage(message: "give one zone")),
                       .failure(line: "probe: give one zone", code: 2))
        XCTAssertEqual(outcome([], throwing: ExitCode(3)), .exit(code: 3))
        XCTAssertEqual(outcome([], throwing: CommandFailure("no scripts in /x; pass --scripts DIR")),
                       .failure(line: "probe: no scripts in /x; pass --scripts DIR", code: 1))
    }

    /// The zone layer names values; the option that resolves the error is the CLI's to add.
    func testZoneErrorsGetTheirOptionFromTheCLI() {
        let last = ZoneError.lastRecoveryCertificate(zone: "/z")
        XCTAssertFalse(last.description.contains("--"), last.description)
        guard case let .failure(line, code) = outcome([], throwing: last) else { return XCTFail() }
        XCTAssertEqual(code, 1)
        XCTAssertTrue(line.hasPrefix("probe: the zone /z would pin no recovery certificate"), line)
        XCTAssertTrue(line.hasSuffix("--add-cert CERT does that"), line)

        let stranded = ZoneError.filesStillNeedRecoveryCertificate(zone: "/z", count: 2, example: "/z/a")
        XCTAssertFalse(stranded.description.contains("--"), stranded.description)
        XCTAssertTrue(ErrorReport.message(for: stranded).hasSuffix("; --force removes it anyway"))
    }

    /// The three binaries behave alike: help on stdout and 0, a usage error on stderr and 2, a
    /// failure as one line `name: …` on stderr and 1.
    func testTheThreeCommandsShareTheShell() throws {
        let failures: [String: [String]] = [
            "zone": ["cat", "/nonexistent/triad-shell-test", "--identity", "file:/nonexistent/key.pem"],
            "ceremony": ["log", "--journal", "/nonexistent/triad-shell-test.db"],
            "virtual-card": ["status", "--state", "/nonexistent/triad-shell-test.state"],
        ]
        for (name, failing) in failures {
            let help = try Command.product(name, ["--help"]).run()
            XCTAssertEqual(help.status, 0, "\(help)")
            XCTAssertTrue(help.out.lowercased().contains("usage"), "\(help)")
            XCTAssertEqual(help.err, "", "\(help)")

            let usage = try Command.product(name, ["frobnicate"]).run()
            XCTAssertEqual(usage.status, 2, "\(usage)")
            XCTAssertTrue(usage.err.lowercased().contains("usage"), "\(usage)")
            XCTAssertEqual(usage.out, "", "\(usage)")

            let failed = try Command.product(name, failing).run()
            XCTAssertEqual(failed.status, 1, "\(failed)")
            let lines = failed.err.split(separator: "\n").filter { !$0.contains("warning: core dumps") }
            XCTAssertEqual(lines.count, 1, "\(failed)")
            XCTAssertTrue(lines.first?.hasPrefix("\(name): ") ?? false, "\(failed)")
            XCTAssertEqual(failed.out, "", "\(failed)")
        }
    }
}
