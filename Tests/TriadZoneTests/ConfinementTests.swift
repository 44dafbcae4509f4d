import Foundation
import XCTest
import TriadFormat
import TriadTestSupport

/// Files stay inside the zone (docs/zone.md §1b): every zone file is opened beneath the zone
/// root's descriptor, no link followed in any component, non-blocking, and must be a regular
/// file. Each attack runs through the `zone` binary as IT or a colleague with write access to
/// the folder would, and checks the refusal and that nothing outside the zone was read or
/// written.
final class ConfinementTests: XCTestCase {
    struct Setup {
        let s = Scratch()
        let officer = PKI.make("officer-p256", "p256")
        let recovery = PKI.make("recovery-p256", "p256")
        var z: String { s.path("z") }
        var identity: [String] { ["--identity", "file:" + officer.key] }

        init() {
            s.write("z/ward/notes", Array("ward notes".utf8))
            s.write("outside/private", Array("a member's private file outside the zone".utf8))
            let r = s.zone("init", s.path("z"), "--officer-cert", officer.cert, "--identity", "file:" + officer.key,
                           "--recovery-cert", recovery.cert)
            XCTAssertEqual(r.status, 0, r.stderr)
        }

        @discardableResult
        func zone(_ args: [String], timeout: TimeInterval = 60) -> ProcessResult {
            var command = Command(Scratch.zoneBinary, args, environment: s.environment)
            command.timeout = timeout
            return try! command.run()
        }

        /// Every name in a folder, with its bytes: what "nothing outside was touched" compares.
        func snapshot(_ folder: String) -> [String: [UInt8]] {
            var out: [String: [UInt8]] = [:]
            for name in (try? FileManager.default.contentsOfDirectory(atPath: s.path(folder))) ?? [] {
                out[name] = s.read(folder + "/" + name)
            }
            return out
        }
    }

    /// `zone encrypt ZONE/linkdir/file` with `linkdir` a link to a folder outside the zone:
    /// refused, naming the link; the outside file stays plaintext and nothing is created there.
    /// `decrypt`, `decrypt --output` and `cat` of a zone file moved out there are refused the same
    /// way, and no plaintext is written or printed.
    func testLinkedFolderInAPathLeadsNowhere() throws {
        let t = Setup()
        XCTAssertEqual(symlink(t.s.path("outside"), t.s.path("z/linkdir")), 0)
        let before = t.snapshot("outside")

        var r = t.zone(["encrypt", t.s.path("z/linkdir/private")] + t.identity)
        XCTAssertEqual(r.status, 1, r.description)
        XCTAssertTrue(r.err.contains("symbolic link"), r.err)
        XCTAssertEqual(t.snapshot("outside"), before, "nothing outside the zone was written")

        // A zone file that lies outside (moved there): reachable only through the link.
        XCTAssertEqual(t.zone(["encrypt", t.s.path("z/ward/notes")] + t.identity).status, 0)
        XCTAssertEqual(rename(t.s.path("z/ward/notes"), t.s.path("outside/enc")), 0)
        let ciphertext = t.s.read("outside/enc")
        let withCipher = t.snapshot("outside")
        for args in [["decrypt", t.s.path("z/linkdir/enc")],
                     ["decrypt", t.s.path("z/linkdir/enc"), "--output", t.s.path("out")],
                     ["cat", t.s.path("z/linkdir/enc")]] {
            r = t.zone(args + t.identity)
            XCTAssertEqual(r.status, 1, r.description)
            XCTAssertTrue(r.err.contains("symbolic link"), r.err)
            XCTAssertFalse(r.out.contains("ward notes"), "no plaintext printed")
            XCTAssertEqual(t.s.read("outside/enc"), ciphertext)
            XCTAssertEqual(t.snapshot("outside"), withCipher, "nothing outside the zone was written")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: t.s.path("out/linkdir/enc")), "no plaintext copy was made")
    }

    /// A link in the tree to a member's private file outside the zone (what a swap between the
    /// listing and the open would leave): skipped and named, never followed; the outside file
    /// never becomes a zone file. A hard link to it (another name for the same content) is
    /// refused by name.
    func testLinksInTheTreeAreSkippedAndNamed() throws {
        let t = Setup()
        XCTAssertEqual(symlink(t.s.path("outside/private"), t.s.path("z/ward/soft")), 0)
        XCTAssertEqual(link(t.s.path("outside/private"), t.s.path("z/ward/hard")), 0)
        let before = t.snapshot("outside")

        let r = t.zone(["encrypt", t.z] + t.identity)
        XCTAssertEqual(r.status, 1, "the hard link is a file that could not be processed: \(r.description)")
        XCTAssertTrue(r.err.contains(t.s.path("z/ward/soft")) && r.err.contains("symbolic link"), r.err)
        XCTAssertTrue(r.err.contains(t.s.path("z/ward/hard")) && r.err.contains("hard links"), r.err)
        XCTAssertTrue(EncryptedFile.isEncrypted(at: t.s.path("z/ward/notes")), "the other files are processed")
        XCTAssertEqual(t.snapshot("outside"), before, "the private file is untouched")
        XCTAssertFalse(EncryptedFile.isEncrypted(at: t.s.path("z/ward/hard")), "no zone file shares the private file's content")
        var st = stat()
        XCTAssertEqual(lstat(t.s.path("z/ward/soft"), &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFLNK, "the link is left as it is")
    }

    /// A FIFO in the tree, a FIFO given to `zone cat`, `encrypt`, `decrypt` and a link to
    /// /dev/zero: every command ends within seconds with a clear error (or a note, in a tree),
    /// nothing hangs, nothing is read.
    func testFIFOsAndDevicesNeverHang() throws {
        let t = Setup()
        XCTAssertEqual(mkfifo(t.s.path("z/ward/pipe"), 0o644), 0)
        XCTAssertEqual(symlink("/dev/zero", t.s.path("z/ward/zero")), 0)

        var r = t.zone(["encrypt", t.z] + t.identity, timeout: 30)
        XCTAssertFalse(r.timedOut, "encrypt of a tree with a FIFO hung")
        XCTAssertEqual(r.status, 0, r.description)
        XCTAssertTrue(r.err.contains(t.s.path("z/ward/pipe")) && r.err.contains("FIFO"), r.err)
        XCTAssertTrue(r.err.contains(t.s.path("z/ward/zero")), r.err)
        XCTAssertTrue(EncryptedFile.isEncrypted(at: t.s.path("z/ward/notes")))

        for (args, expected) in [(["cat", t.s.path("z/ward/pipe")], "FIFO"),
                                 (["cat", t.s.path("z/ward/zero")], "symbolic link"),
                                 (["encrypt", t.s.path("z/ward/pipe")], "not a regular file"),
                                 (["encrypt", t.s.path("z/ward/zero")], "not a regular file"),
                                 (["decrypt", t.s.path("z/ward/pipe")], "not a regular file")] {
            let started = Date()
            r = t.zone(args + t.identity, timeout: 20)
            XCTAssertFalse(r.timedOut, "\(args) hung")
            XCTAssertLessThan(Date().timeIntervalSince(started), 15)
            XCTAssertNotEqual(r.status, 0, r.description)
            XCTAssertTrue(r.err.contains(expected), "\(args): \(r.err)")
            XCTAssertTrue(r.out.isEmpty, "nothing printed")
        }
        r = t.zone(["status", t.z, "--json"], timeout: 20)
        XCTAssertFalse(r.timedOut)
        XCTAssertEqual(r.status, 0, r.description)
    }
}
