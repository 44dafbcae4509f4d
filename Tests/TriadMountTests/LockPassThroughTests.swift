import Foundation
import TriadTestSupport
import XCTest

/// docs/mount.md §4 and §6: programs' `fcntl` and `flock` locks reach the backing file, so a
/// program on another mount of the same zone folder — another user, or the same user on
/// another terminal server — sees them, as two SQLite processes on one database must. Each
/// attempt below is a separate process on the *second* mount while a process on the first
/// holds its lock.
final class LockPassThroughTests: XCTestCase {
    /// Holds a lock on `path` until `release` exists, after writing `ready`.
    /// argv: path kind(fcntl|flock) mode(ex|sh) start length ready release
    static let holder = """
    import fcntl, os, sys, time
    path, kind, mode, start, length, ready, release = sys.argv[1:8]
    fd = os.open(path, os.O_RDWR)
    flag = fcntl.LOCK_EX if mode == "ex" else fcntl.LOCK_SH
    if kind == "fcntl":
        fcntl.lockf(fd, flag, int(length), int(start))
    else:
        fcntl.flock(fd, flag)
    open(ready, "w").close()
    for _ in range(400):
        if os.path.exists(release): break
        time.sleep(0.05)
    os.close(fd)
    """

    /// Tries once, without waiting; prints "taken" or "busy".
    /// argv: path kind mode start length
    static let prober = """
    import errno, fcntl, os, sys
    path, kind, mode, start, length = sys.argv[1:6]
    fd = os.open(path, os.O_RDWR)
    flag = (fcntl.LOCK_EX if mode == "ex" else fcntl.LOCK_SH) | fcntl.LOCK_NB
    try:
        if kind == "fcntl":
            fcntl.lockf(fd, flag, int(length), int(start))
        else:
            fcntl.flock(fd, flag)
        print("taken")
    except OSError as e:
        if e.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK): raise
        print("busy")
    """

    func testLocksHeldThroughOneMountAreSeenThroughAnother() throws {
        let f = MountFixture()
        let second = f.root + "/mnt2"
        try FileManager.default.createDirectory(atPath: second, withIntermediateDirectories: true)
        XCTAssertEqual(f.mount(as: "alice").status, 0)
        XCTAssertEqual(f.mount(as: "bob", at: second).status, 0)
        writeBytes(f.m("db"), [UInt8](repeating: 7, count: 5000))
        usleep(1_200_000)   // the second mount's attribute cache

        // (kind, holder's mode, holder's range, prober's mode, prober's range, expected)
        let cases: [(String, String, (Int, Int), String, (Int, Int), String)] = [
            ("fcntl", "ex", (0, 100), "ex", (50, 10), "busy"),
            ("fcntl", "ex", (0, 100), "sh", (0, 1), "busy"),
            ("fcntl", "ex", (0, 100), "ex", (1000, 10), "taken"),     // another range
            ("fcntl", "sh", (0, 100), "sh", (0, 100), "taken"),       // shared with shared
            ("fcntl", "sh", (0, 100), "ex", (99, 1), "busy"),
            ("fcntl", "ex", (0, 0), "ex", (1 << 40, 1), "busy"),      // "to the end of the file"
            ("flock", "ex", (0, 0), "ex", (0, 0), "busy"),
            ("flock", "sh", (0, 0), "sh", (0, 0), "taken"),
            ("flock", "sh", (0, 0), "ex", (0, 0), "busy"),
        ]
        for (n, c) in cases.enumerated() {
            let (kind, holdMode, hold, probeMode, probe, expected) = c
            let ready = f.root + "/ready-\(n)", release = f.root + "/release-\(n)"
            let holder = try Command("python3", ["-c", Self.holder, f.m("db"), kind, holdMode, String(hold.0), String(hold.1), ready, release]).start()
            var waited = 0
            while !FileManager.default.fileExists(atPath: ready) && waited < 200 { usleep(50_000); waited += 1 }
            XCTAssertTrue(FileManager.default.fileExists(atPath: ready), "case \(n): the holder never took its lock")
            if kind == "fcntl" && hold.1 != 0 {
                // A neighbour on the first mount locks another range and closes: its owner's
                // locks go, the holder's stay (a process-wide lock in the daemon would lose them all).
                XCTAssertEqual(probeOnce(f.m("db"), kind, "ex", (4000, 10)), "taken", "case \(n): a neighbour's other range")
            }
            let during = probeOnce(second + "/db", kind, probeMode, probe)
            XCTAssertEqual(during, expected, "case \(n) (\(c)): a second mount's attempt while the first holds its lock")
            FileManager.default.createFile(atPath: release, contents: nil)
            let r = holder.wait()
            XCTAssertEqual(r.exitCode, 0, r.description)
            // The holder closed its file: its lock is gone for everyone.
            XCTAssertEqual(probeOnce(second + "/db", kind, "ex", probe), "taken", "case \(n): the lock outlived its holder's close")
        }
        // The commit lock at 2^62 is the daemons' own: a program's lock "to the end" neither
        // blocks nor is blocked by commits.
        let writer = try Command("python3", ["-c", """
        import fcntl, os, sys
        fd = os.open(sys.argv[1], os.O_RDWR)
        fcntl.lockf(fd, fcntl.LOCK_EX, 0, 0)
        os.pwrite(fd, b"locked and written", 10)
        os.fsync(fd)
        os.close(fd)
        """, f.m("db")]).start().wait()
        XCTAssertEqual(writer.exitCode, 0, writer.description)
        XCTAssertEqual(f.unmount().status, 0)
        XCTAssertEqual(f.unmount(second).status, 0)
        let r = f.cat("db", key: f.alice.key)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(Array(Array(r.stdout)[10..<28]), Array("locked and written".utf8))
    }

    private func probeOnce(_ path: String, _ kind: String, _ mode: String, _ range: (Int, Int)) -> String {
        let r = shell("/usr/bin/python3", ["-c", Self.prober, path, kind, mode, String(range.0), String(range.1)])
        return r.status == 0 ? String(decoding: r.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "error: \(r.stderr)"
    }
}
