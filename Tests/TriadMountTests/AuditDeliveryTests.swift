import Foundation
import XCTest

/// docs/mount.md §8.1: no record of an open is lost without a trace. A mount whose records
/// would reach no one is refused; a slow syslog receiver slows the mount instead of losing
/// records; records a receiver could not take (stopped, gone) are counted, and the count
/// reaches it in an `audit-lost` record as soon as it takes records again.
///
/// The attacker: whoever can stop or wedge the server's syslog daemon (IT, or a member on the
/// terminal server who fills its socket) to read records through a mount unseen.
final class AuditDeliveryTests: XCTestCase {
    /// Nothing receives at the syslog socket — none there, or one nobody reads (a stale
    /// socket file) — and no `--audit FILE`: `zone mount` refuses, says why and what to do,
    /// and nothing is mounted. With a receiver, the same command mounts.
    func testMountWithNoAuditSinkIsRefused() throws {
        let f = MountFixture()
        let stale = f.root + "/stale.sock"
        DatagramReceiver(path: stale).close()   // the file stays, nobody reads it
        for (socketPath, reason) in [(f.root + "/absent.sock", "No such file or directory"), (stale, "Connection refused")] {
            let r = f.run(["mount", f.zone, f.mountPoint, "--identity", "file:" + f.alice.key, "--syslog-socket", socketPath])
            XCTAssertNotEqual(r.status, 0, "mounted with no audit sink at \(socketPath)")
            if r.status == 0 { f.run(["unmount", f.mountPoint]) }
            XCTAssertTrue(r.stderr.contains("\(socketPath): nothing receives audit records there (\(reason))"), r.stderr)
            XCTAssertTrue(r.stderr.contains("give --audit FILE"), r.stderr)
            XCTAssertFalse(Self.isMounted(f.mountPoint), "refused, yet \(f.mountPoint) is mounted")
        }
        // Refused before the identity is touched: a key file that is not there is never reached.
        let early = f.run(["mount", f.zone, f.mountPoint, "--identity", "file:" + f.root + "/no-such.key",
                           "--syslog-socket", f.root + "/absent.sock"])
        XCTAssertNotEqual(early.status, 0)
        XCTAssertTrue(early.stderr.contains("nothing receives audit records there"), early.stderr)
        let receiver = DatagramReceiver(path: f.root + "/log.sock")
        defer { receiver.close() }
        let r = f.run(["mount", f.zone, f.mountPoint, "--identity", "file:" + f.alice.key, "--syslog-socket", receiver.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(Self.isMounted(f.mountPoint))
        XCTAssertEqual(f.run(["unmount", f.mountPoint]).status, 0)
    }

    /// A receiver that takes one message every 10 ms — slower than the creates and opens
    /// arrive — gets every record: the daemon waits for room in its queue (at most ten
    /// datagrams by default) instead of dropping what does not fit.
    func testSlowReceiverGetsEveryRecord() throws {
        let f = MountFixture()
        let (receiver, audit) = mountWithReceiver(f)
        defer { receiver.close() }
        let collector = receiver.collect(every: 10_000)
        XCTAssertEqual(f.sh(#"for i in $(seq 40); do echo $i > "$M/f$i"; done; for i in $(seq 40); do cat "$M/f$i" >/dev/null; done"#).status, 0)
        let records = Self.jsonRecords(audit)
        XCTAssertGreaterThanOrEqual(records.count, 80)
        let all = collector.stop(after: records.count)
        XCTAssertEqual(all.count, records.count, "every record reached the slow receiver")
        XCTAssertFalse(all.contains { $0.contains("op=\"audit-lost\"") }, "nothing was lost")
    }

    /// The receiver goes away (journald restarting, rsyslog stopped): the records meanwhile
    /// are counted; the receiver that comes back at the same path first gets an `audit-lost`
    /// record with their number, the reason and the time of the first one, then the records.
    /// The JSON-lines file, which never failed, has every record and no report.
    func testRecordsLostWhileTheReceiverIsGoneAreReported() throws {
        let f = MountFixture()
        let path = f.root + "/log.sock"
        var receiver = DatagramReceiver(path: path)
        let audit = f.root + "/audit.jsonl"
        XCTAssertEqual(f.mount(extra: ["--audit", audit, "--syslog-socket", path]).status, 0)
        XCTAssertEqual(f.sh(#"for i in 1 2 3; do echo $i > "$M/f$i"; done"#).status, 0)
        var received = receiver.receiveAll()
        receiver.close()
        unlink(path)
        let before = Self.jsonRecords(audit).count
        XCTAssertEqual(f.sh(#"for i in 1 2 3 1 2; do cat "$M/f$i" >/dev/null; done"#).status, 0)
        let gone = Array(Self.jsonRecords(audit)[before...])
        XCTAssertEqual(gone.count, 5, "one open-read each")
        receiver = DatagramReceiver(path: path)
        defer { receiver.close() }
        XCTAssertEqual(f.sh(#"cat "$M/f3" >/dev/null"#).status, 0)
        let back = receiver.receiveAll()
        received += back
        XCTAssertEqual(back.count, 2, "the report, then the open: \(back)")
        let report = back.first ?? ""
        XCTAssertTrue(report.hasPrefix("<108>1 "), "a warning: \(report)")
        XCTAssertTrue(report.contains("op=\"audit-lost\" result=\"ENOENT\" lost=\"5\" since=\"\(gone[0]["time"] as? String ?? "?")\"]"), report)
        XCTAssertTrue(back.last?.contains("op=\"open-read\"") ?? false, "\(back)")
        let all = Self.jsonRecords(audit)
        XCTAssertEqual(received.count - 1 + 5, all.count, "received + lost = every record")
        XCTAssertFalse(all.contains { $0["op"] as? String == "audit-lost" }, "the file lost nothing")
    }

    /// Records missed while the receiver was gone, with no record after it came back: the
    /// report goes to it at unmount.
    func testLossIsReportedAtUnmount() throws {
        let f = MountFixture()
        let path = f.root + "/log.sock"
        var receiver = DatagramReceiver(path: path)
        XCTAssertEqual(f.mount(extra: ["--audit", f.root + "/audit.jsonl", "--syslog-socket", path]).status, 0)
        XCTAssertEqual(f.sh(#"echo 1 > "$M/f1""#).status, 0)
        receiver.close()
        unlink(path)
        XCTAssertEqual(f.sh(#"cat "$M/f1" >/dev/null; cat "$M/f1" >/dev/null"#).status, 0)
        receiver = DatagramReceiver(path: path)
        defer { receiver.close() }
        XCTAssertEqual(f.unmount().status, 0)
        let messages = receiver.receiveAll()
        XCTAssertEqual(messages.count, 1, "\(messages)")
        XCTAssertTrue(messages.first?.contains("op=\"audit-lost\" result=\"ENOENT\" lost=\"2\"") ?? false, "\(messages)")
    }

    /// The disk of `--audit FILE` fills (a 32 KiB tmpfs): lines that do not fit are counted,
    /// one cut short stands on a line of its own, and once there is room the file gets an
    /// `audit-lost` line whose count, with the lines written whole, makes every record — as
    /// many as reached the syslog receiver.
    func testFullAuditDiskIsCountedAndReported() throws {
        guard geteuid() == 0 else { throw XCTSkip("mounts a small tmpfs: needs root (CI runs as root)") }
        let f = MountFixture()
        let disk = f.root + "/small"
        try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: true)
        XCTAssertEqual(shell("mount", ["-t", "tmpfs", "-o", "size=32k", "tmpfs", disk]).status, 0)
        // Lazily: the daemon holds the audit file open until the fixture unmounts it.
        defer { shell("umount", ["-l", disk]) }
        XCTAssertEqual(shell("sh", ["-c", "head -c 28672 /dev/zero > \(disk)/filler"]).status, 0)
        let receiver = DatagramReceiver(path: f.root + "/log.sock")
        defer { receiver.close() }
        let collector = receiver.collect(every: 0)
        let audit = disk + "/audit.jsonl"
        XCTAssertEqual(f.mount(extra: ["--audit", audit, "--syslog-socket", receiver.path]).status, 0)
        XCTAssertEqual(f.sh(#"for i in $(seq 30); do echo $i > "$M/f$i"; done"#).status, 0)
        XCTAssertEqual(unlink(disk + "/filler"), 0)
        XCTAssertEqual(f.sh(#"cat "$M/f1" >/dev/null"#).status, 0)
        let sent = collector.stop(after: 31)
        XCTAssertEqual(sent.count, 31, "the syslog receiver got every record")
        let lines = ((try? String(contentsOfFile: audit, encoding: .utf8)) ?? "").split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        let records = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        XCTAssertLessThanOrEqual(lines.count - records.count, 1, "at most one line cut short: \(lines.suffix(4))")
        let whole = records.filter { $0["op"] as? String != "audit-lost" }
        XCTAssertLessThan(whole.count, 30, "the disk filled")
        let report = records.first { $0["op"] as? String == "audit-lost" }
        XCTAssertEqual(report?["result"] as? String, "ENOSPC")
        XCTAssertEqual((report?["lost"] as? Int).map { $0 + whole.count }, 31, "\(report ?? [:]), \(whole.count) whole")
        XCTAssertEqual(records.last?["op"] as? String, "open-read")
        XCTAssertEqual(f.unmount().status, 0)
    }

    /// A receiver that is there but takes nothing (a stopped syslog daemon): once its queue is
    /// full, one send waits the timeout (0.5 s) and later ones do not wait — the mount stays
    /// usable — and what did not fit is counted and reported once it reads again.
    func testStoppedReceiverDoesNotStallTheMount() throws {
        let f = MountFixture()
        let (receiver, audit) = mountWithReceiver(f)
        defer { receiver.close() }
        let start = Date()
        XCTAssertEqual(f.sh(#"for i in $(seq 30); do echo $i > "$M/f$i"; done"#).status, 0)
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertLessThan(elapsed, 5, "30 creates waited for a receiver that reads nothing")
        let queued = receiver.receiveAll()
        let created = Self.jsonRecords(audit).count
        XCTAssertEqual(created, 30)
        XCTAssertLessThan(queued.count, created, "the receiver's queue is bounded (net.unix.max_dgram_qlen)")
        XCTAssertEqual(f.sh(#"cat "$M/f1" >/dev/null"#).status, 0)
        let back = receiver.receiveAll()
        XCTAssertEqual(back.count, 2, "\(back)")
        XCTAssertTrue(back.first?.contains("op=\"audit-lost\" result=\"EAGAIN\" lost=\"\(created - queued.count)\"") ?? false,
                      "\(back.first ?? "none"), \(queued.count) of \(created) queued")
    }

    /// Mounts `f` with its records to a receiver at `log.sock` and to `audit.jsonl`.
    private func mountWithReceiver(_ f: MountFixture) -> (DatagramReceiver, String) {
        let receiver = DatagramReceiver(path: f.root + "/log.sock")
        let audit = f.root + "/audit.jsonl"
        XCTAssertEqual(f.mount(extra: ["--audit", audit, "--syslog-socket", receiver.path]).status, 0)
        return (receiver, audit)
    }

    static func isMounted(_ point: String) -> Bool {
        ((try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)) ?? "").split(separator: "\n")
            .contains { $0.split(separator: " ").dropFirst().first.map(String.init) == point }
    }

    static func jsonRecords(_ path: String) -> [[String: Any]] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n")
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }
}

/// A Unix datagram socket bound at `path`, as journald's `/dev/log` is.
final class DatagramReceiver: @unchecked Sendable {
    let path: String
    private var fd: Int32

    init(path: String) {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        precondition(fd >= 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { dst in
            for (i, b) in Array(path.utf8).enumerated() { dst[i] = b }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        precondition(bound == 0, "bind \(path): \(String(cString: strerror(errno)))")
    }

    /// One message if one is queued.
    func receive() -> String? {
        var buffer = [UInt8](repeating: 0, count: 8192)
        let n = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
        return n > 0 ? String(decoding: buffer.prefix(n), as: UTF8.self) : nil
    }

    /// Every message queued now.
    func receiveAll() -> [String] {
        var messages: [String] = []
        while let m = receive() { messages.append(m) }
        return messages
    }

    /// Takes messages on a thread of its own, one per `interval` µs.
    func collect(every interval: UInt32) -> Collector {
        let collector = Collector()
        collector.thread = Thread { [self] in
            while !collector.stopped {
                if let m = receive() { collector.add(m) } else { usleep(1_000) }
                if interval > 0 { usleep(interval) }
            }
        }
        collector.thread?.start()
        return collector
    }

    /// Messages taken by `collect`.
    final class Collector: @unchecked Sendable {
        private let lock = NSLock()
        private var messages: [String] = []
        private var stop = false
        var thread: Thread?
        var stopped: Bool { lock.withLock { stop } }
        func add(_ m: String) { lock.withLock { messages.append(m) } }

        /// Waits (up to 10 s) for `count` messages, stops, and returns what it took.
        func stop(after count: Int) -> [String] {
            let deadline = Date().addingTimeInterval(10)
            while lock.withLock({ messages.count }) < count, Date() < deadline { usleep(20_000) }
            lock.withLock { stop = true }
            while thread?.isFinished == false { usleep(5_000) }
            return lock.withLock { messages }
        }
    }

    /// Stops receiving; the socket file stays (as a stopped daemon's does).
    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }
}
