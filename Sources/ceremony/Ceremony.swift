import ArgumentParser
import Foundation
import TriadCeremony
import TriadJournal
import TriadCLI

/// `ceremony`: run, show and verify scripted key ceremonies (docs/ceremony.md §1).
struct CeremonyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ceremony",
        abstract: "Scripted, role-checked ceremonies with a tamper-evident journal and an offline verifier.",
        discussion: "See docs/ceremony.md for the script format, the journal and how to verify a transcript.",
        subcommands: [List.self, Show.self, Lint.self, Run.self, Verify.self, CheckpointCommand.self, Log.self, Export.self, AbortCommand.self])
}

/// Runs `ceremony` in the shell all three commands share (docs/ceremony.md §1, README
/// "Exit status").
@main
enum Main {
    static func main() { CommandShell.main(CeremonyCommand.self) }
}

/// Where the scripts are: `--scripts DIR`, `$TRIAD_CEREMONIES`, `./Ceremonies`, or a
/// `Ceremonies` folder above the executable (a build tree).
struct ScriptsOption: ParsableArguments {
    @Option(name: .customLong("scripts"), help: "Folder of ceremony scripts (default: ./Ceremonies).")
    var directory: String?

    var resolved: String {
        if let directory { return directory }
        if let env = ProcessInfo.processInfo.environment["TRIAD_CEREMONIES"], !env.isEmpty { return env }
        if FileManager.default.fileExists(atPath: "Ceremonies") { return "Ceremonies" }
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            let candidate = url.appendingPathComponent("Ceremonies").path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
            url.deleteLastPathComponent()
        }
        return "Ceremonies"
    }

    func load(_ nameOrPath: String) throws -> CeremonyScript {
        try ScriptLoader.load(path: try ScriptLoader.resolve(nameOrPath, in: resolved))
    }
}
