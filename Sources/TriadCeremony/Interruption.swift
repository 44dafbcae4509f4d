import Foundation

/// Ctrl-C during a ceremony asks before it acts (docs/ceremony.md §1 "Ctrl-C"): the first
/// Ctrl-C at a prompt shows what it would do and waits for `abort` or Enter; a second Ctrl-C
/// ends the ceremony ABORTED with the reason "interrupted", secrets zeroised (docs/ceremony.md
/// §3 rule 8). SIGTERM (a shutdown) aborts at once: nobody is there to answer.
///
/// The handler only counts (async-signal-safe). Prompts wait in poll(2) with a short timeout
/// and look at the count on every wake, so a signal that lands between the check and the
/// wait is seen within a quarter of a second instead of leaving the read blocked.
public enum Interruption {
    nonisolated(unsafe) private static var count: Int32 = 0

    /// True once Ctrl-C or SIGTERM arrived and was not yet answered.
    public static var requested: Bool { count != 0 }

    /// True when the ceremony must end now: a second Ctrl-C, or SIGTERM.
    public static var final: Bool { count >= 2 }

    /// Installs the SIGINT and SIGTERM handlers (call once, before `Engine.run`).
    public static func install() {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { signal in
            Interruption.count = signal == SIGTERM ? 2 : Interruption.count + 1
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        sigaction(SIGINT, &action, nil)
        sigaction(SIGTERM, &action, nil)
    }

    /// The people chose to go on after a first Ctrl-C.
    static func acknowledge() { if count == 1 { count = 0 } }

    /// Throws `CeremonyError.interrupted` when an interrupt arrived.
    static func check() throws {
        if requested { throw CeremonyError.interrupted }
    }

    /// Waits until `fd` is readable; false when the interrupt count reached `level` first
    /// (1: any Ctrl-C; 2: a second one while the first is being answered).
    static func waitReadable(_ fd: Int32, level: Int32 = 1) -> Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while true {
            if count >= level { return false }
            let n = poll(&p, 1, 250)
            if n > 0 { return true }
            if n < 0 && errno != EINTR { return true }  // let read() report the error
        }
    }
}
