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
        subcommands: [List.self, Show.self, Lint.self, Run.self, Verify.self, Log.self, Export.self, AbortCommand.self])
}

/// A refusal or failure: one line on stderr, exit 1 (docs/ceremony.md §1).
struct Failure: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

@main
enum Main {
    static func main() {
        for failure in ProcessHardening.disableCoreDumps() {
            FileHandle.standardError.write(Data("ceremony: warning: core dumps stay possible: \(failure)\n".utf8))
        }
        do {
            var command = try CeremonyCommand.parseAsRoot()
            try command.run()
        } catch let failure as Failure {
            FileHandle.standardError.write(Data("ceremony: \(failure.message)\n".utf8))
            exit(1)
        } catch let error as CeremonyError {
            FileHandle.standardError.write(Data("ceremony: \(error)\n".utf8))
            exit(1)
        } catch let error as JournalError {
            FileHandle.standardError.write(Data("ceremony: \(error)\n".utf8))
            exit(1)
        } catch let error as ScriptError {
            FileHandle.standardError.write(Data("ceremony: \(error)\n".utf8))
            exit(1)
        } catch let error as TranscriptError {
            FileHandle.standardError.write(Data("ceremony: \(error)\n".utf8))
            exit(1)
        } catch {
            let code = CeremonyCommand.exitCode(for: error)
            if code == .success || error is CleanExit {
                CeremonyCommand.exit(withError: error)
            }
            FileHandle.standardError.write(Data((CeremonyCommand.fullMessage(for: error) + "\n").utf8))
            exit(code == .validationFailure ? 2 : 1)
        }
    }
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
