import ArgumentParser
import TriadCLI

/// `zone`: encrypted folders with a mandatory recovery slot (docs/zone.md §5).
struct ZoneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zone",
        abstract: "Encrypt shared folders (zones) for their members, with every file also wrapped for the recovery certificate.",
        discussion: """
        Identities: file:PATH (a PEM private key) or piv:[READER] (slot 9D of a PIV card).
        Trust: --trust FILE, TRIAD_TRUST or /etc/triad/trust; without one the zone's officer \
        is pinned on first use in $XDG_STATE_HOME/triad. See docs/zone.md.
        """,
        subcommands: [Init.self, Grant.self, Revoke.self, Recovery.self, Encrypt.self, Decrypt.self, Cat.self, Status.self, Rekey.self, Mount.self, Unmount.self, Mounts.self, Unlock.self])
}

/// Runs `zone` in the shell all three commands share (exit codes: README "Exit status").
@main
enum Main {
    static func main() { CommandShell.main(ZoneCommand.self) }
}
