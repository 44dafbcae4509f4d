#if canImport(Glibc)
import Glibc
#endif

/// Ctrl-C or SIGTERM during a tree command: the tree engine starts no further file, finishes
/// the ones in hand and makes the finished batch durable before the command exits 1
/// (docs/zone.md §7). The handler only sets a flag (async-signal-safe).
enum Interrupt {
    nonisolated(unsafe) private static var flag: Int32 = 0

    static var requested: Bool { flag != 0 }

    /// Installed only once keys are unlocked, so a PIN prompt still dies on Ctrl-C as usual.
    static func install() {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in Interrupt.flag = 1 }
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        sigaction(SIGINT, &action, nil)
        sigaction(SIGTERM, &action, nil)
    }
}
