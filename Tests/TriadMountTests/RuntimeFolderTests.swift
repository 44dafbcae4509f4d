import Foundation
import TriadTestSupport
import XCTest

/// Another user of the terminal server against the mount's runtime folder (docs/mount.md §7):
/// the folder holding mount records and the control socket `zone unlock` sends a PIN to. In the
/// `/tmp/triad-UID` fallback anyone can create that folder first; the tests make it as another
/// user (uid 65534) under a runtime folder of the test's own, which is the same thing.
final class RuntimeFolderTests: XCTestCase {
    static let attacker = "65534"

    /// Makes `runtime/triad/mounts` as the other user would: theirs, open to all.
    func plantFolder(_ runtime: String) {
        XCTAssertEqual(shell("/bin/mkdir", ["-p", runtime + "/triad/mounts"]).status, 0)
        XCTAssertEqual(shell("/bin/chown", ["-R", "\(Self.attacker):\(Self.attacker)", runtime + "/triad"]).status, 0)
        XCTAssertEqual(shell("/bin/chmod", ["-R", "0777", runtime + "/triad"]).status, 0)
    }

    /// The socket name a mount at `point` has (MountRegistry: SHA-256 of the path, 32 hex digits).
    func socketName(_ point: String) -> String {
        String(shell("/bin/sh", ["-c", "printf %s \"$1\" | sha256sum | cut -c1-32", "sh", point]).out.prefix(32)) + ".sock"
    }

    /// A listener at `socket` that writes whatever it receives to `loot`. With `drop`, it binds
    /// as root and then listens as uid 65534, so the folder is root's but the listener is not.
    func listen(at socket: String, loot: String, drop: Bool) throws -> Process {
        let script = """
        import os, socket, sys
        path, loot, drop = sys.argv[1], sys.argv[2], sys.argv[3] == "drop"
        s = socket.socket(socket.AF_UNIX)
        s.bind(path)
        os.chmod(path, 0o777)
        if drop:
            os.setgroups([]); os.setgid(65534); os.setuid(65534)
        s.listen(1)
        open(loot + ".ready", "w").close()
        s.settimeout(30)
        c, _ = s.accept()
        data = b""
        while True:
            b = c.recv(1024)
            if not b: break
            data += b
        open(loot, "wb").write(data)
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: drop ? "/usr/bin/python3" : "/usr/bin/setpriv")
        let python = ["-c", script, socket, loot, drop ? "drop" : "stay"]
        process.arguments = drop ? python : ["--reuid=\(Self.attacker)", "--regid=\(Self.attacker)", "--clear-groups", "/usr/bin/python3"] + python
        try process.run()
        let deadline = Date().addingTimeInterval(10)
        while !FileManager.default.fileExists(atPath: loot + ".ready") && Date() < deadline { usleep(20_000) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: loot + ".ready"), "the listener did not start")
        return process
    }

    /// `zone unlock` of the fixture's mount with `runtime` as XDG_RUNTIME_DIR, PIN on fd 3.
    func unlock(_ f: MountFixture, runtime: String) throws -> ProcessResult {
        var env = f.environment
        env["XDG_RUNTIME_DIR"] = runtime
        var command = Command(MountFixture.zoneBinary, ["unlock", f.mountPoint, "--pin-fd", "3"], environment: env)
        command.inputs[3] = Data("739154\n".utf8)
        command.timeout = 30
        return try command.run()
    }

    func testAMountRefusesARuntimeFolderAnotherUserMadeFirst() throws {
        let f = MountFixture()
        plantFolder(f.root + "/run")
        let r = f.mount()
        XCTAssertNotEqual(r.status, 0, "the mount must not put its record and socket in another user's folder")
        XCTAssertTrue(r.stderr.contains("/triad is a folder of uid \(Self.attacker)") && r.stderr.contains("only you can use"), r.stderr)
        let table = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        XCTAssertFalse(table.contains(" \(f.mountPoint) "), "nothing stays mounted")
    }

    /// Mounts the fixture, puts the other user's listener at the mount's socket name under
    /// `runtime`, runs `zone unlock` with that runtime folder; the result and what the listener
    /// received (nil: it was never sent anything or never connected to).
    func unlockAgainstListener(_ f: MountFixture, runtime: String, drop: Bool) throws -> (ProcessResult, [UInt8]?) {
        XCTAssertEqual(f.mount().status, 0)
        let loot = f.root + "/loot"
        XCTAssertEqual(shell("/bin/mkdir", ["-m", "0777", loot]).status, 0)
        let listener = try listen(at: runtime + "/triad/mounts/" + socketName(f.mountPoint), loot: loot + "/got", drop: drop)
        defer { listener.terminate() }
        let r = try unlock(f, runtime: runtime)
        if drop { listener.waitUntilExit() }
        return (r, readBytes(loot + "/got"))
    }

    func testUnlockSendsNoPINIntoAFolderAnotherUserMade() throws {
        let f = MountFixture()
        let runtime = f.root + "/evil"
        plantFolder(runtime)
        let (r, got) = try unlockAgainstListener(f, runtime: runtime, drop: false)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.err.contains("only you can use"), r.err)
        XCTAssertFalse(String(decoding: got ?? [], as: UTF8.self).contains("739154"), "the PIN reached the other user")
    }

    func testUnlockSendsNoPINToAListenerOfAnotherUser() throws {
        let f = MountFixture()
        // The folder is the user's own (0700) but the listener at the socket's name is not
        // their daemon: it listens as uid 65534.
        let runtime = f.root + "/other"
        XCTAssertEqual(shell("/bin/mkdir", ["-p", "-m", "0700", runtime + "/triad/mounts"]).status, 0)
        XCTAssertEqual(shell("/bin/chmod", ["0700", runtime + "/triad"]).status, 0)
        let (r, got) = try unlockAgainstListener(f, runtime: runtime, drop: true)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.err.contains("served by uid \(Self.attacker), not by your mount daemon; the PIN was not sent"), r.err)
        XCTAssertEqual(got, [], "the listener saw the connection close with nothing sent")
    }
}
