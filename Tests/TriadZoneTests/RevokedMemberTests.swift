import Foundation
import XCTest
import TriadCrypto
@testable import TriadFormat
@testable import TriadZone

/// A slot whose bytes the attacker chose: copied from another file, or made by hand.
struct FixedSlot: Recipient {
    let slot: KeySlot
    func wrap(_ fileKey: SecureBytes, fileID: [UInt8]) throws -> KeySlot { slot }
}

/// "Revocation means revocation" (docs/zone.md §7, docs/threat-model.md): Bob, a key-file
/// member, is revoked. He kept his key file, his epoch-1 zone key and the file keys he saw, and
/// as a colleague on the same storage he can still write the zone's files. Whatever he writes
/// with that, `zone status` must not report a file as re-encrypted when it is not, `zone rekey
/// --reencrypt` must re-encrypt every file he can read, and afterwards nothing he kept opens
/// anything. Each attack is made with the format library (what Bob's own tool would do); the
/// members answer with the real `zone` binary.
final class RevokedMemberTests: XCTestCase {
    var s: Scratch!
    var officer: (key: String, cert: String)!
    var alice: (key: String, cert: String)!
    var bob: (key: String, cert: String)!
    var mallory: (key: String, cert: String)!
    var recovery: (key: String, cert: String)!
    var z: String { s.path("z") }
    var zoneID: [UInt8] = []
    /// What Bob kept: his epoch-1 zone key and the file key of every file he saw.
    var bobZoneKey = SecureBytes(count: 32)
    var stolen: [String: SecureBytes] = [:]
    let texts = ["a": "ward a, written in epoch 1", "b": "ward b, written in epoch 1",
                 "c": "ward c, written in epoch 1", "d": "ward d, written in epoch 1"]

    override func setUpWithError() throws {
        s = Scratch()
        officer = PKI.make("officer-p256", "p256")
        alice = PKI.make("alice-p256", "p256")
        bob = PKI.make("bob-p384", "p384")
        mallory = PKI.make("mallory-p256", "p256")
        recovery = PKI.make("recovery-p384", "p384")
        for (name, text) in texts { s.write("z/" + name, Array(text.utf8)) }
        var r = s.zone("init", z, "--officer-cert", officer.cert, "--identity", "file:" + officer.key,
                       "--recovery-cert", recovery.cert, "--member", alice.cert, "--member", bob.cert)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(s.zone("encrypt", z, "--identity", "file:" + bob.key).status, 0)

        let zone = try Zone.open(root: z, context: s.context)
        zoneID = zone.policy.zoneID
        bobZoneKey = try XCTUnwrap(zone.zoneKeys(for: PKI.privateKey(bob.key), name: "bob")[1])
        for name in texts.keys {
            let header = try EncryptedFile.readHeader(at: s.path("z/" + name))
            stolen[name] = try XCTUnwrap(ZoneSlotKey(zoneID: zoneID, epoch: 1, zoneKey: bobZoneKey).unwrap(header.slots, fileID: header.fileID))
        }

        r = s.zone("revoke", z, "--cert", bob.cert, "--identity", "file:" + officer.key)
        XCTAssertEqual(r.status, 0, r.stderr)
        // A file written after the revocation: its key and marker are genuinely of epoch 2.
        s.write("z/g", Array("ward g, written in epoch 2".utf8))
        XCTAssertEqual(s.zone("encrypt", s.path("z/g"), "--identity", "file:" + alice.key).status, 0)
    }

    /// Whether the file key `key` (something Bob kept) opens `name`.
    func opens(_ name: String, with key: SecureBytes) -> Bool { opens(name, identity: KnownFileKey(fileKey: key)) }

    func opens(_ name: String, identity: any Identity) -> Bool {
        let leak = s.path("leak-\(name)")
        defer { try? FileManager.default.removeItem(atPath: leak) }
        return (try? EncryptedFile.decrypt(OpenedFile.at(s.path("z/" + name)), to: FileLocation.at(leak), identities: [identity]).commit()) != nil
    }

