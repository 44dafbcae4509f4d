import Foundation
import XCTest
import TriadFormat
import TriadTestSupport

/// Plaintext outputs are safe (docs/zone.md §5b): `zone decrypt --output` never overwrites an
/// existing path without `--force` and never writes through a link; new plaintext is 0600
/// until it is committed; a killed in-place decrypt leaves nothing readable by others. Each
/// attack runs through the `zone` binary.
final class PlaintextOutputTests: XCTestCase {
    func setUpZone(_ s: Scratch, files: [String: String]) -> (key: String, z: String) {
        let officer = PKI.make("officer-p256", "p256"), recovery = PKI.make("recovery-p256", "p256")
        for (p, text) in files { s.write("z/" + p, Array(text.utf8)) }
        XCTAssertEqual(s.zone("init", s.path("z"), "--officer-cert", officer.cert, "--identity", "file:" + officer.key,
                              "--recovery-cert", recovery.cert).status, 0)
        XCTAssertEqual(s.zone("encrypt", s.path("z"), "--identity", "file:" + officer.key).status, 0)
        return (officer.key, s.path("z"))
    }

    func mode(_ path: String) -> mode_t {
        var st = stat()
        XCTAssertEqual(lstat(path, &st), 0, path)
        return st.st_mode & 0o7777
    }

    /// An output that exists is refused by name (exit 1, the file untouched) while every other
    /// file is written; with `--force` it is replaced, and the copy is 0600 (not the old 0644).
    func testExistingOutputIsNotOverwrittenWithoutForce() throws {
        let s = Scratch()
        let (key, z) = setUpZone(s, files: ["ward/a": "record a", "ward/b": "record b"])
        s.write("out/ward/a", Array("someone's existing file".utf8))
        XCTAssertEqual(chmod(s.path("out/ward/a"), 0o644), 0)

        var r = s.zone("decrypt", z, "--output", s.path("out"), "--identity", "file:" + key)
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains(s.path("out/ward/a")) && r.stderr.contains("--force"), r.stderr)
        XCTAssertEqual(s.read("out/ward/a"), Array("someone's existing file".utf8), "not overwritten")
        XCTAssertEqual(s.read("out/ward/b"), Array("record b".utf8), "the other file is written")
        XCTAssertEqual(mode(s.path("out/ward/b")), 0o600)

        r = s.zone("decrypt", z, "--output", s.path("out"), "--force", "--identity", "file:" + key)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(s.read("out/ward/a"), Array("record a".utf8))
        XCTAssertEqual(mode(s.path("out/ward/a")), 0o600, "replaced by a private file, not keeping the old mode")
        XCTAssertEqual(s.zone("decrypt", z, "--force", "--identity", "file:" + key).status, 2, "--force needs --output")
    }

    /// A link planted where a copy goes (to a file someone else can read, 0666): refused without
    /// `--force`; with it the link itself is replaced by a 0600 file and its target is never
    /// written. A planted link in place of an output folder is refused even with `--force`.
    func testOutputsNeverGoThroughALink() throws {
        let s = Scratch()
        let (key, z) = setUpZone(s, files: ["ward/a": "record a", "lab/c": "record c"])
        s.write("victim", Array("the link's target".utf8))
        XCTAssertEqual(chmod(s.path("victim"), 0o666), 0)
        s.write("elsewhere/.keep", [])
        s.write("out/.keep", [])
        XCTAssertEqual(mkdir(s.path("out/ward"), 0o755), 0)
        XCTAssertEqual(symlink(s.path("victim"), s.path("out/ward/a")), 0)
        XCTAssertEqual(symlink(s.path("elsewhere"), s.path("out/lab")), 0)

        var r = s.zone("decrypt", z, "--output", s.path("out"), "--identity", "file:" + key)
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains(s.path("out/ward/a")), r.stderr)
        XCTAssertTrue(r.stderr.contains(s.path("out/lab")) && r.stderr.contains("symbolic link"), r.stderr)
        XCTAssertEqual(s.read("victim"), Array("the link's target".utf8))

        r = s.zone("decrypt", z, "--output", s.path("out"), "--force", "--identity", "file:" + key)
        XCTAssertEqual(r.status, 1, "the linked folder is still refused: \(r.stderr)")
        XCTAssertEqual(s.read("victim"), Array("the link's target".utf8), "the link's target is never written")
        XCTAssertEqual(mode(s.path("victim")), 0o666)
        XCTAssertEqual(mode(s.path("out/ward/a")), 0o600, "the link itself was replaced by a private file")
        XCTAssertEqual(s.read("out/ward/a"), Array("record a".utf8))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: s.path("elsewhere")), [".keep"],
                       "nothing was written through the linked folder")
    }

    /// `zone decrypt` in place, SIGKILLed once the plaintext is complete in its temporary but
    /// not yet renamed: the temporary is 0600 (readable by its owner only), whatever the file's
    /// own mode (0644); a re-run finishes, and the file then gets its mode back.
    func testKilledInPlaceDecryptLeavesNothingReadableByOthers() throws {
        let s = Scratch()
        let size = 48 << 20
        s.write("z/big", [UInt8](repeating: 0x41, count: size))
        let (key, z) = setUpZone(s, files: [:])
        XCTAssertEqual(chmod(s.path("z/big"), 0o644), 0)

        let temporaries = { ((try? FileManager.default.contentsOfDirectory(atPath: z)) ?? []).filter { $0.hasPrefix(".triad-tmp-") } }
        var caught = 0
        // Killed 3 ms after the temporary is complete, then 1 ms, then at once: on a fast disk
        // its durability and the rename can take less than 3 ms.
        for delay: useconds_t in [3000, 1000, 0, 0, 0, 0, 0, 0] where caught == 0 {
            let child = try Command(Scratch.zoneBinary, ["decrypt", s.path("z/big"), "--identity", "file:" + key],
                                    environment: s.environment).start()
            let deadline = Date().addingTimeInterval(120)
            var killed = false
            while child.isRunning, Date() < deadline {
                if let t = temporaries().first {
                    var st = stat()
                    if lstat(z + "/" + t, &st) == 0, Int(st.st_size) == size {
                        // Complete: what is left is its final mode, durability and the rename.
                        usleep(delay)
                        child.kill(SIGKILL)
                        killed = true
                        break
                    }
                }
                usleep(500)
            }
            _ = child.wait(timeout: 30)
            // The kill landed before the rename only if the temporary is still there.
            if killed && !temporaries().isEmpty {
                caught += 1
            } else if !EncryptedFile.isEncrypted(at: s.path("z/big")) {
                // The rename came first: encrypt again and retry.
                XCTAssertEqual(s.zone("encrypt", s.path("z/big"), "--identity", "file:" + key).status, 0)
                XCTAssertEqual(chmod(s.path("z/big"), 0o644), 0)
            }
        }
        XCTAssertEqual(caught, 1, "a kill landed between the complete plaintext and its rename")
        let names = try FileManager.default.contentsOfDirectory(atPath: z)
        for name in names where name.hasPrefix(".triad-tmp-") {
            XCTAssertEqual(mode(z + "/" + name) & 0o077, 0, "the plaintext temporary \(name) is readable by others")
        }
        XCTAssertTrue(EncryptedFile.isEncrypted(at: s.path("z/big")), "the file is still the ciphertext")
        XCTAssertEqual(s.zone("decrypt", s.path("z/big"), "--identity", "file:" + key).status, 0)
        XCTAssertEqual(mode(s.path("z/big")), 0o644, "the committed file has its own mode")
    }
}
