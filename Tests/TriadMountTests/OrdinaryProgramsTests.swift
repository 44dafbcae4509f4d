import Foundation
import XCTest

/// Ordinary programs on a mount behave as on a plain folder (docs/mount.md §6): each runs
/// the same script in a plain folder and through the mount, and the results must agree; the
/// files left in the zone are checked with `zone cat`.
final class OrdinaryProgramsTests: XCTestCase {
    /// Runs `script` with $D set to a plain folder and to the mount; returns both outputs.
    private func both(_ f: MountFixture, _ script: String, file: StaticString = #filePath, line: UInt = #line) -> (String, String) {
        let plain = f.root + "/plain"
        try? FileManager.default.createDirectory(atPath: plain, withIntermediateDirectories: true)
        let a = f.sh("D=\(plain); set -e; \(script)")
        let b = f.sh("D=\"$M\"; set -e; \(script)")
        XCTAssertEqual(a.status, 0, "plain folder: " + a.stderr, file: file, line: line)
        XCTAssertEqual(b.status, 0, "mount: " + b.stderr, file: file, line: line)
        return (a.out, b.out)
    }

    func testCopyCatSedTarRsync() throws {
        let f = MountFixture()
        XCTAssertEqual(f.mount().status, 0)
        let src = f.root + "/src"
        let made = shell("python3", ["-c", """
        import os, random, sys
        random.seed(5)
        for i in range(60):
            d = os.path.join(sys.argv[1], "w%d" % (i % 4))
            os.makedirs(d, exist_ok=True)
            open(os.path.join(d, "r%02d.txt" % i), "wb").write(os.urandom(random.choice([0, 10, 5000, 70000, 200000])))
        open(os.path.join(sys.argv[1], "note.txt"), "w").write("patient 4711\\nward 3\\n")
        """, src])
        XCTAssertEqual(made.status, 0, made.stderr)
        _ = shell("tar", ["-C", src, "-cf", f.root + "/src.tar", "."])
        let script = """
        cp -r \(src) "$D/copy"
        cat "$D/copy/note.txt"
        sed -i 's/4711/4712/' "$D/copy/note.txt"; cat "$D/copy/note.txt"
        mkdir "$D/untar"; tar -C "$D/untar" -xf \(f.root)/src.tar
        rsync -a \(src)/ "$D/rsynced/"
        echo appended >> "$D/copy/note.txt"
        cd "$D" && find copy untar rsynced -type f | sort | xargs md5sum
        stat -c '%n %s %a %Y' untar/w1/r01.txt rsynced/w1/r01.txt
        """
        let (plain, mounted) = both(f, script)
        let differing = zip(plain.split(separator: "\n"), mounted.split(separator: "\n")).filter { $0 != $1 }
        XCTAssertEqual(mounted, plain, "first differences: \(differing.prefix(3))")
        XCTAssertTrue(mounted.contains("patient 4712"))
        XCTAssertEqual(f.unmount().status, 0)
        XCTAssertEqual(f.cat("copy/note.txt", key: f.recovery.key).out, "patient 4712\nward 3\nappended\n")
        let leftovers = f.sh("find \"$Z\" -name '.*' -not -name .zone -not -path '*/.zone/*'")
        XCTAssertEqual(leftovers.out, "", "no temporaries or journals left in the zone")
    }

    func testSQLiteDatabase() throws {
        let f = MountFixture()
        XCTAssertEqual(f.mount().status, 0)
        let script = """
        sqlite3 "$D/ward.db" 'create table notes(id integer primary key, patient int, text text);'
        for i in $(seq 1 40); do sqlite3 "$D/ward.db" "insert into notes(patient, text) values ($i, hex(randomblob(3000)));"; done
        sqlite3 "$D/ward.db" 'begin; update notes set text = upper(text) where patient % 3 = 0; delete from notes where patient % 7 = 0; commit;'
        sqlite3 "$D/ward.db" 'vacuum;'
        sqlite3 "$D/ward.db" 'pragma integrity_check; select count(*), sum(patient) from notes;'
        """
        let (plain, mounted) = both(f, script)
        XCTAssertEqual(mounted, plain)
        XCTAssertTrue(mounted.hasPrefix("ok\n35|"), mounted)
        XCTAssertEqual(f.unmount().status, 0)
        let copy = f.root + "/copy.db"
        let r = f.cat("ward.db", key: f.bob.key)
        XCTAssertEqual(r.status, 0, r.stderr)
        writeBytes(copy, Array(r.stdout))
        XCTAssertEqual(shell("sqlite3", [copy, "pragma integrity_check;"]).out, "ok\n", "the database decrypted by zone cat is intact")
    }
}
