import Foundation
import XCTest
import TriadTestSupport

/// docs/mount.md §7: the card leaves, access ends. A member's virtual card (`virtual-card run`
/// behind the real pcscd, PIN on descriptor 3) mounts the zone; a program reads a file in a
/// loop; the card's process is killed mid-read. Within one second the program's next read
/// fails with EIO and a new open with EACCES, the daemon records `card-removed` (its keys are
/// wiped), and with `--on-removal unmount` the mount is gone within two seconds.
///
/// Runs in a card lane (`/work/coord/card-lane.sh` or `scripts/test`): pcscd with vpcd.
final class CardRemovalTests: XCTestCase {
    /// The reading program: reads the file in a loop (the whole file fits the page cache, so the
    /// daemon must drop the cached pages for the next read to reach it), then, at its first
    /// failure, prints the time and errno, tries a write with fsync on the open file and a new
    /// open, and prints their errno names too.
    static let reader = """
    import os, sys, time, errno
    path, marker = sys.argv[1], sys.argv[2]
    fd = os.open(path, os.O_RDWR)
    size = os.fstat(fd).st_size
    reads, off, deadline = 0, 0, time.time() + 30
    def name(e): return errno.errorcode.get(e.errno, str(e.errno))
    while time.time() < deadline:
        try:
            data = os.pread(fd, 65536, off)
        except OSError as e:
            print("read-failed %.6f %s after %d reads" % (time.time(), name(e), reads), flush=True)
            break
        if len(data) == 0 or data[:8] != b"ward 7: ":
            print("wrong-bytes at %d" % off, flush=True); sys.exit(3)
        reads += 1
        if reads == 50: open(marker, "w").write("reading\\n")
        off = (off + 65536) % size
        time.sleep(0.002)
    else:
        print("no-failure after %d reads" % reads, flush=True); sys.exit(2)
    try:
        os.pwrite(fd, b"x", 0); os.fsync(fd); print("write ok")
    except OSError as e:
        print("write-failed", name(e))
    try:
        os.open(path, os.O_RDONLY); print("open ok")
    except OSError as e:
        print("open-failed", name(e))
    """

    func testCardKilledMidReadLocksTheMount() throws {
        try removal(policy: "lock")
    }

    func testCardKilledMidReadUnmounts() throws {
        try removal(policy: "unmount")
    }

    private func removal(policy: String) throws {
        let (lane, f, audit) = try mountedCard(extra: ["--on-removal", policy])
        let card = lane.card
        defer { card.harness.remove() }
        guard let f else { return }

        // A record of 1 MiB, every 64 KiB block starting with a marker the reader checks.
        let block = Array("ward 7: ".utf8) + [UInt8](repeating: 0x2E, count: 65_536 - 8)
        writeBytes(f.m("record.txt"), Array((0..<16).map { _ in block }.joined()))
        XCTAssertEqual(readBytes(f.m("record.txt"))?.count, 1 << 20)

        let script = f.root + "/reader.py", marker = f.root + "/reading"
        try Self.reader.write(toFile: script, atomically: true, encoding: .utf8)
        var command = Command("python3", [script, f.m("record.txt"), marker], environment: f.environment)
        command.stdout = .file(f.root + "/reader.out")
        command.stderr = .file(f.root + "/reader.err")
        let program = try command.start()
        let deadline = Date() + 20
        while !FileManager.default.fileExists(atPath: marker) && program.isRunning && Date() < deadline { usleep(20_000) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: marker), "the reader was reading before the card left")

        let removedAt = Date().timeIntervalSince1970
        card.harness.pull()   // SIGKILL of the card's process, mid-read
        let ended = program.wait(timeout: 15)
        let out = (try? String(contentsOfFile: f.root + "/reader.out", encoding: .utf8)) ?? ""
        XCTAssertEqual(ended.exitCode, 0, out + ((try? String(contentsOfFile: f.root + "/reader.err", encoding: .utf8)) ?? ""))
        let failure = out.split(separator: "\n").first { $0.hasPrefix("read-failed") }?.split(separator: " ") ?? []
        // With `unmount` the read may meet the unmount already (ECONNABORTED, ENOTCONN).
        let expected = policy == "lock" ? ["EIO"] : ["EIO", "ECONNABORTED", "ENOTCONN"]
        XCTAssertTrue(expected.contains(failure.count >= 3 ? String(failure[2]) : ""), out)
        if failure.count >= 2, let at = Double(failure[1]) {
            XCTAssertLessThan(at - removedAt, 1.0, "the next read failed within a second of the card leaving")
        }
        if policy == "lock" {
            XCTAssertTrue(out.contains("write-failed EIO"), "a write and fsync on the open file fail: \(out)")
            XCTAssertTrue(out.contains("open-failed EACCES"), "a new open is refused: \(out)")
        } else {
            XCTAssertTrue(out.contains("write-failed"), "a write and fsync on the open file fail: \(out)")
            XCTAssertTrue(out.contains("open-failed"), "a new open fails: \(out)")
        }

