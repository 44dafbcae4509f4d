import Foundation
import TriadCrypto
import TriadTestSupport
import XCTest

/// docs/mount.md §3.5: a new file whose writes reach the dirty limit is built unnamed and
/// replaces the empty file `create` linked at its first durable point (close, fsync, utimens).
/// Until then the name holds the empty file; a SIGKILL at any moment leaves each new file
/// absent, empty or complete, always decryptable, and complete once its close or fsync returned.
final class StagedNewFileTests: XCTestCase {
    /// Python: writes 6 MiB into a new file through the mount and reports the backing file's
    /// size before the fsync, then after it; appends 1 MiB, sets the times and closes.
    static let stagedWriter = """
    import os, sys
    mnt, zone = sys.argv[1], sys.argv[2]
    fd = os.open(os.path.join(mnt, "big"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    for i in range(6): os.write(fd, bytes([i]) * (1 << 20))
    print(os.stat(os.path.join(zone, "big")).st_size)
    os.fsync(fd)
    print(os.stat(os.path.join(zone, "big")).st_size)
    os.write(fd, bytes([6]) * (1 << 20))
    os.utime(os.path.join(mnt, "big"), (1000000000, 1000000000))
    os.close(fd)
    """

    func testALargeNewFileIsStagedUnnamedAndReplacesItsEmptyFileWhenDurable() throws {
        let f = MountFixture()
        XCTAssertEqual(f.mount().status, 0)
        defer { f.unmount() }
        let r = shell("python3", ["-c", Self.stagedWriter, f.mountPoint, f.zone])
        XCTAssertEqual(r.status, 0, r.stderr)
        let sizes = r.out.split(separator: "\n").compactMap { Int($0) }
        XCTAssertEqual(sizes.count, 2, r.out)
        // Before the fsync: still the empty file create linked (header + one 40-byte empty
        // final segment), although 6 MiB were written (4 MiB pass the dirty limit).
        XCTAssertLessThan(sizes.first ?? .max, 4096, "the 6 MiB went into the named file before its durable point")
        XCTAssertGreaterThan(sizes.last ?? 0, 6 << 20, "fsync did not publish the staged file")
        var expected: [UInt8] = []
        for i in 0..<7 { expected += [UInt8](repeating: UInt8(i), count: 1 << 20) }
        let cat = f.cat("big", key: f.alice.key)
        XCTAssertEqual(cat.status, 0, cat.stderr)
        XCTAssertTrue(Array(cat.stdout) == expected, "zone cat does not give the 7 MiB written")
        let st = try FileManager.default.attributesOfItem(atPath: f.z("big"))
        XCTAssertEqual((st[.modificationDate] as? Date)?.timeIntervalSince1970, 1_000_000_000, "utimens went to a file that did not stay")
        XCTAssertEqual((st[.posixPermissions] as? Int), 0o640)
        XCTAssertEqual(readBytes(f.m("big")).map { $0 == expected }, true)
        XCTAssertEqual(f.sh("ls -A \"$Z\" | grep -c 'triad-' || true").out, "0\n", "a temporary or journal was left")
    }

    /// Python: stages 5 MiB in a new file, then (through the backing folder) another, larger
    /// file is renamed over its name before it closes: as for a file replaced by a command
    /// (§4), the writes go into the file now at the name, whose bytes past them stay.
    static let replacedWhileStaged = """
    import os, sys
    mnt, zone = sys.argv[1], sys.argv[2]
    with open(os.path.join(mnt, "other"), "wb") as o: o.write(b"Z" * (6 << 20))
    fd = os.open(os.path.join(mnt, "c"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    for i in range(5): os.write(fd, bytes([65 + i]) * (1 << 20))
    os.rename(os.path.join(zone, "other"), os.path.join(zone, "c"))
    os.close(fd)
    """

    func testAStagedFileWhoseNameWasReplacedWritesIntoTheFileNowThere() {
        let f = MountFixture()
        XCTAssertEqual(f.mount().status, 0)
        defer { f.unmount() }
        let r = shell("python3", ["-c", Self.replacedWhileStaged, f.mountPoint, f.zone])
        XCTAssertEqual(r.status, 0, r.stderr)
        var expected: [UInt8] = []
        for i in 0..<5 { expected += [UInt8](repeating: UInt8(65 + i), count: 1 << 20) }
        expected += [UInt8](repeating: UInt8(ascii: "Z"), count: 1 << 20)
        let cat = f.cat("c", key: f.alice.key)
        XCTAssertEqual(cat.status, 0, cat.stderr)
        XCTAssertTrue(Array(cat.stdout) == expected, "the staged bytes did not land in the file at the name (\(cat.stdout.count) bytes)")
    }

