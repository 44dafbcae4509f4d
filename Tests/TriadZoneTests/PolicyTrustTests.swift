import Foundation
import XCTest
import TriadCrypto
@testable import TriadZone

/// docs/zone.md §3 and docs/threat-model.md §3: IT controls the zone folder but cannot add a member, swap the recovery
/// certificate or roll the policy back; each hand edit is refused with a message saying so.
final class PolicyTrustTests: XCTestCase {
    var s: Scratch!
    var officer: (key: String, cert: String)!
    var alice: (key: String, cert: String)!
    var mallory: (key: String, cert: String)!
    var recovery: (key: String, cert: String)!
    var z: String { s.path("z") }

    override func setUp() {
        s = Scratch()
        officer = PKI.make("officer-p256", "p256")
        alice = PKI.make("alice-rsa2048", "rsa2048")
        mallory = PKI.make("mallory-p256", "p256")
        recovery = PKI.make("recovery-p384", "p384")
        s.write("z/f", Array("record".utf8))
        XCTAssertEqual(s.zone("init", z, "--officer-cert", officer.cert, "--identity", "file:" + officer.key,
                              "--recovery-cert", recovery.cert, "--member", alice.cert).status, 0)
    }

    /// The same signer and signature around an edited body: what a hand edit produces.
    func handEdit(_ edit: (inout ZonePolicy) -> Void) throws {
        let zone = try Zone.load(root: z)
        var policy = zone.policy
        edit(&policy)
        var w = ByteWriter()
        w.raw(SignedPolicy.magic)
        w.blob(policy.encoded())
        w.blob(zone.signed.signer.der)
        w.blob(zone.signed.signature)
        try Data(w.bytes).write(to: URL(fileURLWithPath: zone.policyPath))
    }

