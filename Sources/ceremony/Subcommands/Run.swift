import ArgumentParser
import Foundation
import TriadCeremony
import TriadJournal

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a ceremony, journaling every event.",
        discussion: """
        Interactive on the terminal by default; --answers FILE runs it unattended (the transcript says so).
        The transcript (JSON Lines) and a one-page summary are written to --output (default: the journal's folder).
        """)
    @Argument(help: "A script file, or a script name from Ceremonies/.") var script: String
    @Option(help: "The journal database (SQLite); created if missing.") var journal: String?
    @Flag(name: .customLong("dry-run"), help: "Print every step as the run would show it; journal nothing, ask nothing.") var dryRun = false
    @Option(name: .customLong("set"), help: "A script parameter, KEY=VALUE (repeatable).") var settings: [String] = []
    @Option(help: "Answers for an unattended run (YAML).") var answers: String?
    @Option(name: .customLong("pin-fd"), help: "Read PINs from this file descriptor instead of the terminal.") var pinFD: Int32?
    @Flag(help: "A practice run: marked in the journal and in every output name.") var practice = false
    @Option(help: "Folder for the transcript and summary.") var output: String?
    @Option(name: .customLong("script-sha256"), help: "The approved script's SHA-256; refuse any other script.") var scriptSHA256: String?
    @Option(name: .customLong("journal-timeout"), help: "Seconds an append waits for a locked journal before the ceremony stops.")
    var journalTimeout: Double = 5
    @OptionGroup var scripts: ScriptsOption

    func validate() throws {
        if journal == nil && !dryRun { throw ValidationError("--journal DB is needed (or --dry-run)") }
        for s in settings where !s.contains("=") || s.hasPrefix("=") { throw ValidationError("--set needs KEY=VALUE, not '\(s)'") }
    }

    func run() throws {
        let s = try scripts.load(script)
        var parameters: [String: String] = [:]
        for setting in settings {
            let parts = setting.split(separator: "=", maxSplits: 1).map(String.init)
            parameters[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        if dryRun {
            print(try DryRun.text(s, parameters: parameters), terminator: "")
            return
        }
        guard let journal else { throw ValidationError("--journal DB is needed") }
        var options = RunOptions(outputDirectory: output ?? (URL(fileURLWithPath: journal).deletingLastPathComponent().path))
        options.parameters = parameters
        options.practice = practice
        options.pinFD = pinFD
        options.expectedScriptSHA256 = scriptSHA256
        let prompter: Prompter = try answers.map { try AnswersPrompter(path: $0) } ?? TerminalPrompter()
        let db = try Journal(path: journal, busyTimeout: journalTimeout)
        Interruption.install()
        let result = try Engine(script: s, journal: db, prompter: prompter, options: options).run()
        print("Ceremony \(result.ceremonyID) \(result.closed ? "CLOSED" : "ABORTED").")
    }
}
