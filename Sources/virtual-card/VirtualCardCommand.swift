import ArgumentParser
import Foundation
import TriadCLI
import VirtualPIV

/// `virtual-card`: Triad's software PIV card, inserted into real pcscd through vsmartcard's
/// vpcd driver (docs/virtual-card.md).
struct VirtualCardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "virtual-card",
        abstract: "A SOFTWARE PIV card for drills, demos and tests - it has no hardware protection.",
        discussion: """
        The card's keys, PIN digests and management key live in a state file (mode 0600) that \
        anyone who can read it can copy: use real PIV cards (e.g. a YubiKey) for real recovery \
        keys. The card announces itself as software everywhere: ATR historical bytes \
        "Triad-SW", serial numbers 999000000-999999999, the application label "Triad software \
        PIV card - no hardware protection".

        New cards have PIN 123456, PUK 12345678 (3 tries each) and the YubiKey default \
        management key 010203040506070801020304050607080102030405060708 as 3DES (algorithm 03).

        `run` connects to vpcd (pcscd's vsmartcard-vpcd driver) at 127.0.0.1:PORT; port 35963 \
        is reader "Virtual PCD 00 00", 35964 is "Virtual PCD 00 01".
        """,
        subcommands: [InitCommand.self, RunCommand.self, StatusCommand.self])
}

/// Runs `virtual-card` in the shell all three commands share (README "Exit status"). Core
/// dumps stay as they are: the card's keys are already on disk in its state file.
@main
enum Main {
    static func main() { CommandShell.main(VirtualCardCommand.self, hardenProcess: false) }
}
