import Foundation
import TriadTestSupport
import XCTest

/// docs/format.md §14.5 and docs/mount.md §3.3: a file created through the mount carries a
/// new-file mark until its first commit is durable, and that commit is written in place with
/// no journal. Through the real binaries: the mark on a new file and gone after its close, no
/// journal made; a torn first commit under its mark read by `zone cat` and by the next daemon
/// as the empty file it was; a mark an insider made or moved from another file ignored (the
/// damaged file is still refused, not emptied); SIGKILLs while new files are written.
final class NewFileMarkTests: XCTestCase {
    static let mark = "user.triad.new-file"

    /// Python that prints the mark of each backing file named (hex, or "-").
    static let readMarks = """
    import os, sys
    for p in sys.argv[1:]:
        try: print(os.getxattr(p, "\(mark)").hex())
        except OSError: print("-")
    """

    /// Creates `$M/NAME` through the mount, copies the mark of its backing file while it is
    /// still empty (as a crash right after the create would leave it), writes `size` bytes,
    /// closes. Returns the mark seen, or nil.
    private func createCapturingMark(_ f: MountFixture, _ name: String, size: Int) -> String? {
        let r = f.sh("""
        python3 -c 'import os, sys
        fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        print(os.getxattr(sys.argv[2], "\(Self.mark)").hex())
        os.write(fd, bytes(range(256)) * (int(sys.argv[3]) // 256)); os.close(fd)' "$M/\(name)" "$Z/\(name)" \(size)
        """)
        XCTAssertEqual(r.status, 0, r.stderr)
        let hex = r.out.trimmingCharacters(in: .whitespacesAndNewlines)
        return hex.count == 80 ? hex : nil
    }

    private func setMark(_ path: String, hex: String) {
        let r = shell("python3", ["-c", "import os, sys; os.setxattr(sys.argv[1], '\(Self.mark)', bytes.fromhex(sys.argv[2]))", path, hex])
        XCTAssertEqual(r.status, 0, r.stderr)
    }

    private func marks(_ paths: [String]) -> [String] {
        shell("python3", ["-c", Self.readMarks] + paths).out.split(separator: "\n").map(String.init)
    }

    func testANewFileIsMarkedUntilItsFirstCommitIsDurableAndNeedsNoJournal() throws {
        let f = MountFixture()
        XCTAssertEqual(f.mount().status, 0)
        guard let mark = createCapturingMark(f, "new", size: 30_000) else { return XCTFail("the new file carried no mark while empty") }
        XCTAssertTrue(mark.hasPrefix(Array("TRIADNF1".utf8).map { String(format: "%02x", $0) }.joined()), mark)
        XCTAssertEqual(marks([f.z("new")]), ["-"], "the first commit removed the mark once durable")
        XCTAssertEqual(f.sh("ls -A \"$Z\" | grep -c '^.triad-journal-' || true").out, "0\n", "no journal for a first commit")
        XCTAssertEqual(readBytes(f.m("new")), Array(repeating: Array(0...255) as [UInt8], count: 30_000 / 256).flatMap { $0 })
        // A second commit of the same file goes through the journal as before (§14.2).
        XCTAssertEqual(f.sh("printf 'tail' >> \"$M/new\"").status, 0)
        XCTAssertEqual(readBytes(f.m("new"))?.count, 30_000 / 256 * 256 + 4)
        XCTAssertEqual(f.unmount().status, 0)
    }

