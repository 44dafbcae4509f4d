import Foundation
import XCTest
import TriadCrypto
import TriadFormat
@testable import TriadZone

/// An identity that already knows a file key: what a revoked member holds if they kept an
/// old header and the old zone key (docs/format.md §8, the limit of lazy rekeying).
struct KnownFileKey: Identity {
    let fileKey: SecureBytes
    func unwrap(_ slots: [KeySlot], fileID: [UInt8]) throws -> SecureBytes? { fileKey }
}

/// Revocation: new epoch; the revoked member cannot open files written afterwards; after
/// `rekey --reencrypt` not the old ones either; `status` shows stale_epoch moving to 0.
final class RevocationTests: XCTestCase {
    func testRevokeRekeyAndReencrypt() throws {
        let s = Scratch()
        let officer = PKI.make("officer-p256", "p256"), alice = PKI.make("alice-rsa2048", "rsa2048")
        let bob = PKI.make("bob-p384", "p384"), recovery = PKI.make("recovery-p384", "p384")
        let z = s.path("z")
        s.write("z/old1", Array("written before the revocation".utf8))
        s.write("z/dir/old2", [UInt8](repeating: 7, count: 70000))
        XCTAssertEqual(s.zone("init", z, "--officer-cert", officer.cert, "--identity", "file:" + officer.key,
                              "--recovery-cert", recovery.cert, "--member", alice.cert, "--member", bob.cert).status, 0)
        XCTAssertEqual(s.zone("encrypt", z, "--identity", "file:" + bob.key).status, 0)

        // Bob keeps what he could see while a member: his epoch-1 zone key and old1's header.
        let before = try Zone.open(root: z, context: s.context)
        let bobKeys = try before.zoneKeys(for: PKI.privateKey(bob.key), name: "bob")
        let bobEpoch1 = ZoneSlotKey(zoneID: before.policy.zoneID, epoch: 1, zoneKey: bobKeys[1]!)
        let oldHeader = try EncryptedFile.readHeader(at: s.path("z/old1"))
        let stolenFileKey = try XCTUnwrap(bobEpoch1.unwrap(oldHeader.slots, fileID: oldHeader.fileID))

        var r = s.zone("revoke", z, "--cert", bob.cert, "--identity", "file:" + officer.key)
        XCTAssertEqual(r.status, 0, r.stderr)
        var st = s.status("z")
        XCTAssertEqual(st["epoch"] as? Int, 2)
        XCTAssertFalse((st["members"] as? [String] ?? []).contains(PKI.certificate(bob.cert).fingerprint.hex))
        XCTAssertEqual((st["files"] as? [String: Int])?["stale_epoch"], 2)

        // Bob is out: the tool refuses him, and his old zone key opens nothing new.
        s.write("z/new", Array("written after the revocation".utf8))
        XCTAssertEqual(s.zone("encrypt", z, "--identity", "file:" + bob.key).status, 1)
        XCTAssertEqual(s.zone("encrypt", z, "--identity", "file:" + alice.key).status, 0)
        r = s.zone("cat", s.path("z/new"), "--identity", "file:" + bob.key)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("no key slot in"), r.stderr)
        XCTAssertThrowsError(try EncryptedFile.decrypt(OpenedFile.at(s.path("z/new")), to: FileLocation.at(s.path("leak")), identities: [bobEpoch1]).commit())
        XCTAssertEqual(s.zone("cat", s.path("z/new"), "--identity", "file:" + alice.key).out, "written after the revocation")
        XCTAssertEqual(s.files("z")["stale_epoch"], 2)