    func assertRefused(_ identity: (key: String, cert: String), containing text: String, checkStatus: Bool = true, line: UInt = #line) {
        let r = s.zone("encrypt", z, "--identity", "file:" + identity.key)
        XCTAssertEqual(r.status, 1, line: line)
        XCTAssertTrue(r.stderr.contains(text), "expected “\(text)” in: \(r.stderr)", line: line)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "one line on stderr", line: line)
        XCTAssertEqual(s.read("z/f"), Array("record".utf8), "nothing encrypted into a refused zone", line: line)
        guard checkStatus else { return }
        let st = s.status("z")
        XCTAssertEqual(st["policy_signature_valid"] as? Bool, false, line: line)
    }

    func testHandAddedMemberIsRefused() throws {
        try handEdit { $0.members.append(PKI.certificate(mallory.cert)) }
        assertRefused(mallory, containing: "is not signed by an officer")
        assertRefused(alice, containing: "is not signed by an officer")
    }

    /// The kept history is checked link by link: an edited old version or a missing one shows in
    /// status, and every command that uses keys refuses the zone (docs/zone.md §3).
    func testPolicyHistoryReportsBreaks() throws {
        let bob = PKI.make("bob-p384", "p384")
        XCTAssertEqual(s.zone("grant", z, "--cert", bob.cert, "--identity", "file:" + officer.key).status, 0)
        XCTAssertEqual(try PolicyHistory.verify(root: z), PolicyHistory(versions: 2, problems: []))
        let v1 = Zone.policyPath(root: z, version: 1)
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: v1)))
        bytes[bytes.count - 3] ^= 1
        try Data(bytes).write(to: URL(fileURLWithPath: v1))
        let broken = try PolicyHistory.verify(root: z)
        XCTAssertEqual(broken.problems, [ZoneError.policySignatureInvalid(file: v1).description,
                                         ZoneError.brokenLink(file: Zone.policyPath(root: z, version: 2), previous: "policy.1").description])
        assertRefused(alice, containing: "policy.1 is not signed by an officer")
        try FileManager.default.removeItem(atPath: v1)
        XCTAssertEqual(try PolicyHistory.verify(root: z).problems,
                       [ZoneError.historyGap(file: Zone.policyPath(root: z, version: 2), missing: 1).description])
        assertRefused(alice, containing: "policy.1 is missing before")
        let history = s.status("z")["policy_history"] as? [String: Any]
        XCTAssertEqual(history?["intact"] as? Bool, false)
    }

    func testHandSwappedRecoveryCertificateIsRefused() throws {
        try handEdit { $0.recoveryCertificates = [PKI.certificate(mallory.cert)] }
        assertRefused(alice, containing: "is not signed by an officer")
    }

    func testPolicySignedByAnImpostorIsRefused() throws {
        let zone = try Zone.load(root: z)
        var policy = zone.policy
        policy.version = 2
        policy.previousPolicyHash = zone.signed.hash
        policy.officers = [PKI.certificate(mallory.cert)]
        policy.members.append(PKI.certificate(mallory.cert))
        let forged = try SignedPolicy.sign(policy, officer: PKI.certificate(mallory.cert), key: PKI.privateKey(mallory.key))
        try Data(forged.fileBytes).write(to: URL(fileURLWithPath: Zone.policyPath(root: z, version: 2)))
        assertRefused(alice, containing: "who is not an officer of policy.1")
        // With a trust file that lists the real officer and mallory, the same.
        let trust = s.path("trust.pem")
        try (String(contentsOfFile: officer.cert, encoding: .utf8) + String(contentsOfFile: recovery.cert, encoding: .utf8)
             + String(contentsOfFile: mallory.cert, encoding: .utf8))
            .write(toFile: trust, atomically: true, encoding: .utf8)
        s.trust = trust
        assertRefused(alice, containing: "who is not an officer of policy.1")
    }

    func testRollbackIsRefused() throws {
        let bob = PKI.make("bob-p384", "p384")
        XCTAssertEqual(s.zone("grant", z, "--cert", bob.cert, "--identity", "file:" + officer.key).status, 0)
        let v2 = Zone.policyPath(root: z, version: 2)
        let saved = try Data(contentsOf: URL(fileURLWithPath: v2))
        try FileManager.default.removeItem(atPath: v2)
        assertRefused(alice, containing: "was rolled back")
        // Version 1's content under version 2's name is caught too.
        try FileManager.default.copyItem(atPath: Zone.policyPath(root: z, version: 1), toPath: v2)
        assertRefused(alice, containing: "policy.2", checkStatus: false)
        try FileManager.default.removeItem(atPath: v2)
        try saved.write(to: URL(fileURLWithPath: v2))
        XCTAssertEqual(s.zone("encrypt", z, "--identity", "file:" + alice.key).status, 0)
    }

    func testReplacedVersionIsRefused() throws {
        let zone = try Zone.open(root: z, context: s.context)
        // The officer signed two different version-2 policies; one is published and seen...
        _ = try zone.granting(PKI.certificate(PKI.make("bob-p384", "p384").cert), key: PKI.privateKey(officer.key), context: s.context)
        XCTAssertEqual(s.status("z")["policy_version"] as? Int, 2)
        // ...then someone swaps in the other.
        var other = zone.policy
        other.version = 2
        other.previousPolicyHash = zone.signed.hash
        other.createdAt += 1
        let swapped = try SignedPolicy.sign(other, officer: PKI.certificate(officer.cert), key: PKI.privateKey(officer.key))
        try Data(swapped.fileBytes).write(to: URL(fileURLWithPath: Zone.policyPath(root: z, version: 2)))
        assertRefused(alice, containing: "differs from the policy version 2 seen before")
    }

    func testTamperedKeyringIsRefused() throws {
        let zone = try Zone.load(root: z)
        let path = Zone.keyringPath(root: z, hash: zone.policy.keyringHash)
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count - 5] ^= 1
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let r = s.zone("encrypt", z, "--identity", "file:" + alice.key)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("does not match the keyring hash"), r.stderr)
    }

    /// A zone key slipped in through the keyring (with a policy hash pointing at it) would
    /// need a re-signed policy; a keyring that merely *claims* the zone key fails the commitment.
    func testZoneKeyCommitmentIsChecked() throws {
        let zone = try Zone.load(root: z)
        var keyring = Keyring(zoneID: zone.policy.zoneID)
        try keyring.add(zoneKey: SecureBytes.random(count: 32), epoch: 1, for: PKI.certificate(alice.cert))
        let forged = Zone(root: z, signed: zone.signed, keyring: keyring)
        XCTAssertThrowsError(try forged.zoneKeys(for: PKI.privateKey(alice.key), name: "alice")) { error in
            XCTAssertEqual(error as? ZoneError, .zoneKeyCommitmentMismatch(file: Zone.keyringPath(root: z, hash: zone.policy.keyringHash), epoch: 1))
        }
    }

    /// Signs `policy` as the zone's real officer and writes it as `policy.<its version>`: what
    /// only an officer can produce, so every check but the one under test passes.
    func writeOfficerSigned(_ policy: ZonePolicy) throws -> String {
        let path = Zone.policyPath(root: z, version: policy.version)
        let signed = try SignedPolicy.sign(policy, officer: PKI.certificate(officer.cert), key: PKI.privateKey(officer.key))
        try Data(signed.fileBytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Version 1 names no predecessor (docs/zone.md §3, "Continuity"): a first policy is where a
    /// history starts. The officer's own first policy re-signed naming a previous policy keeps
    /// its zone id bound (the id does not cover that hash), so only this rule refuses it — in
    /// the history a status lists and for a client with no state that verifies from version 1.
    func testFirstPolicyNamingAPreviousPolicyIsRefused() throws {
        var policy = try Zone.load(root: z).policy
        policy.previousPolicyHash = SHA256.hash(Array("a policy before the first".utf8))
        XCTAssertTrue(ZoneIdentity.isBound(policy))
        let v1 = try writeOfficerSigned(policy)
        let expected = ZoneError.malformed(what: v1, problem: "it is version 1 but names a previous policy").description
        XCTAssertEqual(try PolicyHistory.verify(root: z).problems, [expected])
        try FileManager.default.removeItem(atPath: s.state)
        try FileManager.default.createDirectory(atPath: s.state, withIntermediateDirectories: true)
        assertRefused(alice, containing: expected)
    }

    /// The next version of `zone`'s policy, chained to it by hash, before any change.
    func successor(of zone: Zone) -> ZonePolicy {
        var next = zone.policy
        next.version = zone.policy.version + 1
        next.previousPolicyHash = zone.signed.hash
        return next
    }

    /// Version k + 1 has the same zone id *and* genesis nonce as version 1 (docs/zone.md §3,
    /// "Continuity"). An officer-signed version 2, chained by hash to version 1 and carrying the
    /// zone's id, but another genesis nonce (the start of another history) is refused as a
    /// version of another zone, by the walk from version 1 and by a member with local state.
    func testSuccessorWithAnotherGenesisNonceIsRefused() throws {
        let zone = try Zone.load(root: z)
        var next = successor(of: zone)
        next.genesisNonce = SHA256.hash(Array("another history's genesis".utf8))
        let v2 = try writeOfficerSigned(next)
        let id = zone.policy.zoneID.hex
        let expected = ZoneError.otherZoneInHistory(file: v2, zoneID: id, firstZoneID: id).description
        XCTAssertEqual(try PolicyHistory.verify(root: z).problems, [expected])
        assertRefused(alice, containing: expected)
    }

    /// Every epoch key a member unwraps must derive the signing public key the policy publishes
    /// (docs/zone.md §2, "Epoch signing key"), or what members sign as that epoch (a file's
    /// key-origin marker, §7) would not verify. An officer-signed version 2 keeps epoch 1's
    /// commitment but publishes another valid P-256 key (derived from another zone key): the
    /// history is intact, and neither the member nor the officer uses the zone's keys.
    func testEpochSigningKeyNotDerivedFromTheZoneKeyIsRefused() throws {
        let zone = try Zone.load(root: z)
        var next = successor(of: zone)
        next.epochs[0].signingPublicKey = try EpochSigningKey.derive(zoneID: next.zoneID, epoch: 1,
                                                                     zoneKey: SecureBytes.random(count: 32)).publicKey.spkiDER
        XCTAssertNotEqual(next.epochs[0].signingPublicKey, zone.policy.epochs[0].signingPublicKey)
        let v2 = try writeOfficerSigned(next)
        XCTAssertEqual(try PolicyHistory.verify(root: z), PolicyHistory(versions: 2, problems: []))
        let expected = ZoneError.malformed(what: v2, problem: "the signing key of epoch 1 is not the one its zone key derives").description
        assertRefused(alice, containing: expected, checkStatus: false)
        let r = s.zone("grant", z, "--cert", mallory.cert, "--identity", "file:" + officer.key)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains(expected), r.stderr)
        XCTAssertEqual(try PolicyHistory.verify(root: z).versions, 2, "nothing published")
    }

    func testTrustFileWithOfficerCA() throws {
        let ca = PKI.make("officer-ca", "p384")
        let caOfficer = PKI.make("officer-by-ca", "p256", issuer: "officer-ca")
        let trust = s.path("trust.pem")
        try (String(contentsOfFile: ca.cert, encoding: .utf8) + String(contentsOfFile: recovery.cert, encoding: .utf8))
            .write(toFile: trust, atomically: true, encoding: .utf8)
        s.write("t/f", Array("x".utf8))
        var r = s.zone("init", s.path("t"), "--officer-cert", caOfficer.cert, "--identity", "file:" + caOfficer.key,
                       "--recovery-cert", recovery.cert, "--trust", trust)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertFalse(r.stderr.contains("pinning"), "with a trust file nothing is pinned")
        s.trust = trust
        XCTAssertEqual(s.status("t")["policy_signature_valid"] as? Bool, true)
        XCTAssertEqual(s.zone("encrypt", s.path("t"), "--identity", "file:" + caOfficer.key).status, 0)
        // A self-signed officer is not in that trust file: init refused, nothing left behind.
        s.write("u/f", Array("x".utf8))
        r = s.zone("init", s.path("u"), "--officer-cert", officer.cert, "--identity", "file:" + officer.key,
                   "--recovery-cert", recovery.cert)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("does not allow to create zones"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: s.path("u/.zone")))
        // A recovery certificate not published in the trust file: refused.
        r = s.zone("init", s.path("u"), "--officer-cert", caOfficer.cert, "--identity", "file:" + caOfficer.key,
                   "--recovery-cert", mallory.cert)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("not listed in the trust file"), r.stderr)
        // The zone made without a trust file is refused under this one (its creator is not trusted).
        assertRefused(alice, containing: "does not allow to create zones")
    }

    /// An officer alone may not change the recovery certificate when a trust file is in use.
    func testOfficerSignedRecoverySwapNeedsTheTrustFile() throws {
        let trust = s.path("trust.pem")
        try (String(contentsOfFile: officer.cert, encoding: .utf8) + String(contentsOfFile: recovery.cert, encoding: .utf8))
            .write(toFile: trust, atomically: true, encoding: .utf8)
        s.trust = trust
        let zone = try Zone.open(root: z, context: s.context)
        var next = zone.policy
        next.version = 2
        next.previousPolicyHash = zone.signed.hash
        next.recoveryCertificates = [PKI.certificate(mallory.cert)]
        let signed = try SignedPolicy.sign(next, officer: PKI.certificate(officer.cert), key: PKI.privateKey(officer.key))
        try Data(signed.fileBytes).write(to: URL(fileURLWithPath: Zone.policyPath(root: z, version: 2)))
        assertRefused(alice, containing: "is not listed in the trust file")
    }

    /// Policies are signed with a key file: a `piv:` identity offers ECDH / RSA decryption
    /// (slot 9D) but no signature, so officer commands refuse it before touching the card.
    func testCardIdentityCannotSignPolicies() {
        let bob = PKI.make("bob-p384", "p384")
        for command in ["grant", "revoke"] {
            let r = s.zone(command, z, "--cert", bob.cert, "--identity", "piv:")
            XCTAssertEqual(r.status, 1)
            XCTAssertTrue(r.stderr.contains("piv: cannot sign the zone policy: signing needs an officer key given as file:PATH"), r.stderr)
        }
        XCTAssertEqual(try Zone.load(root: z).policy.version, 1)
    }
}
