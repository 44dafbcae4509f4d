import Foundation
import XCTest
import TriadCrypto
import TriadFormat

/// `zone mount` through the real binary and the kernel's FUSE (docs/mount.md §1–§6):
/// what ordinary file calls see, and that what lands in the zone is an ordinary Triad file.
final class MountBasicsTests: XCTestCase {
    func testReadWriteAndTheBackingFilesAreOrdinaryZoneFiles() throws {
        let f = MountFixture()
        writeBytes(f.z("record.txt"), Array("patient 4711: notes\n".utf8))
        XCTAssertEqual(f.run(["encrypt", f.zone, "--identity", "file:" + f.alice.key]).status, 0)
        let r = f.mount()
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(readBytes(f.m("record.txt")), Array("patient 4711: notes\n".utf8), "a suite-1 file reads through the mount")

        // New files of several sizes around the segment boundaries.
        var expected: [String: [UInt8]] = [:]
        for size in [0, 1, 65_535, 65_536, 65_537, 300_000] {
            let data = SecureRandom.bytes(count: size)
            writeBytes(f.m("new-\(size)"), data)
            expected["new-\(size)"] = data
        }
        for (name, data) in expected { XCTAssertEqual(readBytes(f.m(name)), data, name) }
        let attributes = try FileManager.default.attributesOfItem(atPath: f.m("new-300000"))
        XCTAssertEqual(attributes[.size] as? Int, 300_000, "stat shows the plaintext size")

        XCTAssertEqual(f.unmount().status, 0)
        XCTAssertFalse(try String(contentsOfFile: "/proc/mounts", encoding: .utf8).contains(f.mountPoint), "unmounted")
        for (name, data) in expected {
            XCTAssertTrue(EncryptedFile.isEncrypted(at: f.z(name)), "\(name) is encrypted in the zone")
            XCTAssertEqual(Array(f.cat(name, key: f.recovery.key).stdout), data, "the recovery key opens \(name)")
            XCTAssertEqual(Array(f.cat(name, key: f.bob.key).stdout), data, "another member opens \(name)")
        }
        let status = f.run(["status", f.zone, "--json"])
        let files = (try JSONSerialization.jsonObject(with: status.stdout) as? [String: Any])?["files"] as? [String: Int]
        XCTAssertEqual(files?["encrypted"], 7)
        XCTAssertEqual(files?["plaintext"], 0)
        XCTAssertEqual(files?["missing_recovery_slot"], 0)
        XCTAssertEqual(files?["stale_epoch"], 0)
    }