        // The daemon wiped its keys and said so.
        var records: [[String: Any]] = []
        for _ in 0..<50 {
            records = Self.auditRecords(audit)
            if records.contains(where: { $0["op"] as? String == "card-removed" }) { break }
            usleep(100_000)
        }
        XCTAssertTrue(records.contains { $0["op"] as? String == "card-removed" }, "audit: \(records)")

        if policy == "unmount" {
            var gone = false
            for _ in 0..<40 where !gone {
                gone = !Self.isMounted(f.mountPoint)
                if !gone { usleep(50_000) }
            }
            XCTAssertTrue(gone, "the mount is gone within two seconds of the card leaving")
            XCTAssertLessThan(Date().timeIntervalSince1970 - removedAt, 4)
        } else {
            XCTAssertTrue(Self.isMounted(f.mountPoint), "--on-removal lock keeps the mount in place")
            var st = stat()
            XCTAssertEqual(stat(f.m("record.txt"), &st), 0, "the names stay visible")
            XCTAssertEqual(open(f.m("record.txt"), O_RDONLY), -1)
            XCTAssertEqual(errno, EACCES, "new opens are refused with EACCES")
            XCTAssertEqual(f.unmount().status, 0, "zone unmount ends a locked mount")
        }
        // Nothing was lost: the zone's file still decrypts with the recovery key.
        XCTAssertEqual(f.cat("record.txt", key: f.recovery.key).stdout.count, 1 << 20)
    }

    /// `--on-removal lock` waits for the card and the PIN again: once the card is back,
    /// `zone unlock` (PIN on descriptor 3, to the daemon's control socket) opens the keys again
    /// in place; a wrong PIN is refused with the tries left and leaves the mount locked.
    func testReinsertedCardUnlocksWithThePIN() throws {
        let (lane, f, audit) = try mountedCard(extra: [])
        let card = lane.card
        defer { card.harness.remove() }
        guard let f else { return }
        writeBytes(f.m("record.txt"), Array("ward 7: before\n".utf8))

        card.harness.remove()
        XCTAssertTrue(Self.waitForRefusal(f.m("record.txt")), "access ends when the card leaves")
        var r = try unlock(f, pin: "123456")
        XCTAssertEqual(r.status, 1, "no card, no unlock")
        XCTAssertTrue(r.err.contains("not unlocked"), r.err)

        try card.harness.insert()
        r = try unlock(f, pin: "654321")
        XCTAssertEqual(r.status, 1, "a wrong PIN is refused")
        XCTAssertTrue(r.err.contains("2 tries left"), r.err)
        XCTAssertEqual(open(f.m("record.txt"), O_RDONLY), -1, "still locked after a wrong PIN")
        XCTAssertEqual(errno, EACCES)

        r = try unlock(f, pin: "123456")
        XCTAssertEqual(r.status, 0, r.description)
        XCTAssertEqual(readBytes(f.m("record.txt")), Array("ward 7: before\n".utf8), "reads work again")
        writeBytes(f.m("record.txt"), Array("ward 7: after\n".utf8))
        XCTAssertEqual(readBytes(f.m("record.txt")), Array("ward 7: after\n".utf8), "writes work again")
        r = try unlock(f, pin: "123456")
        XCTAssertEqual(r.status, 1, "an unlocked mount has nothing to unlock")

        // The card is watched again: a second removal locks again.
        card.harness.pull()
        XCTAssertTrue(Self.waitForRefusal(f.m("record.txt")), "the card is watched again after the unlock")
        XCTAssertEqual(f.unmount().status, 0)
        XCTAssertEqual(f.cat("record.txt", key: f.recovery.key).out, "ward 7: after\n", "the edit made after the unlock is in the zone")
        let ops = Self.auditRecords(audit).compactMap { r in (r["op"] as? String).map { "\($0) \(r["result"] ?? "")" } }
            .filter { $0.hasPrefix("card") || $0.hasPrefix("unlock") }
        XCTAssertEqual(ops, ["card-removed ok", "unlock EACCES", "unlock EACCES", "unlock ok", "card-removed ok"])
    }

    /// A revocation while a card mount runs (docs/mount.md §2.1): the mount makes no new file
    /// for the old epoch; `zone unlock` with the card still in brings the new epoch's key, new
    /// files are for it, and the card is still watched afterwards.
    func testUnlockBringsTheNewEpochAfterARevocation() throws {
        let (lane, f, audit) = try mountedCard(extra: [])
        let card = lane.card
        defer { card.harness.remove() }
        guard let f else { return }
        writeBytes(f.m("before.txt"), Array("ward 7\n".utf8))
        XCTAssertEqual(f.run(["revoke", f.zone, "--cert", f.alice.cert, "--identity", "file:" + f.officer.key]).status, 0)
        usleep(1_200_000)
        XCTAssertEqual(open(f.m("after.txt"), O_WRONLY | O_CREAT, 0o644), -1, "no new file for the epoch alice holds")
        XCTAssertEqual(errno, EACCES)

        let r = try unlock(f, pin: "123456")
        XCTAssertEqual(r.status, 0, r.description)
        writeBytes(f.m("after.txt"), Array("ward 8\n".utf8))
        XCTAssertEqual(f.cat("after.txt", key: f.recovery.key).out, "ward 8\n")
        let status = f.run(["status", f.zone, "--json"])
        let counts = (try? JSONSerialization.jsonObject(with: status.stdout)) as? [String: Any]
        XCTAssertEqual((counts?["files"] as? [String: Any])?["stale_epoch"] as? Int, 1, "only the file made before the revocation is of the old epoch: \(status.out)")

        card.harness.pull()
        XCTAssertTrue(Self.waitForRefusal(f.m("after.txt")), "the card is still watched after an unlock it never left for")
        let ops = Self.auditRecords(audit).compactMap { $0["op"] as? String }.filter { $0.hasPrefix("policy") || $0.hasPrefix("unlock") || $0.hasPrefix("card") }
        XCTAssertEqual(ops, ["policy-epoch-missing", "unlock", "card-removed"])
    }

    /// A zone whose member is a fresh virtual card, mounted with that card (PIN 123456 on
    /// descriptor 3) and an audit file; the fixture is nil (and the test has failed) if the
    /// mount failed.
    private func mountedCard(extra: [String]) throws -> (CardLane, MountFixture?, String) {
        let lane = try CardLane()
        let f = MountFixture(members: ["alice"], extraMemberCertificates: [lane.card.certificate])
        let audit = f.root + "/audit.jsonl"
        let mounted = try f.mountCard(reader: lane.card.harness.reader, pin: "123456",
                                      extra: ["--audit", audit, "--syslog-socket", f.root + "/no-syslog"] + extra)
        XCTAssertEqual(mounted.status, 0, mounted.description)
        return (lane, mounted.status == 0 ? f : nil, audit)
    }

    private func unlock(_ f: MountFixture, pin: String) throws -> ProcessResult {
        var command = Command(MountFixture.zoneBinary, ["unlock", f.mountPoint, "--pin-fd", "3"], environment: f.environment)
        command.inputs[3] = Data((pin + "\n").utf8)
        command.timeout = 60
        return try command.run()
    }

    /// Waits up to two seconds for a new open of `path` to be refused with EACCES.
    static func waitForRefusal(_ path: String) -> Bool {
        for _ in 0..<40 {
            let fd = open(path, O_RDONLY)
            if fd < 0 && errno == EACCES { return true }
            if fd >= 0 { close(fd) }
            usleep(50_000)
        }
        return false
    }

    static func auditRecords(_ path: String) -> [[String: Any]] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n")
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    static func isMounted(_ point: String) -> Bool {
        ((try? String(contentsOfFile: "/proc/mounts", encoding: .utf8)) ?? "").split(separator: "\n")
            .contains { $0.split(separator: " ").dropFirst().first.map(String.init) == point }
    }
}

