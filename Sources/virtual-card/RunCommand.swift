import ArgumentParser
import TriadCLI
import Foundation
import VirtualPIV

/// Set by SIGTERM/SIGINT; the link polls it at least every 200 ms.
nonisolated(unsafe) var stopRequested: sig_atomic_t = 0

/// `virtual-card run --state PATH [--port 35963]`: insert the card into pcscd via vpcd.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Insert the card into pcscd through vpcd until SIGTERM/SIGINT (reconnects if pcscd restarts).")

    @Option(help: "The card's state file (from `virtual-card init`).")
    var state: String

    @Option(help: """
        vpcd port: 35963 is reader 'Virtual PCD 00 00', 35964 'Virtual PCD 00 01'; with scripts/lib/pcsc.sh's readers \
        B and C, 35965–35968 are 'Virtual PCD B 00 00' … 'Virtual PCD C 00 01'.
        """)
    var port: UInt16 = 35963

    @Flag(name: .customLong("exit-with-parent"), help: """
        Take the card out and stop when the process that started this one ends (a test runner killed \
        mid-run leaves no card behind in the reader).
        """) var exitWithParent = false

    @Flag(help: "Log every instruction and status word to stderr (never command data).")
    var trace = false

    func run() throws {
        let file = CardStateFile(path: state)
        let cardState = try file.load()
        let lock = try lockState()
        defer { close(lock) }

        signal(SIGPIPE, SIG_IGN)
        signal(SIGTERM) { _ in stopRequested = 1 }
        signal(SIGINT) { _ in stopRequested = 1 }

        let applet = VirtualPIVApplet(state: cardState, persistence: file)
        let link = VPCDLink(applet: applet, port: port, trace: trace) { line in
            printError("virtual-card: " + line)
        }
        printError("virtual-card: software PIV card \(cardState.serial) (no hardware protection) from \(state)")
        let parent = getppid()
        link.run { stopRequested != 0 || (exitWithParent && getppid() != parent) }
    }

    /// One process per card: a second `run` on the same state would fork its counters.
    private func lockState() throws -> Int32 {
        let fd = open(state + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw CommandFailure("cannot create \(state).lock: \(String(cString: strerror(errno))); check the folder is writable")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw CommandFailure("card \(state) is already running in another virtual-card process; stop that one first")
        }
        return fd
    }
}
