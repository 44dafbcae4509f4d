import Foundation

/// Marks a ceremony as running, so that `ceremony abort` from another terminal cannot close
/// a ceremony whose process is alive (docs/ceremony.md §1 "If the journal cannot be written").
///
/// Next to the journal, `.<journal>.running/<ceremony-id>` holds the process id, its start
/// time and host, and the running process keeps an exclusive flock(2) on it. The kernel drops
/// the lock when the process ends in any way — SIGKILL and power loss included — so the lock,
/// not the recorded pid (which may be reused), decides whether the ceremony is still running.
public final class RunningLock {
    private let fd: Int32
    private let path: String

    /// The file that marks `ceremony` of the journal at `journal` as running.
    static func path(journal: String, ceremony: String) -> String {
        let url = URL(fileURLWithPath: journal)
        return url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).running/\(ceremony)").path
    }

    /// Takes the lock for a ceremony this process runs.
    /// - Throws: `CeremonyError.cannotLog` when the marker cannot be written (the journal's
    ///   folder is the same, so the journal could not be either).
    init(journal: String, ceremony: String) throws {
        path = Self.path(journal: journal, ceremony: ceremony)
        try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0, flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            throw CeremonyError.cannotLog(ceremony: ceremony, journal: journal, step: "the start",
                                          reason: "cannot mark the ceremony as running in \(path): \(String(cString: strerror(errno)))")
        }
        let info = "pid \(getpid()), started \(JournalClock.now()) on \(ProcessInfo.processInfo.hostName)\n"
        _ = ftruncate(fd, 0)
        _ = info.withCString { write(fd, $0, strlen($0)) }
    }

    /// Ends the mark (at CLOSED or ABORTED); the file goes with it.
    func release() {
        unlink(path)
        close(fd)
    }

    /// Who runs `ceremony` now ("pid …, started … on …"), or nil when no live process holds it.
    public static func holder(journal: String, ceremony: String) -> String? {
        let path = path(journal: journal, ceremony: ceremony)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 { return nil }
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// The time as the journal writes it, for the running marker.
enum JournalClock {
    static func now() -> String { ISO8601DateFormatter().string(from: Date()) }
}
