import ArgumentParser
import Foundation
import TriadCLI
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
    @Option(name: .customLong("set"), help: "A script parameter, KEY=VALUE; repeat it to give a list parameter (list: true) several items.") var settings: [String] = []
    @Option(help: "Answers for an unattended run (YAML).") var answers: String?
    @Option(name: .customLong("pin-fd"), help: "Read PINs from this file descriptor instead of the terminal.") var pinFD: Int32?
    @Option(name: .customLong("attest-pin-fd"), help: """
        Read the PINs of the participants' own cards (roles with attest: card) from this file descriptor, \
        one line per signature in the order asked (default: as --pin-fd).
        """) var attestPinFD: Int32?
    @Flag(help: "A practice run: marked in the journal and in every output name.") var practice = false
    @Option(help: "Folder for the transcript and summary.") var output: String?
    @Option(name: .customLong("script-sha256"), help: "The approved script's SHA-256; refuse any other script.") var scriptSHA256: String?
    @Option(name: .customLong("approved"), help: """
        The organisation's list of approved script SHA-256 values (sha256sum format). Default:         $TRIAD_APPROVED_CEREMONIES, else /etc/triad/approved-ceremonies. A production run (not --practice)         needs --script-sha256 or its script in this list.
        """) var approved: String?
    @Option(name: .customLong("journal-timeout"), help: "Seconds an append waits for a locked journal before the ceremony stops.")
    var journalTimeout: Double = 5
    @OptionGroup var scripts: ScriptsOption

    func validate() throws {
        if journal == nil && !dryRun { throw ValidationError("--journal DB is needed (or --dry-run)") }
        for s in settings where !s.contains("=") || s.hasPrefix("=") { throw ValidationError("--set needs KEY=VALUE, not '\(s)'") }
    }

    /// A production run is pinned to an approved script (docs/ceremony.md §1 "Before the
    /// ceremony"): the hash given with --script-sha256, or one the organisation's list holds.
    func pinnedHash(_ s: CeremonyScript) throws -> String {
        if let scriptSHA256 { return scriptSHA256 }
        let env = ProcessInfo.processInfo.environment["TRIAD_APPROVED_CEREMONIES"].flatMap { $0.isEmpty ? nil : $0 }
        let list = approved ?? env ?? "/etc/triad/approved-ceremonies"
        guard let text = try? String(contentsOfFile: list, encoding: .utf8) else {
            throw CommandFailure("\(script): a production run needs the approved script's SHA-256 — give --script-sha256 HEX (printed on top of `ceremony show`) or list it in \(list) (sha256sum format, kept by the organisation); rehearse with --practice")
        }
        let hashes = text.split(separator: "\n").compactMap { $0.split(separator: " ").first.map { $0.lowercased() } }
        guard hashes.contains(s.sha256) else {
            throw CommandFailure("\(script) (SHA-256 \(s.sha256)) is not in the approved list \(list): have this version of the script approved, or run the approved one")
        }
        return s.sha256
    }

    func run() throws {
        let s = try scripts.load(script)
        let parameters = try ParameterSettings.parse(settings, for: s)
        if dryRun {
            let (text, problems) = try DryRun.run(s, parameters: parameters, readers: nil)
            print(text, terminator: "")
            if !problems.isEmpty {
                throw CommandFailure("dry run of \(script): not ready — \(problems.joined(separator: "; "))")
            }
            return
        }
        guard let journal else { throw ValidationError("--journal DB is needed") }
        var options = RunOptions(outputDirectory: output ?? (URL(fileURLWithPath: journal).deletingLastPathComponent().path))
        options.parameters = parameters
        options.practice = practice
        options.pinFD = pinFD
        options.attestationPinFD = attestPinFD
        options.expectedScriptSHA256 = try practice ? scriptSHA256 : pinnedHash(s)
        let prompter: Prompter = try answers.map { try AnswersPrompter(path: $0) } ?? TerminalPrompter()
        let db = try Journal(path: journal, busyTimeout: journalTimeout)
        Interruption.install()
        let result = try Engine(script: s, journal: db, prompter: prompter, options: options).run()
        print("Ceremony \(result.ceremonyID) \(result.closed ? "CLOSED" : "ABORTED").")
    }
}