    /// A crash between the in-place writes of a first commit and the mark's removal, with the
    /// writes torn: the mark is put back on the written file and a segment damaged by hand.
    func testATornFirstCommitUnderItsMarkReadsAsTheEmptyFileItWas() throws {
        let f = MountFixture()
        XCTAssertEqual(f.mount().status, 0)
        guard let markA = createCapturingMark(f, "a", size: 30_000),
              let markB = createCapturingMark(f, "b", size: 30_000) else { return XCTFail("no mark") }
        XCTAssertEqual(f.unmount().status, 0)
        let whole = try XCTUnwrap(readBytes(f.z("a")))
        // a: torn (a byte of segment 3 changed) under its own mark. b: whole under its own mark.
        var torn = whole
        torn[torn.count / 2] ^= 0x40
        writeBytes(f.z("a"), torn)
        setMark(f.z("a"), hex: markA)
        setMark(f.z("b"), hex: markB)

        let catA = f.cat("a", key: f.alice.key)
        XCTAssertEqual(catA.status, 0, catA.stderr)
        XCTAssertEqual(catA.stdout.count, 0, "a torn first commit under its mark is the empty file")
        let emptySize = try XCTUnwrap(readBytes(f.z("a"))).count
        XCTAssertLessThan(emptySize, 2_000, "zone cat reset the file to the empty file")
        XCTAssertEqual(marks([f.z("a")]), [markA], "the reset keeps the mark")
        let catB = f.cat("b", key: f.alice.key)
        XCTAssertEqual(catB.status, 0, catB.stderr)
        XCTAssertEqual(catB.stdout.count, 30_000 / 256 * 256, "a whole first commit under its mark stands")
        XCTAssertEqual(marks([f.z("b")]), ["-"], "verified and durable: the mark is removed")

        // The same through a daemon's open: torn again, the next daemon reads the empty file.
        writeBytes(f.z("a"), torn)   // a new inode: the mark is put back as well
        setMark(f.z("a"), hex: markA)
        XCTAssertEqual(f.mount().status, 0)
        XCTAssertEqual(readBytes(f.m("a")), [], "the daemon's open reset the torn first commit")
        XCTAssertEqual(f.unmount().status, 0)
        XCTAssertEqual(try XCTUnwrap(readBytes(f.z("a"))).count, emptySize)
    }

    /// IT, with write access to the folder but no file key, damages a finished file and gives
    /// it a mark — made up, or the real mark of another new file — hoping the damage reads as
    /// an empty file instead of being refused. Neither is this file's mark: both are ignored,
    /// the file is refused as damaged and its bytes are left as they are.
    func testAMarkNotMadeWithTheFilesKeyIsIgnored() throws {
        let f = MountFixture()
        XCTAssertEqual(f.mount().status, 0)
        XCTAssertNotNil(createCapturingMark(f, "victim", size: 30_000))
        guard let other = createCapturingMark(f, "other", size: 256) else { return XCTFail("no mark") }
        XCTAssertEqual(f.unmount().status, 0)
        var damaged = try XCTUnwrap(readBytes(f.z("victim")))
        damaged[damaged.count / 2] ^= 0x40
        writeBytes(f.z("victim"), damaged)
        let madeUp = "54524941444e4631" + String(repeating: "ab", count: 32)
        for (what, hex) in [("a made-up mark", madeUp), ("another file's mark", other)] {
            setMark(f.z("victim"), hex: hex)
            let r = f.cat("victim", key: f.alice.key)
            XCTAssertNotEqual(r.status, 0, "\(what): the damaged file must be refused")
            XCTAssertTrue(r.stderr.contains("victim"), "\(what): the error names the file: \(r.stderr)")
            XCTAssertEqual(readBytes(f.z("victim")), damaged, "\(what): the file is not reset")
        }
        setMark(f.z("victim"), hex: other)
        XCTAssertEqual(f.mount().status, 0)
        XCTAssertNil(readBytes(f.m("victim")), "through the mount: reading the damaged file fails")
        XCTAssertEqual(f.unmount().status, 0)
        XCTAssertEqual(readBytes(f.z("victim")), damaged, "the daemon did not reset it either")
    }

    static let newFiles = """
    import os, random, sys, hashlib
    mnt, log, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    def content(k):
        r = random.Random(hashlib.sha256(b"new/%d" % k).digest())
        size = r.choice([1, 4096, 4097, 30000, 140000, 300000])
        return bytes(r.getrandbits(8) for _ in range(64)) * (size // 64) + bytes(size % 64)
    logf = open(log, "a", buffering=1)
    k = sum(1 for line in open(log) if line.startswith("start"))
    try:
        while True:
            k += 1
            logf.write("start n%d\\n" % k); os.fsync(logf.fileno())
            fd = os.open(os.path.join(mnt, "n%d" % k), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            data = content(k)
            for lo in range(0, len(data), 10240): os.write(fd, data[lo:lo + 10240])
            os.close(fd)
            logf.write("durable n%d\\n" % k); os.fsync(logf.fileno())
    except OSError:
        sys.exit(0)
    """

