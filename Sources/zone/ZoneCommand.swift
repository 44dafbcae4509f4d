#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import TriadCLI

/// `zone`: encrypted folders with a mandatory recovery slot (docs/zone.md §5).
@main
struct ZoneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zone",
        abstract: "Encrypt shared folders (zones) for their members, with every file also wrapped for the recovery certificate.",
        discussion: """
        Identities: file:PATH (a PEM private key) or piv:[READER] (slot 9D of a PIV card).
        Trust: --trust FILE, TRIAD_TRUST or /etc/triad/trust; without one the zone's officer \
        is pinned on first use in $XDG_STATE_HOME/triad. See docs/zone.md.
        """,
        subcommands: [Init.self, Grant.self, Revoke.self, Recovery.self, Encrypt.self, Decrypt.self, Cat.self, Status.self, Rekey.self, Mount.self, Unmount.self, Mounts.self])

    /// Exit codes (README "Exit status"): 0 success, 1 refused or failed (one line on stderr naming
    /// the file or step and what to do), 2 usage error.
    static func main() {
        for failure in ProcessHardening.disableCoreDumps() { printError("zone: warning: core dumps stay possible: \(failure)") }
        var command: ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Glibc.exit(0)
            }
            printError(fullMessage(for: error))
            Glibc.exit(2)
        }
        do {
            try command.run()
        } catch {
            // `--help` on a subcommand arrives here as a clean exit; parser and validation
            // errors keep ArgumentParser's message but exit 2; everything else is ours.
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Glibc.exit(0)
            }
            if code == .validationFailure {
                printError(fullMessage(for: error))
                Glibc.exit(2)
            }
            printError("zone: " + ErrorReport.message(for: error))
            Glibc.exit(ErrorReport.exitCode(for: error))
        }
    }
}
