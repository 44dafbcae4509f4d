import Foundation
import XCTest

/// docs/mount.md §4: a command that replaces a zone file by rename (`zone rekey --reencrypt`
/// here) takes the file's commit lock, and a daemon that has the file open follows its name
/// to the new file: it reads the new file and its writes land there, not in the unlinked old
/// inode where they would be lost.
final class ReplacementTests: XCTestCase {
    /// Opens the file through the mount, writes "X" at 0 and fsyncs, says "ready", waits for
    /// "go", then writes "Y" at 1, fsyncs and prints what the same descriptor reads.
    static let program = """
    import os, sys, time
    path, ready, go = sys.argv[1], sys.argv[2], sys.argv[3]
    fd = os.open(path, os.O_RDWR)
    os.pwrite(fd, b"X", 0); os.fsync(fd)
    open(ready, "w").write("ready\\n")
    deadline = time.time() + 60
    while not os.path.exists(go) and time.time() < deadline: time.sleep(0.05)
    time.sleep(1.2)   # past the attribute timeout and the once-a-second name check
    os.pwrite(fd, b"Y", 1); os.fsync(fd)
    sys.stdout.write(os.pread(fd, 100, 0).decode()); sys.stdout.flush()
    os.close(fd)
    """

    func testRekeyReencryptOfAFileOpenThroughAMount() throws {
        let f = MountFixture(members: ["alice", "bob", "mallory"])
        writeBytes(f.z("record.txt"), Array("patient 4711: stable\n".utf8))
        XCTAssertEqual(f.run(["encrypt", f.zone, "--identity", "file:" + f.alice.key]).status, 0)
        // A revocation starts a new epoch: the file's key now predates it.
        var r = f.run(["revoke", f.zone, "--cert", f.mallory.cert, "--identity", "file:" + f.officer.key])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(f.mount().status, 0)

        let script = f.root + "/writer.py", ready = f.root + "/ready", go = f.root + "/go"
        try Self.program.write(toFile: script, atomically: true, encoding: .utf8)
        let output = f.root + "/writer.out"
        let box = Box<RunResult?>(nil)
        let writer = Thread { box.value = shell("python3", [script, f.m("record.txt"), ready, go]) }
        writer.start()
        let deadline = Date() + 30
        while !FileManager.default.fileExists(atPath: ready) && Date() < deadline { usleep(50_000) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: ready), "the program opened and wrote the file")
        let before = Self.fileID(f.z("record.txt"))

        r = f.run(["rekey", f.zone, "--reencrypt", "--identity", "file:" + f.alice.key])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertNotEqual(Self.fileID(f.z("record.txt")), before, "the file was re-encrypted (a new file id)")
        FileManager.default.createFile(atPath: go, contents: Data())
        while !writer.isFinished { usleep(50_000) }
        _ = output
        XCTAssertEqual(box.value?.status, 0, box.value?.stderr ?? "")
        XCTAssertEqual(box.value?.out, "XYtient 4711: stable\n", "the open descriptor reads the new file, with both writes")

        XCTAssertEqual(f.unmount().status, 0)
        XCTAssertEqual(f.cat("record.txt", key: f.bob.key).out, "XYtient 4711: stable\n",
                       "the write made after the rekey is in the zone's file, which decrypts")
        XCTAssertNotEqual(f.cat("record.txt", key: f.mallory.key).status, 0, "the revoked member cannot open it")
        let status = f.run(["status", f.zone, "--json"])
        let files = (try JSONSerialization.jsonObject(with: status.stdout) as? [String: Any])?["files"] as? [String: Int]
        XCTAssertEqual(files?["stale_epoch"], 0, "the file stayed in the newest epoch: \(status.out)")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: f.zone).sorted(), [".zone", "record.txt"],
                       "no journal or temporary is left behind")
    }

    /// The file id of a Triad file (docs/format.md: 32 bytes at offset 12).
    static func fileID(_ path: String) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path), data.count >= 44 else { return [] }
        return Array(data[12..<44])
    }
}