    /// Bob rewrites the header of `name` with the file key he kept: `keep` and `add` as in a
    /// rewrap; the MAC is recomputed, so the file stays valid for the members.
    func bobRewrites(_ name: String, keep: (KeySlot) -> Bool, add: [any Recipient]) throws {
        try EncryptedFile.rewrap(OpenedFile.at(s.path("z/" + name)), identities: [KnownFileKey(fileKey: stolen[name]!)], keep: keep, add: add).commit()
    }

    /// Bob replaces `name` by a file of the same plaintext under the file key he kept but with
    /// `fileID` (another file's id) and exactly `slots`.
    func bobReplaces(_ name: String, fileID: [UInt8], slots: [any Recipient]) throws {
        var queue = stolen[name]!.bytes + fileID
        let random = RandomSource { count in
            if queue.count >= count { defer { queue.removeFirst(count) }; return Array(queue.prefix(count)) }
            return SecureRandom.bytes(count: count)
        }
        try EncryptedFile.reencrypt(OpenedFile.at(s.path("z/" + name)), identities: [KnownFileKey(fileKey: stolen[name]!)],
                                    zoneID: zoneID, recipients: slots, random: random).commit()
        XCTAssertEqual(try EncryptedFile.readHeader(at: s.path("z/" + name)).fileID, fileID)
    }

    func cat(_ name: String, _ key: String) -> RunResult { s.zone("cat", s.path("z/" + name), "--identity", "file:" + key) }