    /// Python: new files of 4.5 to 9 MB (past the 2 MiB dirty limit, so they are staged), each
    /// written in 1 MiB pieces and closed (every other one fsynced first), logged before it
    /// starts and after its close returned.
    static let workload = """
    import os, sys, hashlib
    mnt, log, first = sys.argv[1], sys.argv[2], int(sys.argv[3])
    def content(k):
        size = [4500000, 6000000, 9000000][k % 3] + k % 1000
        block = hashlib.sha256(b"%d" % k).digest() * 2048
        return (block * (size // len(block) + 1))[:size]
    logf = open(log, "a", buffering=1)
    k = first
    try:
        while True:
            k += 1
            data = content(k)
            logf.write("start %d\\n" % k); os.fsync(logf.fileno())
            fd = os.open(os.path.join(mnt, "n%d" % k), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            for i in range(0, len(data), 1 << 20): os.write(fd, data[i:i + (1 << 20)])
            if k % 2: os.fsync(fd)
            os.close(fd)
            logf.write("durable %d\\n" % k); os.fsync(logf.fileno())
    except OSError:
        sys.exit(0)
    """

    func testSIGKILLsWhileLargeNewFilesAreWritten() throws {
        let f = MountFixture()
        let log = f.root + "/versions.log"
        FileManager.default.createFile(atPath: log, contents: Data())
        var midWrite = 0, placeholders = 0
        var delay = 0.4
        let kills = 12
        for round in 0..<kills {
            guard let kill = try f.killRound(workload: ["-c", Self.workload, f.mountPoint, log, String(round * 1000)], log: log, delay: delay) else { return }
            if kill.midWrite { midWrite += 1 }
            let lines = kill.lines
            let durable = Set(lines.filter { $0.count == 2 && $0[0] == "durable" }.compactMap { Int($0[1]) })
            let started = lines.filter { $0.count == 2 && $0[0] == "start" }.compactMap { Int($0[1]) }.filter { $0 > round * 1000 && $0 < (round + 1) * 1000 }
            for k in started {
                guard FileManager.default.fileExists(atPath: f.z("n\(k)")) else {
                    XCTAssertFalse(durable.contains(k), "round \(round): n\(k) vanished after its close returned")
                    continue
                }
                let r = f.cat("n\(k)", key: f.alice.key)
                XCTAssertEqual(r.status, 0, "round \(round): n\(k) does not decrypt: \(r.stderr)")
                if r.stdout.isEmpty {
                    XCTAssertFalse(durable.contains(k), "round \(round): n\(k) is empty after its close returned")
                    placeholders += 1
                    continue
                }
                XCTAssertEqual(Hex.encode(SHA256.hash(Array(r.stdout))), expectedDigest(k), "round \(round): n\(k) is neither empty nor complete")
            }
            if durable.isEmpty { delay *= 1.5 } else if midWrite * 2 < round { delay *= 0.8 }
        }
        print("StagedNewFileTests: \(kills) kills, \(midWrite) during a file, \(placeholders) left the empty file")
        XCTAssertGreaterThanOrEqual(midWrite, kills / 2, "most kills must land while a file is being written")
        XCTAssertEqual(f.sh("ls -A \"$Z\" | grep -c '^.triad-journal-' || true").out, "0\n", "a journal was left")
    }

    /// SHA-256 (hex) of the workload's `content(k)`, recomputed.
    private func expectedDigest(_ k: Int) -> String {
        let r = shell("python3", ["-c", """
        import hashlib, sys
        k = int(sys.argv[1])
        size = [4500000, 6000000, 9000000][k % 3] + k % 1000
        block = hashlib.sha256(b"%d" % k).digest() * 2048
        print(hashlib.sha256((block * (size // len(block) + 1))[:size]).hexdigest())
        """, String(k)])
        return r.out.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
