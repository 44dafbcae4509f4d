import Foundation
import XCTest
import TriadTestSupport

/// One round of a kill test (docs/mount.md §3.3): mount, start a workload that writes through
/// the mount and logs `start …` / `durable …` lines, SIGKILL the daemon after about `delay`
/// seconds (± 50 %), wait for the workload, unmount.
struct KillRound {
    /// The log as it was just before the kill: its last line says whether a write was in hand.
    var before: String
    /// The log after the round, each line split into words.
    var lines: [[Substring]]
    /// Whether the kill landed while a file or version was being written.
    var midWrite: Bool { before.split(separator: "\n").last?.hasPrefix("start") ?? false }
}

extension MountFixture {
    /// The running daemon's pid, as `zone mounts --json` lists it for this mount point.
    func daemonPID() -> pid_t? {
        let r = run(["mounts", "--json"])
        let mounts = (try? JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])?["mounts"] as? [[String: Any]]
        return (mounts?.first { $0["mount_point"] as? String == mountPoint }?["pid"] as? Int).map { pid_t($0) }
    }

    /// Runs one kill round with `python3 workload…`; nil (after a failure is recorded) when the
    /// mount did not come up.
    func killRound(workload: [String], log: String, delay: Double) throws -> KillRound? {
        let r = mount()
        XCTAssertEqual(r.status, 0, r.stderr)
        guard let pid = daemonPID() else { XCTFail("no daemon pid"); return nil }
        var command = Command("python3", workload)
        command.stdout = .discard
        command.stderr = .discard
        let worker = try command.start()
        usleep(UInt32((delay * Double.random(in: 0.5...1.5)) * 1_000_000))
        let before = try String(contentsOfFile: log, encoding: .utf8)
        kill(pid, SIGKILL)
        worker.wait()
        _ = shell("/bin/umount", ["-l", mountPoint])
        _ = unmount()
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map { $0.split(separator: " ") }
        return KillRound(before: before, lines: lines)
    }
}
