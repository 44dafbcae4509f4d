import Foundation
import XCTest
import TriadCrypto
import TriadTestSupport
@testable import TriadZone

/// Finding 8, the process side: key files others may read get a warning, and `zone` turns core
/// dumps off before it reads any key (a core file would hold the member's key and zone keys).
final class HardeningTests: XCTestCase {
    func testKeyFileReadableByOthersGivesAWarning() throws {
        let s = Scratch()
        let officer = PKI.make("officer-p256", "p256"), recovery = PKI.make("recovery-p384", "p384")
        s.write("z/f", [1])
        XCTAssertEqual(s.zone("init", s.path("z"), "--officer-cert", officer.cert, "--identity", "file:" + officer.key,
                              "--recovery-cert", recovery.cert).status, 0)
        let loose = s.path("loose.key")
        try FileManager.default.copyItem(atPath: officer.key, toPath: loose)
        for mode in [0o644, 0o640, 0o604] {
            XCTAssertEqual(chmod(loose, mode_t(mode)), 0)
            let r = s.zone("encrypt", s.path("z"), "--identity", "file:" + loose)
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(r.stderr.contains("zone: warning: key file \(loose) is open to group or others (mode \(String(mode, radix: 8)))"), r.stderr)
            XCTAssertTrue(r.stderr.contains("chmod 600"), r.stderr)
        }
        XCTAssertEqual(chmod(loose, 0o600), 0)
        let quiet = s.zone("cat", s.path("z/f"), "--identity", "file:" + loose)
        XCTAssertEqual(quiet.status, 0)
        XCTAssertEqual(quiet.stderr, "", "no warning for a 0600 key file")
    }

    /// `zone` runs as an ordinary user (nobody) and waits for a key's passphrase, with the key
    /// not yet decrypted: its core-size limit is 0 (soft and hard) and it is not dumpable —
    /// the kernel then gives its /proc files to root. A plain process of the same user shows
    /// the opposite, so the check can fail.
    func testZoneTurnsCoreDumpsOff() throws {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else {
            throw XCTSkip("needs root and setpriv to run zone as another user")
        }
        let s = Scratch()
        let officer = PKI.make("officer-p256", "p256"), recovery = PKI.make("recovery-p384", "p384")
        let encrypted = s.path("encrypted.key")
        XCTAssertEqual(shell("openssl", ["pkcs8", "-topk8", "-in", officer.key, "-out", encrypted, "-v2", "aes-256-cbc",
                                         "-passout", "pass:correct horse"]).status, 0)
        XCTAssertEqual(chown(encrypted, 65534, 65534), 0)
        XCTAssertEqual(chmod(s.root, 0o755), 0)
        try FileManager.default.createDirectory(atPath: s.path("z"), withIntermediateDirectories: true)
        for p in [s.path("z"), officer.cert, recovery.cert] { _ = chmod(p, 0o755) }

        // Each waits on a standard input that stays open (a person who has not answered yet).
        func start(_ args: [String]) throws -> RunningProcess {
            var command = Command("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups"] + args,
                                  environment: ["PATH": "/usr/bin:/bin", "HOME": s.path("journal"), "XDG_STATE_HOME": "/nonexistent"])
            command.keepsStdinOpen = true
            command.stdout = .discard
            command.stderr = .discard
            return try command.start()
        }
        func procOwner(_ pid: Int32) -> uid_t? {
            var st = stat()
            return stat("/proc/\(pid)/environ", &st) == 0 ? st.st_uid : nil
        }
        func coreLimit(_ pid: Int32) -> String {
            let limits = (try? String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8)) ?? ""
            return limits.split(separator: "\n").first { $0.hasPrefix("Max core file size") }.map(String.init) ?? ""
        }
        func waitUntilReading(_ pid: Int32, exe suffix: String) {
            // Until the process has exec'd zone and blocks in read(2) on its passphrase pipe.
            for _ in 0..<200 {
                let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")) ?? ""
                let wchan = (try? String(contentsOfFile: "/proc/\(pid)/wchan", encoding: .utf8)) ?? ""
                if exe.hasSuffix(suffix) && (wchan.contains("pipe") || wchan.contains("read")) { return }
                usleep(50_000)
            }
        }

        let zone = try start([Scratch.zoneBinary, "init", s.path("z"), "--officer-cert", officer.cert,
                                           "--identity", "file:" + encrypted, "--passphrase-fd", "0", "--recovery-cert", recovery.cert])
        // `ceremony run` waiting for the first participant's answer on a pipe that stays open.
        let ceremonyBinary = (Scratch.zoneBinary as NSString).deletingLastPathComponent + "/ceremony"
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Ceremonies/test-keyless.yaml").path
        let journalDir = s.path("journal")
        try FileManager.default.createDirectory(atPath: journalDir, withIntermediateDirectories: true)
        XCTAssertEqual(chown(journalDir, 65534, 65534), 0)
        let ceremony = try start([ceremonyBinary, "run", script, "--practice", "--journal", journalDir + "/j.db", "--set", "bag_serial=1"])
        let control = try start(["/bin/sh", "-c", "read x"])
        defer {
            for p in [zone, ceremony, control] { p.kill(SIGKILL); p.closeStdin() }
        }
        waitUntilReading(zone.pid, exe: "/zone")
        waitUntilReading(ceremony.pid, exe: "/ceremony")
        waitUntilReading(control.pid, exe: "sh")
        XCTAssertEqual(procOwner(control.pid), 65534, "a dumpable process of nobody owns its /proc files")
        for (name, process) in [("zone", zone), ("ceremony", ceremony)] {
            XCTAssertTrue(process.isRunning, "\(name) waits for its input")
            XCTAssertEqual(procOwner(process.pid), 0, "\(name) is not dumpable: the kernel gave its /proc files to root")
            let limit = coreLimit(process.pid)
            XCTAssertTrue(limit.split(separator: " ").filter { !$0.isEmpty }.suffix(3).prefix(2) == ["0", "0"], "\(name) core limit: \(limit)")
        }
        XCTAssertFalse(coreLimit(control.pid).hasSuffix(" 0 0 bytes"), "the control keeps its core limit")
    }
}