    /// SIGKILL while a program writes new files one after another, as `tar x` does (each
    /// closed before the next): every file whose close returned reads back whole, and the one
    /// in flight is absent, empty or whole — never undecryptable.
    func testSIGKILLsWhileNewFilesAreWritten() throws {
        let f = MountFixture()
        let log = f.root + "/new-files.log"
        FileManager.default.createFile(atPath: log, contents: Data())
        let script = f.root + "/new-files.py"
        try Self.newFiles.write(toFile: script, atomically: true, encoding: .utf8)
        var midWrite = 0, markedInFlight = 0, inFlightEmpty = 0
        var started: [String] = [], durable = Set<String>()
        let kills = 10
        for round in 0..<kills {
            guard let kill = try f.killRound(workload: [script, f.mountPoint, log, String(round)], log: log,
                                             delay: 0.4) else { return }
            if kill.midWrite { midWrite += 1 }
            started = kill.lines.filter { $0.count == 2 && $0[0] == "start" }.map { String($0[1]) }
            durable = Set(kill.lines.filter { $0.count == 2 && $0[0] == "durable" }.map { String($0[1]) })
            // The file in flight, read by `zone cat` (which verifies or resets it, §14.5), and
            // the last two whose close returned; the rest are read through a mount at the end.
            guard let inFlight = started.last(where: { !durable.contains($0) }) else { continue }
            for name in [inFlight] + started.filter(durable.contains).suffix(2) {
                guard FileManager.default.fileExists(atPath: f.z(name)) else {
                    XCTAssertFalse(durable.contains(name), "round \(round): \(name) vanished after its close returned")
                    continue
                }
                if name == inFlight, marks([f.z(name)]) != ["-"] { markedInFlight += 1 }
                let r = f.cat(name, key: f.alice.key)
                XCTAssertEqual(r.status, 0, "round \(round): \(name) does not decrypt: \(r.stderr)")
                let whole = Array(r.stdout) == content(Int(name.dropFirst())!)
                if name == inFlight && r.stdout.isEmpty { inFlightEmpty += 1 }
                XCTAssertTrue(whole || (name == inFlight && r.stdout.isEmpty), "round \(round): \(name) is neither whole nor, in flight, empty")
            }
        }
        // Every file whose close returned, read back whole through a mount.
        XCTAssertEqual(f.mount().status, 0)
        let check = f.sh("""
        python3 -c 'import os, sys, random, hashlib
        for name in sys.argv[2:]:
            r = random.Random(hashlib.sha256(b"new/%d" % int(name[1:])).digest())
            size = r.choice([1, 4096, 4097, 30000, 140000, 300000])
            want = bytes(r.getrandbits(8) for _ in range(64)) * (size // 64) + bytes(size % 64)
            if open(os.path.join(sys.argv[1], name), "rb").read() != want: print("differs", name)' "$M" \(durable.sorted().joined(separator: " "))
        """)
        XCTAssertEqual(check.status, 0, check.stderr)
        XCTAssertEqual(check.out, "", "files whose close returned")
        XCTAssertEqual(f.unmount().status, 0)
        print("NewFileMarkTests: \(kills) kills, \(midWrite) while a new file was written, \(markedInFlight) left it under its mark, \(inFlightEmpty) read as empty; \(durable.count) files closed")
        XCTAssertGreaterThanOrEqual(midWrite, kills / 2, "most kills must land while a file is being written")
        XCTAssertGreaterThan(markedInFlight, 0, "some kills must leave a file under its mark")
        XCTAssertGreaterThan(durable.count, kills, "files were written between the kills")
        XCTAssertEqual(f.sh("ls -A \"$Z\" | grep -c '^.triad-journal-' || true").out, "0\n", "new files made no journal")
    }

    private func content(_ k: Int) -> [UInt8] {
        Array(shell("python3", ["-c", """
        import random, hashlib, sys
        r = random.Random(hashlib.sha256(b"new/%d" % int(sys.argv[1])).digest())
        size = r.choice([1, 4096, 4097, 30000, 140000, 300000])
        sys.stdout.buffer.write(bytes(r.getrandbits(8) for _ in range(64)) * (size // 64) + bytes(size % 64))
        """, String(k)]).stdout)
    }
}
