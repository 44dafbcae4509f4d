import Foundation
import XCTest
import TriadCrypto
@testable import TriadZone

/// docs/zone.md §5: a tree round-trips for a member and for the recovery key
/// alone; a non-member is refused with exit 1; every key type works in every role.
final class RoundTripTests: XCTestCase {
    /// 0 B, 1 B, 64 KiB−1, 64 KiB, 64 KiB+1, 10 MiB and binary files, in nested folders.
    static func makeTree(_ s: Scratch, in dir: String) -> [String: [UInt8]] {
        var rng = SeededGenerator(seed: 2)
        var binary = [UInt8](0...255)
        binary += [0, 0, 0xFF, 0x0A, 0x0D, 0x1A] + rng.bytes(1000)
        let tree: [String: [UInt8]] = [
            "empty": [], "one": [0x42], "ward/a/64k-1": rng.bytes(65535), "ward/a/64k": rng.bytes(65536),
            "ward/b/64k+1": rng.bytes(65537), "ward/big-10MiB": rng.bytes(10 << 20), "binary.bin": binary,
            "notes.txt": Array("patient notes\n".utf8),
        ]
        for (p, data) in tree { s.write("\(dir)/\(p)", data) }
        return tree
    }

    func testTreeRoundTripsForMemberAndForRecoveryKeyAlone() throws {
        let s = Scratch()
        let officer = PKI.make("officer-p256", "p256"), alice = PKI.make("alice-rsa2048", "rsa2048")
        let recovery = PKI.make("recovery-p384", "p384")
        let tree = Self.makeTree(s, in: "z")
        let z = s.path("z")
        var r = s.zone("init", z, "--officer-cert", officer.cert, "--identity", "file:" + officer.key,
                       "--recovery-cert", recovery.cert, "--member", alice.cert)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("created; its first policy reads"), "init must give the first policy's words: \(r.stderr)")
        r = s.zone("encrypt", z, "--identity", "file:" + alice.key)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr, "", "no progress bar when stderr is not a terminal")
        for (p, data) in tree {
            XCTAssertTrue(s.read("z/" + p) != data, "\(p) still plaintext")
            XCTAssertTrue(s.read("z/" + p).count >= data.count + 16, "\(p) too short to be encrypted")
        }
        let files = s.files("z")
        XCTAssertEqual(files["encrypted"], tree.count)
        XCTAssertEqual(files["plaintext"], 0)
        XCTAssertEqual(files["missing_recovery_slot"], 0)
        XCTAssertEqual(files["stale_epoch"], 0)

        // Re-running skips files already encrypted (they are not encrypted twice).
        r = s.zone("encrypt", z, "--identity", "file:" + alice.key)
        XCTAssertTrue(r.out.contains("encrypted 0 file(s); \(tree.count) already encrypted"), r.out)

        for who in [alice, recovery] {
            let out = s.path("out-" + (who.key as NSString).lastPathComponent)
            r = s.zone("decrypt", z, "--identity", "file:" + who.key, "--output", out)
            XCTAssertEqual(r.status, 0, r.stderr)
            for (p, data) in tree {
                XCTAssertTrue(Array(FileManager.default.contents(atPath: out + "/" + p) ?? Data()) == data, "\(p) via \(who.key) differs")
            }
        }
        let mode = try FileManager.default.attributesOfItem(atPath: s.path("out-recovery-p384.key/ward/big-10MiB"))[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o600, "decrypted copies are private to their owner")
        r = s.zone("cat", s.path("z/ward/b/64k+1"), "--identity", "file:" + recovery.key)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(Array(r.stdout) == tree["ward/b/64k+1"], "cat by the recovery key differs")

        // In place, by the officer (the zone's first member).
        r = s.zone("decrypt", s.path("z/ward"), s.path("z/one"), "--identity", "file:" + officer.key)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(s.read("z/ward/big-10MiB") == tree["ward/big-10MiB"], "10 MiB file differs after in-place decrypt")
        XCTAssertEqual(s.read("z/one"), tree["one"])
        XCTAssertEqual(s.files("z")["plaintext"], 5)
    }

    func testNonMemberIsRefusedWithExit1() {
        let s = Scratch()
        let officer = PKI.make("officer-p256", "p256"), mallory = PKI.make("mallory-p256", "p256")
        let recovery = PKI.make("recovery-p384", "p384")
        s.write("z/secret", Array("diagnosis".utf8))
        XCTAssertEqual(s.zone("init", s.path("z"), "--officer-cert", officer.cert, "--identity", "file:" + officer.key,
                              "--recovery-cert", recovery.cert).status, 0)
        XCTAssertEqual(s.zone("encrypt", s.path("z"), "--identity", "file:" + officer.key).status, 0)
        let r = s.zone("cat", s.path("z/secret"), "--identity", "file:" + mallory.key)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stdout.isEmpty)
        XCTAssertTrue(r.stderr.contains("no key slot in \(s.path("z/secret")) matches file:\(mallory.key)"), r.stderr)
        let e = s.zone("encrypt", s.path("z"), "--identity", "file:" + mallory.key)
        XCTAssertEqual(e.status, 1)
        XCTAssertTrue(e.stderr.contains("is not a member"), e.stderr)
        let d = s.zone("decrypt", s.path("z"), "--identity", "file:" + mallory.key)
        XCTAssertEqual(d.status, 1)
        XCTAssertNotEqual(s.read("z/secret"), Array("diagnosis".utf8))
    }

    /// RSA 2048/3072, P-256 and P-384 keys from stock openssl as officers, members and recovery.
    func testEveryKeyTypeInEveryRole() {
        let setups: [(officer: String, member: String, recovery: String)] = [
            ("rsa3072", "p384", "rsa2048"), ("p384", "rsa3072", "p256"), ("rsa2048", "p256", "rsa3072"), ("p256", "rsa2048", "p384"),
        ]
        for (i, roles) in setups.enumerated() {
            let s = Scratch()
            let officer = PKI.make("officer-\(roles.officer)", roles.officer), member = PKI.make("member-\(roles.member)", roles.member)
            let recovery = PKI.make("recovery-\(roles.recovery)", roles.recovery)
            let plain = SeededGenerator(seed: UInt64(i + 10)).bytesCopy(70000)
            s.write("z/f", plain)
            XCTAssertEqual(s.zone("init", s.path("z"), "--officer-cert", officer.cert, "--identity", "file:" + officer.key,
                                  "--recovery-cert", recovery.cert, "--member", member.cert).status, 0, "\(roles)")
            XCTAssertEqual(s.zone("encrypt", s.path("z/f"), "--identity", "file:" + member.key).status, 0, "\(roles)")
            for who in [officer, member, recovery] {
                let r = s.zone("cat", s.path("z/f"), "--identity", "file:" + who.key)
                XCTAssertEqual(r.status, 0, "\(roles) \(who.key): \(r.stderr)")
                XCTAssertTrue(Array(r.stdout) == plain, "\(roles) \(who.key): plaintext differs")
            }
        }
    }

    func testEncryptedKeyFileWithPassphraseFD() {
        let s = Scratch()
        let officer = PKI.make("officer-p256", "p256"), recovery = PKI.make("recovery-p384", "p384")
        let encKey = s.path("officer-enc.key"), pass = s.path("pass")
        XCTAssertTrue(FileManager.default.createFile(atPath: pass, contents: Data("correct horse\n".utf8)))
        XCTAssertEqual(shell("openssl", ["pkey", "-in", officer.key, "-aes256", "-passout", "file:" + pass, "-out", encKey]).status, 0)
        s.write("z/f", Array("x".utf8))
        let ok = s.zoneShell("\"$ZONE\" init '\(s.path("z"))' --officer-cert '\(officer.cert)' --identity 'file:\(encKey)' --passphrase-fd 3 --recovery-cert '\(recovery.cert)' 3<'\(pass)'")
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertTrue(FileManager.default.createFile(atPath: pass, contents: Data("wrong\n".utf8)))
        let bad = s.zoneShell("\"$ZONE\" encrypt '\(s.path("z"))' --identity 'file:\(encKey)' --passphrase-fd 3 3<'\(pass)' </dev/null")
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("passphrase"), bad.stderr)
    }

    func testUsageErrorsExit2AndHelpExits0() {
        let s = Scratch()
        XCTAssertEqual(s.zone("--help").status, 0)
        XCTAssertEqual(s.zone("encrypt", "--help").status, 0)
        XCTAssertEqual(s.zone("encrypt", s.root).status, 2, "missing --identity")
        XCTAssertEqual(s.zone("encrypt", s.root, "--identity", "/no/prefix.key").status, 2)
        XCTAssertEqual(s.zone("frobnicate").status, 2)
        let r = s.zone("encrypt", s.root, "--identity", "file:/nonexistent.key")
        XCTAssertEqual(r.status, 1)
    }
}

extension SeededGenerator {
    func bytesCopy(_ n: Int) -> [UInt8] { var g = self; return g.bytes(n) }
}
