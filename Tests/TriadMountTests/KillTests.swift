import Foundation
import TriadTestSupport
import XCTest

/// docs/mount.md §3.3: SIGKILL of the daemon at any moment leaves every file at an earlier
/// durable content or the new one, always decryptable. A workload rewrites several files in
/// place through the mount (writes in several segments, growth past the final segment,
/// shrinking), logging each version before it starts and after its fsync returns; the daemon
/// is killed at a random moment, 30 times; after each kill every file must decrypt (with
/// `zone cat`, which replays or discards a journal) to the last durable version or the one
/// in flight. The kill moment adapts to how long a version takes, and the test asserts that
/// most kills landed while a version was being written.
final class KillTests: XCTestCase {
    static let workload = """
    import os, random, sys, hashlib
    mnt, log, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    def content(name, k):
        # Version k of a file: deterministic, between 0 and 400 KB, changes in several segments.
        r = random.Random(hashlib.sha256(("%s/%d" % (name, k)).encode()).digest())
        size = r.choice([0, 1, 65536, 65537, 140000, 300000, 400000])
        return bytes(r.getrandbits(8) for _ in range(min(size, 64))) * (size // 64) + bytes(size % 64)
    logf = open(log, "a", buffering=1)
    names = ["a", "b", "c"]
    start = {n: 0 for n in names}
    for line in open(log).read().split("\\n"):
        p = line.split()
        if len(p) == 3 and p[0] == "durable": start[p[1]] = max(start[p[1]], int(p[2]))
    fds = {n: os.open(os.path.join(mnt, n), os.O_RDWR | os.O_CREAT, 0o600) for n in names}
    rnd = random.Random(seed)
    k = max(start.values())
    try:
        while True:
            k += 1
            n = rnd.choice(names)
            new = content(n, k)
            logf.write("start %s %d\\n" % (n, k)); os.fsync(logf.fileno())
            fd = fds[n]
            old_size = os.fstat(fd).st_size
            # Rewrite in pieces, back to front, so a torn commit would mix versions.
            pos = len(new)
            while pos > 0:
                step = rnd.choice([4096, 65536, 100000])
                lo = max(0, pos - step)
                os.pwrite(fd, new[lo:pos], lo)
                pos = lo
            if old_size > len(new): os.ftruncate(fd, len(new))
            os.fsync(fd)
            logf.write("durable %s %d\\n" % (n, k)); os.fsync(logf.fileno())
    except OSError:
        sys.exit(0)
    """

    func testThirtySIGKILLsDuringWrites() throws {
        let f = MountFixture()
        let log = f.root + "/versions.log"
        FileManager.default.createFile(atPath: log, contents: Data())
        let script = f.root + "/workload.py"
        try Self.workload.write(toFile: script, atomically: true, encoding: .utf8)
        var midWrite = 0, journalsLeft = 0
        var delay = 0.3
        let kills = 30
        for round in 0..<kills {
            guard let kill = try f.killRound(workload: [script, f.mountPoint, log, String(round)], log: log, delay: delay) else { return }
            let lines = kill.lines
            if kill.midWrite { midWrite += 1 }
            journalsLeft += f.sh("ls -A \"$Z\" | grep -c '^.triad-journal-' || true").out.trimmingCharacters(in: .whitespacesAndNewlines) == "0" ? 0 : 1
            // Every file: the last durable version, or one started after it.
            for name in ["a", "b", "c"] {
                let durable = lines.filter { $0.count == 3 && $0[0] == "durable" && $0[1] == Substring(name) }.compactMap { Int($0[2]) }.max() ?? 0
                let started = lines.filter { $0.count == 3 && $0[0] == "start" && $0[1] == Substring(name) }.compactMap { Int($0[2]) }
                let candidates = [durable] + started.filter { $0 > durable }
                guard FileManager.default.fileExists(atPath: f.z(name)) else {
                    XCTAssertEqual(durable, 0, "round \(round): \(name) vanished after version \(durable) was durable")
                    continue
                }
                let r = f.cat(name, key: f.alice.key)
                XCTAssertEqual(r.status, 0, "round \(round): \(name) does not decrypt: \(r.stderr)")
                let matches = candidates.contains { expected(name, $0) == Array(r.stdout) } || (durable == 0 && r.stdout.isEmpty)
                XCTAssertTrue(matches, "round \(round): \(name) is neither its durable version \(durable) nor one in flight \(candidates)")
            }
            // Adapt: aim the kill at the middle of the next versions.
            let versions = lines.filter { $0.first == "durable" }.count
            if versions == 0 { delay *= 1.5 } else if midWrite * 2 < round { delay *= 0.8 }
        }
        print("KillTests: \(kills) kills, \(midWrite) during a write, \(journalsLeft) left a journal to replay or discard")
        XCTAssertGreaterThanOrEqual(midWrite, kills / 2, "most kills must land while a version is being written")
        XCTAssertGreaterThan(journalsLeft, 0, "some kills must leave a journal behind")
        XCTAssertEqual(f.sh("ls -A \"$Z\" | grep -c '^.triad-journal-' || true").out, "0\n", "zone cat replayed or discarded every journal")
    }

    /// The workload's `content(name, k)`, recomputed here.
    private func expected(_ name: String, _ k: Int) -> [UInt8] {
        let r = shell("python3", ["-c", """
        import random, hashlib, sys
        name, k = sys.argv[1], int(sys.argv[2])
        r = random.Random(hashlib.sha256(("%s/%d" % (name, k)).encode()).digest())
        size = r.choice([0, 1, 65536, 65537, 140000, 300000, 400000])
        sys.stdout.buffer.write(bytes(r.getrandbits(8) for _ in range(min(size, 64))) * (size // 64) + bytes(size % 64))
        """, name, String(k)])
        return Array(r.stdout)
    }
}