        // Header-only rekey: files move to epoch 2, but old1's file key is unchanged.
        r = s.zone("rekey", z, "--identity", "file:" + alice.key)
        XCTAssertEqual(r.status, 0, r.stderr)
        var files = s.files("z")
        XCTAssertEqual(files["stale_epoch"], 0)
        XCTAssertEqual(files["stale_key_origin"], 2)
        XCTAssertThrowsError(try EncryptedFile.decrypt(OpenedFile.at(s.path("z/old1")), to: FileLocation.at(s.path("leak")), identities: [bobEpoch1]).commit(),
                             "the re-wrapped header has no epoch-1 slot")
        XCTAssertNoThrow(try EncryptedFile.decrypt(OpenedFile.at(s.path("z/old1")), to: FileLocation.at(s.path("leak")), identities: [KnownFileKey(fileKey: stolenFileKey)]).commit(),
                         "a header-only rekey cannot take back a file key Bob already saw")

        // Full re-encryption: new file keys, so what Bob kept opens nothing.
        r = s.zone("rekey", z, "--identity", "file:" + alice.key, "--reencrypt")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.out.contains("2 file(s)"), r.out)
        XCTAssertThrowsError(try EncryptedFile.decrypt(OpenedFile.at(s.path("z/old1")), to: FileLocation.at(s.path("leak")), identities: [KnownFileKey(fileKey: stolenFileKey)]).commit())
        files = s.files("z")
        XCTAssertEqual(files["stale_epoch"], 0)
        XCTAssertEqual(files["stale_key_origin"], 0)
        XCTAssertEqual(files["encrypted"], 3)
        // Done files are recognised: a second run has nothing to do (resumable).
        r = s.zone("rekey", z, "--identity", "file:" + alice.key, "--reencrypt")
        XCTAssertTrue(r.out.contains("0 file(s)"), r.out)
        for (p, text) in [("z/old1", "written before the revocation"), ("z/new", "written after the revocation")] {
            XCTAssertEqual(s.zone("cat", s.path(p), "--identity", "file:" + recovery.key).out, text)
            XCTAssertEqual(s.zone("cat", s.path(p), "--identity", "file:" + officer.key).out, text)
        }
        st = s.status("z")
        XCTAssertEqual(st["policy_version"] as? Int, 2)
        let history = st["policy_history"] as? [String: Any]
        XCTAssertEqual(history?["versions"] as? Int, 2)
        XCTAssertEqual(history?["intact"] as? Bool, true, "\(history ?? [:])")
    }

    /// A member granted later reads files of earlier epochs too (every epoch is wrapped for them).
    func testGrantWrapsEveryEpoch() {
        let s = Scratch()
        let officer = PKI.make("officer-p256", "p256"), alice = PKI.make("alice-rsa2048", "rsa2048")
        let carol = PKI.make("carol-rsa3072", "rsa3072"), recovery = PKI.make("recovery-p384", "p384")
        let z = s.path("z")
        s.write("z/e1", Array("epoch one".utf8))
        XCTAssertEqual(s.zone("init", z, "--officer-cert", officer.cert, "--identity", "file:" + officer.key,
                              "--recovery-cert", recovery.cert, "--member", alice.cert).status, 0)
        XCTAssertEqual(s.zone("encrypt", z, "--identity", "file:" + alice.key).status, 0)
        XCTAssertEqual(s.zone("revoke", z, "--cert", alice.cert, "--identity", "file:" + officer.key).status, 0)
        var r = s.zone("grant", z, "--cert", carol.cert, "--identity", "file:" + officer.key)
        XCTAssertEqual(r.status, 0, r.stderr)
        r = s.zone("cat", s.path("z/e1"), "--identity", "file:" + carol.key)
        XCTAssertEqual(r.out, "epoch one", r.stderr)
        r = s.zone("grant", z, "--cert", carol.cert, "--identity", "file:" + officer.key)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("already a member"), r.stderr)
        r = s.zone("grant", z, "--cert", alice.cert, "--identity", "file:" + carol.key)
        XCTAssertEqual(r.status, 1, "a member who is not an officer cannot grant")
        XCTAssertTrue(r.stderr.contains("not an officer"), r.stderr)
    }
}