/// A virtual PIV card for a mount test: a P-256 key generated on the card in slot 9D by
/// yubico-piv-tool, its certificate from a test CA stored on the card.
struct CardLane {
    struct Card {
        let harness: VirtualCardHarness
        let certificate: String
    }
    let folder: TemporaryDirectory
    let card: Card

    init() throws {
        folder = try TemporaryDirectory("mount-card")
        try PCSCReaders.requireService()
        card = try Self.startCard(in: folder)
    }

    static func startCard(in folder: TemporaryDirectory, port: UInt16 = PCSCReaders.ports[0]) throws -> Card {
        let harness = try VirtualCardHarness(state: folder.path("card.state"), port: port)
        try harness.insert()
        let pub = folder.path("card-pub.pem")
        let generated = try Command("yubico-piv-tool", ["-r", harness.reader, "-a", "generate", "-s", "9d", "-A", "ECCP256", "-o", pub]).run()
        guard generated.succeeded else { throw TestSupportError.toolFailed(generated) }
        let ca = try TestPKI.shared.make("mount-card-ca", .p256)
        let cert = try TestPKI.shared.certify(publicKey: pub, name: "mount-card-\(UUID().uuidString.prefix(8))", issuer: ca,
                                              profile: .init(subject: "/CN=card member/O=Test Hospital"))
        let imported = try Command("yubico-piv-tool", ["-r", harness.reader, "-a", "import-certificate", "-s", "9d", "-i", cert]).run()
        guard imported.succeeded else { throw TestSupportError.toolFailed(imported) }
        return Card(harness: harness, certificate: cert)
    }
}
