import Foundation
import TriadTestSupport
import XCTest

/// docs/mount.md §8 (audit records to syslog and JSON lines) and §4 (two daemons on one zone
/// folder: each sees the other's changes, concurrent writers never break a file).
final class AuditAndSharingTests: XCTestCase {
    /// One record per open, create, unlink and rename, to a syslog socket (RFC 5424) and a
    /// JSON-lines file, with who, where and what.
    func testAuditRecords() throws {
        let f = MountFixture()
        let server = DatagramReceiver(path: f.root + "/log.sock")
        defer { server.close() }
        let socketPath = server.path
        let audit = f.root + "/audit.jsonl"
        XCTAssertEqual(f.mount(extra: ["--audit", audit, "--syslog-socket", socketPath]).status, 0)
        XCTAssertEqual(f.sh("""
        set -e
        echo one > "$M/a.txt"
        cat "$M/a.txt" >/dev/null
        mv "$M/a.txt" "$M/b.txt"
        rm "$M/b.txt"
        """).status, 0)
        XCTAssertEqual(f.sh("cat \"$M/missing\" 2>/dev/null").status, 1)
        XCTAssertEqual(f.unmount().status, 0)

        let lines = ((try? String(contentsOfFile: audit, encoding: .utf8)) ?? "").split(separator: "\n")
        let records = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        XCTAssertEqual(records.count, lines.count, "every line is one JSON object")
        let ops = records.map { "\($0["op"]!) \($0["path"]!) \($0["result"]!)" }
        XCTAssertEqual(ops.filter { !$0.hasPrefix("open") || $0.contains("a.txt") }.prefix(4),
                       ["create a.txt ok", "open-read a.txt ok", "rename a.txt ok", "unlink b.txt ok"], "\(ops)")
        let create = records[0]
        XCTAssertEqual(create["uid"] as? Int, Int(getuid()))
        XCTAssertEqual(create["subject"] as? String, "O=Test Hospital,CN=alice")
        XCTAssertEqual((create["fingerprint"] as? String)?.count, 64)
        XCTAssertEqual((create["zone"] as? String)?.count, 32)
        XCTAssertEqual((create["file_id"] as? String)?.count, 64)
        XCTAssertEqual(records.first { $0["op"] as? String == "rename" }?["to"] as? String, "b.txt")
        XCTAssertNotNil(try? ISO8601DateFormatter().date(from: (create["time"] as? String ?? "").replacingOccurrences(of: #"\.\d+"#, with: "", options: .regularExpression)))

        // The same records reached the syslog socket as RFC 5424 messages.
        let messages = server.receiveAll()
        XCTAssertEqual(messages.count, records.count, "one syslog message per record")
        let first = messages.first ?? ""
        XCTAssertTrue(first.hasPrefix("<109>1 "), "facility 13 (log audit), severity notice, version 1: \(first)")
        XCTAssertTrue(first.contains(" triad-mount \(daemonPIDFrom(first)) AUDIT [audit@32473 uid=\"\(getuid())\" subject=\"O=Test Hospital,CN=alice\""), first)
        XCTAssertTrue(first.contains("op=\"create\" result=\"ok\"]"), first)
        XCTAssertTrue(messages.contains { $0.hasPrefix("<108>1 ") && $0.contains("result=\"ENOENT\"") } || !ops.contains { $0.contains("ENOENT") },
                      "a failed open is a warning (severity 4)")
    }

    /// A member names a file to confuse the audit trail: quotes, backslashes, `]`, a newline, a
    /// tab, another control character and a non-ASCII letter. The JSON line still parses to the
    /// exact name (RFC 8259 §7), and the syslog structured data escapes `"`, `\` and `]`
    /// (RFC 5424 §6.3.3), so the name cannot end the record's field or its structured data.
    func testAuditRecordsEscapeAHostileName() throws {
        let f = MountFixture()
        let server = DatagramReceiver(path: f.root + "/log.sock")
        defer { server.close() }
        let audit = f.root + "/audit.jsonl"
        XCTAssertEqual(f.mount(extra: ["--audit", audit, "--syslog-socket", server.path]).status, 0)
        let name = "a\"b\\c]d\ne\tf\u{01}g é\" op=\"unlink.txt"
        let fd = open(f.mountPoint + "/" + name, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        XCTAssertGreaterThanOrEqual(fd, 0, String(cString: strerror(errno)))
        XCTAssertEqual(write(fd, "x", 1), 1)
        XCTAssertEqual(close(fd), 0)
        XCTAssertEqual(f.unmount().status, 0)

        let lines = ((try? String(contentsOfFile: audit, encoding: .utf8)) ?? "").split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "one record, on one line: \(lines)")
        let record = lines.first.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        XCTAssertEqual(record?["path"] as? String, name)
        XCTAssertEqual(record?["op"] as? String, "create")
        XCTAssertTrue(lines.first?.contains(#"d\ne\tf\u0001g"#) ?? false, "control characters as JSON escapes: \(lines)")

        let message = server.receiveAll().first ?? ""
        let escaped = #"path="a\"b\\c\]d"# + "\ne\tf\u{01}g é" + #"\" op=\"unlink.txt" file_id="#
        XCTAssertTrue(message.contains(escaped), message)
        XCTAssertTrue(message.contains(#"op="create" result="ok"]"#), message)
    }

    private func daemonPIDFrom(_ message: String) -> String {
        let parts = message.split(separator: " ")
        return parts.count > 4 ? String(parts[4]) : ""
    }

    /// Two daemons (two members) on one zone folder: a change through one is seen through the
    /// other within the attribute timeout; both writing one file at once leave it decryptable,
    /// and disjoint byte ranges of one segment both survive.
    func testTwoDaemonsOnOneFolder() throws {
        let f = MountFixture()
        let second = f.root + "/mnt2"
        XCTAssertEqual(f.mount(as: "alice").status, 0)
        XCTAssertEqual(f.mount(as: "bob", at: second).status, 0)
        writeBytes(f.m("shared.txt"), Array("version 1\n".utf8))
        usleep(1_200_000)
        XCTAssertEqual(readBytes(second + "/shared.txt"), Array("version 1\n".utf8), "bob sees alice's new file")
        writeBytes(second + "/shared.txt", Array("version 2 from bob\n".utf8))
        usleep(1_200_000)
        XCTAssertEqual(readBytes(f.m("shared.txt")), Array("version 2 from bob\n".utf8), "alice sees bob's change")

        // Concurrent writers of one file, different bytes of the same segments.
        let script = """
        import os, sys
        path, who = sys.argv[1], int(sys.argv[2])
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        for round in range(200):
            for block in range(8):
                off = block * 40000 + who * 100
                os.pwrite(fd, bytes([65 + who]) * 100, off)
            os.fsync(fd)
        os.close(fd)
        """
        let writers = try [(f.mountPoint, 0), (second, 1)].map { mount, who in
            try Command("python3", ["-c", script, mount + "/db", String(who)]).start()
        }
        for w in writers {
            let r = w.wait()
            XCTAssertEqual(r.exitCode, 0, r.description)
        }
        XCTAssertEqual(f.unmount().status, 0)
        XCTAssertEqual(f.unmount(second).status, 0)
        let r = f.cat("db", key: f.alice.key)
        XCTAssertEqual(r.status, 0, "the file both wrote decrypts: \(r.stderr)")
        let bytes = Array(r.stdout)
        for block in 0..<8 {
            XCTAssertEqual(Array(bytes[(block * 40000)..<(block * 40000 + 100)]), [UInt8](repeating: 65, count: 100), "alice's bytes in block \(block)")
            XCTAssertEqual(Array(bytes[(block * 40000 + 100)..<(block * 40000 + 200)]), [UInt8](repeating: 66, count: 100), "bob's bytes in block \(block)")
        }
    }
}
