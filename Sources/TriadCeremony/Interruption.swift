import Foundation

/// Ctrl-C during a ceremony: instead of dying without a terminal entry, the run ends
/// ABORTED with the reason "interrupted", secrets zeroised (docs/ceremony.md §3 rule 8).
///
/// The handler only sets a flag (async-signal-safe). It is installed without SA_RESTART,
/// so a prompt blocked in read() returns EINTR, sees the flag and throws; between prompts
/// the engine checks the flag before every step.
public enum Interruption {
    nonisolated(unsafe) private static var flag: Int32 = 0

    /// True once Ctrl-C was pressed; the engine then ends the run ABORTED.
    public static var requested: Bool { flag != 0 }

    /// Installs the SIGINT and SIGTERM handlers (call once, before `Engine.run`).
    public static func install() {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in Interruption.flag = 1 }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        sigaction(SIGINT, &action, nil)
        sigaction(SIGTERM, &action, nil)
    }

    /// Throws `CeremonyError.interrupted` when an interrupt arrived.
    static func check() throws {
        if requested { throw CeremonyError.interrupted }
    }
}