    /// Writes at any offset, appends, truncation both ways, overwrites across segment
    /// boundaries: the mount behaves as a plain file, checked against a model in memory.
    func testRandomWritesMatchAPlainFile() throws {
        let f = MountFixture()
        XCTAssertEqual(f.mount().status, 0)
        let script = """
        import os, random, sys
        random.seed(7)
        a, b = sys.argv[1], sys.argv[2]
        fa = os.open(a, os.O_RDWR | os.O_CREAT, 0o600); fb = os.open(b, os.O_RDWR | os.O_CREAT, 0o600)
        for step in range(400):
            op = random.random()
            size = os.fstat(fb).st_size
            if op < 0.6:
                off = random.randrange(0, size + 70000)
                data = os.urandom(random.choice([1, 17, 4096, 65536, 70000, 200000]))
                os.pwrite(fa, data, off); os.pwrite(fb, data, off)
            elif op < 0.7:
                n = random.randrange(0, size + 140000)
                os.ftruncate(fa, n); os.ftruncate(fb, n)
            elif op < 0.8:
                os.fsync(fa)
            elif op < 0.9:
                os.close(fa); fa = os.open(a, os.O_RDWR)
            else:
                off = random.randrange(0, size + 1)
                n = random.randrange(0, 150000)
                if os.pread(fa, n, off) != os.pread(fb, n, off):
                    print("mismatch at step", step, "offset", off); sys.exit(1)
            if os.fstat(fa).st_size != os.fstat(fb).st_size:
                print("size mismatch at step", step, os.fstat(fa).st_size, os.fstat(fb).st_size); sys.exit(1)
        os.close(fa); os.close(fb)
        if open(a, 'rb').read() != open(b, 'rb').read():
            print("final content differs"); sys.exit(1)
        """
        let model = f.root + "/model"
        let r = shell("python3", ["-c", script, f.m("db"), model])
        XCTAssertEqual(r.status, 0, r.out + r.stderr)
        XCTAssertEqual(f.unmount().status, 0)
        XCTAssertEqual(Array(f.cat("db", key: f.alice.key).stdout), readBytes(model), "zone cat agrees after unmount")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: f.zone).sorted(), [".zone", "db"],
                       "no journal or temporary is left behind")
    }

    func testNamespaceOperations() throws {
        let f = MountFixture()
        XCTAssertEqual(f.mount().status, 0)
        let r = f.sh("""
        set -e
        mkdir "$M/ward"; mkdir "$M/ward/sub"
        echo one > "$M/ward/a"; echo two > "$M/ward/b"
        mv "$M/ward/a" "$M/ward/sub/a2"
        rm "$M/ward/b"
        chmod 640 "$M/ward/sub/a2"
        touch -d '2020-01-02 03:04:05' "$M/ward/sub/a2"
        stat -c '%a %Y %s' "$M/ward/sub/a2"
        ls -A "$M/ward"
        rmdir "$M/ward/sub" 2>/dev/null && echo "rmdir of a non-empty folder succeeded"
        df "$M" >/dev/null
        cat "$M/ward/sub/a2"
        """)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.out, "640 1577934245 4\nsub\none\n")
        XCTAssertEqual(f.sh("ls -A \"$M\"").out, "ward\n", ".zone is hidden")
        XCTAssertNotEqual(f.sh("echo x > \"$M/.triad-journal-00\"").status, 0, "journal names cannot be created")
        XCTAssertNotEqual(f.sh("ln \"$M/ward/sub/a2\" \"$M/hard\"").status, 0, "hard links are refused")
        XCTAssertNotEqual(f.sh("ln -s /etc/passwd \"$M/link\"").status, 0, "symbolic links are refused")
        XCTAssertEqual(f.unmount().status, 0)
        XCTAssertEqual(f.cat("ward/sub/a2", key: f.bob.key).out, "one\n")
        var st = stat()
        XCTAssertEqual(stat(f.z("ward/sub/a2"), &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o640, "chmod reached the backing file")
    }

    /// A non-member is refused before anything is mounted, with the message `zone encrypt` gives.
    func testNonMemberIsRefused() throws {
        let f = MountFixture()
        let r = f.mount(as: "mallory")
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("is not a member of the zone"), r.stderr)
        XCTAssertFalse(try String(contentsOfFile: "/proc/mounts", encoding: .utf8).contains(f.mountPoint))
    }

    /// Another user on the same machine cannot read through the mount (no allow_other).
    func testAnotherUserIsRefused() throws {
        let f = MountFixture()
        XCTAssertEqual(f.mount().status, 0)
        writeBytes(f.m("secret"), Array("ward 7".utf8))
        _ = shell("/bin/chmod", ["755", f.root])
        let r = shell("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "cat", f.m("secret")])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("Permission denied"), r.stderr)
        XCTAssertFalse(r.out.contains("ward 7"))
    }

    func testMountsListsAndUnmountRefusesWhatIsNotMounted() throws {
        let f = MountFixture()
        XCTAssertEqual(f.mount(extra: ["--read-only"]).status, 0)
        let list = f.run(["mounts", "--json"])
        XCTAssertEqual(list.status, 0)
        let mounts = (try JSONSerialization.jsonObject(with: list.stdout) as? [String: Any])?["mounts"] as? [[String: Any]] ?? []
        let mine = mounts.first { $0["mount_point"] as? String == f.mountPoint }
        XCTAssertEqual(mine?["zone"] as? String, f.zone)
        XCTAssertEqual(mine?["read_only"] as? Bool, true)
        XCTAssertEqual(mine?["member_subject"] as? String, "O=Test Hospital,CN=alice")
        XCTAssertNotEqual(f.sh("echo x > \"$M/new\"").status, 0, "a read-only mount refuses writes")
        XCTAssertEqual(f.unmount().status, 0)
        let again = f.unmount()
        XCTAssertEqual(again.status, 1)
        XCTAssertTrue(again.stderr.contains("no zone is mounted there"), again.stderr)
    }
}