    /// Bob rewrites the key-origin marker of four files he can read so that each claims a file
    /// key of epoch 2: (a) the unsigned 4-byte marker that used to be trusted; (b) a marker for
    /// epoch 2 signed with the key his epoch-1 zone key derives; (c) g's genuine marker, copied
    /// with g's file id into a file under his key (his old zone slot); (d) the same beside a
    /// damaged epoch-2 zone slot, so it looks rekeyed. Every one still opens for Alice (he made
    /// them readable, so members keep using them) and for him. Status counts each as stale,
    /// before and after a plain rekey; `rekey --reencrypt` re-encrypts each; then what Bob kept
    /// opens nothing and every file holds its text.
    func testForgedKeyOriginDoesNotHideAFileFromReencryption() throws {
        let g = try EncryptedFile.readHeader(at: s.path("z/g"))
        let gMarker = try XCTUnwrap(g.slots.first { $0.type == KeyOriginMarker.slotType })
        let notMarker: (KeySlot) -> Bool = { $0.type != KeyOriginMarker.slotType }
        try bobRewrites("a", keep: notMarker, add: [FixedSlot(slot: KeySlot(type: KeyOriginMarker.slotType, body: [0, 0, 0, 2]))])
        try bobRewrites("b", keep: notMarker, add: [KeyOriginMarker(zoneID: zoneID, epoch: 2, zoneKey: bobZoneKey)])
        let epoch1 = ZoneSlotKey(zoneID: zoneID, epoch: 1, zoneKey: bobZoneKey)
        let recoverySlot = RecoveryRecipient(certificate: PKI.certificate(recovery.cert))
        try bobReplaces("c", fileID: g.fileID, slots: [epoch1, FixedSlot(slot: gMarker), recoverySlot])
        let damagedEpoch2 = KeySlot(type: SlotType.zone, body: zoneID + [0, 0, 0, 2] + SecureRandom.bytes(count: 60))
        try bobReplaces("d", fileID: g.fileID, slots: [FixedSlot(slot: damagedEpoch2), epoch1, FixedSlot(slot: gMarker), recoverySlot])
        for name in texts.keys.sorted() {
            XCTAssertTrue(opens(name, with: stolen[name]!), "Bob reads his forged \(name)")
            XCTAssertEqual(cat(name, alice.key).out, texts[name], "the members still use \(name)")
        }

        var files = s.files("z")
        XCTAssertEqual(files["encrypted"], 5)
        XCTAssertEqual(files["stale_key_origin"], 4, "every forged marker counts as stale: \(files)")
        // A plain rekey moves the files to epoch 2 and keeps their keys: still stale, and the
        // marker copied into c and d is dropped (it commits to g's file key, not theirs).
        var r = s.zone("rekey", z, "--identity", "file:" + alice.key)
        XCTAssertEqual(r.status, 0, r.stderr)
        files = s.files("z")
        XCTAssertEqual(files["stale_epoch"], 0, "\(files)")
        XCTAssertEqual(files["stale_key_origin"], 4, "still stale after a plain rekey: \(files)")
        for name in ["c", "d"] {
            let header = try EncryptedFile.readHeader(at: s.path("z/" + name))
            XCTAssertFalse(header.slots.contains { $0.type == KeyOriginMarker.slotType }, "the copied marker left \(name)")
        }

        r = s.zone("rekey", z, "--identity", "file:" + alice.key, "--reencrypt")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.out.contains("4 file(s)"), r.out)
        files = s.files("z")
        XCTAssertEqual(files["stale_key_origin"], 0, "\(files)")
        XCTAssertEqual(files["stale_epoch"], 0, "\(files)")
        XCTAssertEqual(files["encrypted"], 5)
        for name in texts.keys.sorted() {
            XCTAssertFalse(opens(name, with: stolen[name]!), "what Bob kept no longer opens \(name)")
            XCTAssertFalse(opens(name, identity: ZoneSlotKey(zoneID: zoneID, epoch: 1, zoneKey: bobZoneKey)), "his zone key opens nothing")
            XCTAssertEqual(cat(name, bob.key).status, 1)
            XCTAssertEqual(cat(name, alice.key).out, texts[name], "\(name) lost nothing")
            XCTAssertEqual(cat(name, recovery.key).out, texts[name], "\(name) stays recoverable")
            let header = try EncryptedFile.readHeader(at: s.path("z/" + name))
            XCTAssertNotEqual(header.fileID, g.fileID)
        }
        XCTAssertEqual(cat("g", alice.key).out, "ward g, written in epoch 2")
        r = s.zone("rekey", z, "--identity", "file:" + alice.key, "--reencrypt")
        XCTAssertTrue(r.out.contains("0 file(s)"), "done files are recognised: \(r.out)")
    }

    /// Bob plants certificate slots with the file keys he kept: one for his own certificate in
    /// a (so his key file alone opens it, whatever happens to the file key he kept), and one for
    /// an accomplice in b with a re-grant record naming the recovery certificate, signed
    /// with his own key. Alice, a member, plants one
    /// for the accomplice in g, a file of the current epoch. A re-grant the recovery key made
    /// (with its record) is in c. Status names a, b and g with the planted fingerprints; a
    /// plain rekey removes those slots and keeps c's; `--reencrypt` also replaces g's key.
    func testPlantedCertificateSlotsAreReportedAndRemoved() throws {
        let bobCert = PKI.certificate(bob.cert), malloryCert = PKI.certificate(mallory.cert)
        let holder = PKI.make("holder-p256", "p256")
        let holderCert = PKI.certificate(holder.cert)
        try bobRewrites("a", keep: { _ in true }, add: [RecoveryRecipient(certificate: bobCert)])
        try bobRewrites("b", keep: { _ in true }, add: [
            RecoveryRecipient(certificate: malloryCert),
            // A record naming the zone's real recovery certificate, signed with Bob's key.
            try RegrantRecord(zoneID: zoneID, holder: malloryCert.fingerprint, recoveryCertificate: PKI.certificate(recovery.cert),
                          recoveryKey: PKI.privateKey(bob.key)),
        ])
        let aliceKeys = try Zone.open(root: z, context: s.context).zoneKeys(for: PKI.privateKey(alice.key), name: "alice")
        try EncryptedFile.rewrap(OpenedFile.at(s.path("z/g")), identities: [ZoneSlotKey(zoneID: zoneID, epoch: 2, zoneKey: aliceKeys[2]!)],
                                 keep: { _ in true }, add: [RecoveryRecipient(certificate: malloryCert)]).commit()
        try EncryptedFile.rewrap(OpenedFile.at(s.path("z/c")), identities: [RecoveryIdentity(key: PKI.privateKey(recovery.key))], keep: { _ in true },
                                 add: [RecoveryRecipient(certificate: holderCert),
                                       try RegrantRecord(zoneID: zoneID, holder: holderCert.fingerprint,
                                                     recoveryCertificate: PKI.certificate(recovery.cert), recoveryKey: PKI.privateKey(recovery.key))]).commit()
        XCTAssertEqual(cat("a", bob.key).out, texts["a"], "Bob's own key opens a through his slot")
        XCTAssertEqual(cat("b", mallory.key).out, texts["b"])
        XCTAssertEqual(cat("g", mallory.key).out, "ward g, written in epoch 2")
        XCTAssertEqual(cat("c", holder.key).out, texts["c"])

        let st = s.status("z")
        XCTAssertEqual((st["files"] as? [String: Int])?["unauthorised_certificate_slot"], 3, "\(st["files"] ?? "")")
        let listed = (st["unauthorised_certificate_slots"] as? [[String: Any]]) ?? []
        XCTAssertEqual(listed.compactMap { ($0["file"] as? String).map { ($0 as NSString).lastPathComponent } }, ["a", "b", "g"])
        XCTAssertEqual(listed.map { $0["certificates"] as? [String] ?? [] },
                       [[bobCert.fingerprint.hex], [malloryCert.fingerprint.hex], [malloryCert.fingerprint.hex]])
        let text = s.zone("status", z)
        XCTAssertEqual(text.status, 0)
        XCTAssertTrue(text.out.contains("WARNING: 3 file(s) carry a certificate slot"), text.out)
        XCTAssertTrue(text.out.contains(s.path("z/a") + ": " + bobCert.fingerprint.hex), text.out)

        // Plain rekey: the planted slots go, the recorded re-grant stays; file keys unchanged.
        var r = s.zone("rekey", z, "--identity", "file:" + alice.key)
        XCTAssertEqual(r.status, 0, r.stderr)
        var files = s.files("z")
        XCTAssertEqual(files["unauthorised_certificate_slot"], 0, "\(files)")
        for (name, key) in [("a", bob.key), ("b", mallory.key), ("g", mallory.key)] {
            XCTAssertEqual(cat(name, key).status, 1, "the planted slot in \(name) is gone")
            XCTAssertFalse(try EncryptedFile.readHeader(at: s.path("z/" + name)).hasCertificateSlot(for: name == "a" ? bobCert.fingerprint : malloryCert.fingerprint))
        }
        XCTAssertEqual(cat("c", holder.key).out, texts["c"], "the ceremony's re-grant is kept")
        XCTAssertTrue(try EncryptedFile.readHeader(at: s.path("z/c")).hasCertificateSlot(for: holderCert.fingerprint))
        XCTAssertTrue(opens("a", with: stolen["a"]!), "a plain rekey keeps the file key (docs/zone.md §7)")

        // A slot planted again, now in a file whose key is of the newest epoch: --reencrypt
        // replaces that key too, since the slot's owner may have unwrapped it.
        let gKeyBefore = try EncryptedFile.readHeader(at: s.path("z/g")).fileID
        try EncryptedFile.rewrap(OpenedFile.at(s.path("z/g")), identities: [ZoneSlotKey(zoneID: zoneID, epoch: 2, zoneKey: aliceKeys[2]!)],
                                 keep: { _ in true }, add: [RecoveryRecipient(certificate: malloryCert)]).commit()
        XCTAssertEqual(s.files("z")["unauthorised_certificate_slot"], 1)
        r = s.zone("rekey", z, "--identity", "file:" + alice.key, "--reencrypt")
        XCTAssertEqual(r.status, 0, r.stderr)
        files = s.files("z")
        XCTAssertEqual(files["unauthorised_certificate_slot"], 0, "\(files)")
        XCTAssertEqual(files["stale_key_origin"], 0, "\(files)")
        XCTAssertNotEqual(try EncryptedFile.readHeader(at: s.path("z/g")).fileID, gKeyBefore, "g got a new file key")
        XCTAssertEqual(cat("g", mallory.key).status, 1)
        for name in texts.keys.sorted() {
            XCTAssertFalse(opens(name, with: stolen[name]!), "nothing Bob kept opens \(name)")
            XCTAssertEqual(cat(name, bob.key).status, 1)
            XCTAssertEqual(cat(name, alice.key).out, texts[name])
        }
    }
}
