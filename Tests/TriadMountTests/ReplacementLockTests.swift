import Foundation
import XCTest

/// docs/mount.md §4: the commands that replace a file by rename take its commit lock without
/// ever waiting for it, and rename only if the file is still what they read. A daemon's
/// commit acknowledged by `fsync` is never lost to a concurrent `zone rekey --reencrypt`, and
/// two `zone encrypt` runs of one tree both finish.
final class ReplacementLockTests: XCTestCase {
    /// Keeps every listed file open through the mount and writes an increasing counter at
    /// offset 0 of each in turn, fsyncing after every write, until the stop file appears;
    /// then prints, per file, the last counter whose fsync returned.
    static let writer = """
    import json, os, sys
    names, ready, stop = sys.argv[1].split(","), sys.argv[2], sys.argv[3]
    fds = {n: os.open(n, os.O_RDWR) for n in names}
    acked, n = {}, 0
    while not os.path.exists(stop):
        for name, fd in fds.items():
            n += 1
            os.pwrite(fd, b"%08d" % n, 0)
            os.fsync(fd)
            acked[name] = n
        if n >= 3 * len(names) and not os.path.exists(ready): open(ready, "w").write("ready\\n")
    for fd in fds.values(): os.close(fd)
    print(json.dumps(acked))
    """

    func testRekeyReencryptWhileADaemonWritesLosesNoAcknowledgedWrite() throws {
        let f = MountFixture(members: ["alice", "bob", "m1", "m2", "m3"])
        let names = (0..<24).map { String(format: "ward/record-%02d.txt", $0) }
        try FileManager.default.createDirectory(atPath: f.z("ward"), withIntermediateDirectories: true)
        for name in names { writeBytes(f.z(name), Array("00000000".utf8) + Array(repeating: UInt8(ascii: "r"), count: 150_000)) }
        XCTAssertEqual(f.run(["encrypt", f.zone, "--identity", "file:" + f.alice.key]).status, 0)
        let script = f.root + "/writer.py"
        try Self.writer.write(toFile: script, atomically: true, encoding: .utf8)

        for round in 1...3 {
            // A revocation starts a new epoch: every file's key now predates it and
            // `--reencrypt` replaces every file. The daemon mounts after it (it holds the newest key).
            var r = f.run(["revoke", f.zone, "--cert", PKI.make("m\(round)").cert, "--identity", "file:" + f.officer.key])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(f.mount().status, 0)
            let ready = f.root + "/ready\(round)", stop = f.root + "/stop\(round)"
            let box = Box<RunResult?>(nil)
            let writer = Thread { box.value = shell("python3", [script, names.map { f.m($0) }.joined(separator: ","), ready, stop]) }
            writer.start()
            let deadline = Date() + 60
            while !FileManager.default.fileExists(atPath: ready) && !writer.isFinished && Date() < deadline { usleep(20_000) }
            XCTAssertTrue(FileManager.default.fileExists(atPath: ready), "the writer runs: \(box.value?.stderr ?? "")")
            let before = names.map { ReplacementTests.fileID(f.z($0)) }

            r = f.run(["rekey", f.zone, "--reencrypt", "--identity", "file:" + f.alice.key])
            XCTAssertEqual(r.status, 0, "round \(round): \(r.stderr)")
            FileManager.default.createFile(atPath: stop, contents: Data())
            while !writer.isFinished { usleep(20_000) }
            XCTAssertEqual(box.value?.status, 0, "every write and fsync through the mount succeeded: \(box.value?.stderr ?? "")")
            XCTAssertEqual(f.unmount().status, 0)

            let acked = (try? JSONSerialization.jsonObject(with: box.value?.stdout ?? Data())) as? [String: Int] ?? [:]
            XCTAssertEqual(acked.count, names.count, "the writer reported every file")
            for (i, name) in names.enumerated() {
                XCTAssertNotEqual(ReplacementTests.fileID(f.z(name)), before[i], "round \(round): \(name) was re-encrypted")
                let cat = f.cat(name, key: f.bob.key)
                XCTAssertEqual(cat.status, 0, "round \(round): \(name) decrypts: \(cat.stderr)")
                XCTAssertEqual(String(cat.out.prefix(8)), String(format: "%08d", acked[f.m(name)] ?? -1),
                               "round \(round): \(name) holds the last write whose fsync returned")
                XCTAssertEqual(cat.stdout.count, 150_008, "round \(round): \(name) kept its size")
            }
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: f.z("ward")).filter { $0.hasPrefix(".") }
        XCTAssertEqual(left, [], "no journal or temporary is left behind")
    }

    /// Two `zone encrypt` runs of one tree at once (as two colleagues might start them): both
    /// finish within a bounded time (no deadlock), each file is encrypted once for the zone and decrypts.
    func testTwoConcurrentEncryptsOfOneTreeFinish() throws {
        let f = MountFixture()
        var expected: [String: String] = [:]
        for d in 0..<4 {
            try FileManager.default.createDirectory(atPath: f.z("d\(d)"), withIntermediateDirectories: true)
            for i in 0..<150 {
                let name = "d\(d)/f\(i).txt"
                expected[name] = "file \(name)\n" + String(repeating: "x", count: i * 37)
                writeBytes(f.z(name), Array(expected[name]!.utf8))
            }
        }
        let started = Date()
        let first = Box<RunResult?>(nil), second = Box<RunResult?>(nil)
        // The folders in opposite orders: the two runs meet in the middle, each holding locks
        // the other wants (a run that waited for them would never finish).
        let folders = (0..<4).map { f.z("d\($0)") }
        let a = Thread { first.value = f.run(["encrypt"] + folders + ["--identity", "file:" + f.alice.key]) }
        let b = Thread { second.value = f.run(["encrypt"] + folders.reversed() + ["--identity", "file:" + f.bob.key]) }
        a.start(); b.start()
        while !(a.isFinished && b.isFinished) && Date() < started + 120 { usleep(50_000) }
        XCTAssertTrue(a.isFinished && b.isFinished, "both runs finished within 120 s (no deadlock)")
        XCTAssertEqual(first.value?.status, 0, first.value?.stderr ?? "")
        XCTAssertEqual(second.value?.status, 0, second.value?.stderr ?? "")
        let out = f.root + "/plain"
        let r = f.run(["decrypt", f.zone, "--output", out, "--identity", "file:" + f.bob.key])
        XCTAssertEqual(r.status, 0, r.stderr)
        for (name, text) in expected {
            XCTAssertEqual(readBytes(f.z(name)).map { Array($0.prefix(4)) }, [0x89, 0x54, 0x52, 0x44], "\(name) is encrypted")
            XCTAssertEqual(readBytes(out + "/" + name).map { String(decoding: $0, as: UTF8.self) }, text, "\(name) decrypts to its content")
        }
    }
}
