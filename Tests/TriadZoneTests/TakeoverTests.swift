import Foundation
import XCTest
import TriadCrypto
import TriadTestSupport
@testable import TriadZone

/// Continuity (docs/zone.md §3), attacked through the real `zone` binary: IT (write access to the
/// zone folder and the trust file) or an officer of another zone writes the next policy version
/// naming itself officer and member, with a new epoch whose zone key it knows. Members with and
/// without local state, with and without a trust file, must refuse the zone: no file is
/// encrypted for the intruder, none is lost, and `zone status` reports the break.
final class TakeoverTests: XCTestCase {
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
        s.write("z/old", Array("written before the attack".utf8))
    }

    func initZone(trust: [String]? = nil) {
        if let trust { writeTrust(trust) }
        let r = s.zone("init", z, "--officer-cert", officer.cert, "--identity", "file:" + officer.key,
                       "--recovery-cert", recovery.cert, "--member", alice.cert)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(s.zone("encrypt", z, "--identity", "file:" + alice.key).status, 0)
    }

    func writeTrust(_ certs: [String], extra: String = "") {
        let text = certs.map { try! String(contentsOfFile: $0, encoding: .utf8) }.joined() + extra
        s.trust = s.path("trust.pem")
        try! text.write(toFile: s.trust!, atomically: true, encoding: .utf8)
    }

    /// What the intruder writes: version N+1 chained to the genuine newest, same zone id,
    /// `signer` as officer (optionally beside the real officers) and member, and a new epoch
    /// whose zone key the intruder made, wrapped for every member — consistent in every field
    /// but who signed it.
    @discardableResult
    func forgeNextVersion(signer: (key: String, cert: String), keepOfficers: Bool = false) throws -> SecureBytes {
        let zone = try Zone.load(root: z)
        let intruder = PKI.certificate(signer.cert)
        var p = zone.policy
        p.version += 1
        p.previousPolicyHash = zone.signed.hash
        p.officers = keepOfficers ? p.officers + [intruder] : [intruder]
        p.members.append(intruder)
        let zoneKey = SecureBytes.random(count: 32)
        p.currentEpoch += 1
        var keyring = zone.keyring
        for m in p.members { try keyring.add(zoneKey: zoneKey, epoch: p.currentEpoch, for: m) }
        p.epochs.append(try EpochCommitment(epoch: p.currentEpoch, zoneID: p.zoneID, zoneKey: zoneKey))
        p.keyringHash = keyring.hash
        try Data(keyring.encoded()).write(to: URL(fileURLWithPath: Zone.keyringPath(root: z, hash: keyring.hash)))
        let signed = try SignedPolicy.sign(p, officer: intruder, key: PKI.privateKey(signer.key))
        try Data(signed.fileBytes).write(to: URL(fileURLWithPath: Zone.policyPath(root: z, version: p.version)))
        return zoneKey
    }

    /// A member's encrypt of a new file is refused with `text`, the file stays as it was (not
    /// encrypted for the intruder), the old file still holds its ciphertext, the intruder reads
    /// nothing, and status (exit 0) reports the zone as not accepted and the history as broken.
    func assertTakeoverRefused(_ text: String, line: UInt = #line) {
        s.write("z/new", Array("written after the attack".utf8))
        let old = s.read("z/old")
        let r = s.zone("encrypt", z, "--identity", "file:" + alice.key)
        XCTAssertEqual(r.status, 1, r.stderr, line: line)
        XCTAssertTrue(r.stderr.contains(text), "expected “\(text)” in: \(r.stderr)", line: line)
        XCTAssertEqual(s.read("z/new"), Array("written after the attack".utf8), "nothing encrypted into the taken-over zone", line: line)
        XCTAssertEqual(s.read("z/old"), old, "nothing lost", line: line)
        for file in ["z/old", "z/new"] {
            let cat = s.zone("cat", s.path(file), "--identity", "file:" + mallory.key)
            XCTAssertEqual(cat.status, 1, line: line)
            XCTAssertTrue(cat.stdout.isEmpty, "the intruder read \(file)", line: line)
        }
        XCTAssertEqual(s.zone("cat", s.path("z/old"), "--identity", "file:" + alice.key).status, 1, "refused for reading too", line: line)
        let st = s.zone("status", z, "--json")
        XCTAssertEqual(st.status, 0, st.stderr, line: line)
        let json = (try? JSONSerialization.jsonObject(with: st.stdout)) as? [String: Any] ?? [:]
        XCTAssertEqual(json["policy_signature_valid"] as? Bool, false, line: line)
        XCTAssertTrue((json["policy_error"] as? String ?? "").contains(text), "\(json["policy_error"] ?? "")", line: line)
        XCTAssertEqual((json["policy_history"] as? [String: Any])?["intact"] as? Bool, false, line: line)
    }

    func freshState() { try? FileManager.default.removeItem(atPath: s.state); try! FileManager.default.createDirectory(atPath: s.state, withIntermediateDirectories: true) }

    /// Finding 1: IT appends its own certificate to the trust file and writes policy.2 naming
    /// itself officer and member. The member with local state and a fresh client both refuse.
    func testITListedInTheTrustFileCannotWriteTheNextVersion() throws {
        initZone(trust: [officer.cert, recovery.cert])
        writeTrust([officer.cert, recovery.cert, mallory.cert])
        try forgeNextVersion(signer: mallory)
        assertTakeoverRefused("who is not an officer of policy.1")
        freshState()
        assertTakeoverRefused("who is not an officer of policy.1")
    }

    /// The same keeping the real officer listed beside the intruder.
    func testIntruderBesideTheRealOfficerIsRefused() throws {
        initZone(trust: [officer.cert, recovery.cert])
        writeTrust([officer.cert, recovery.cert, mallory.cert])
        try forgeNextVersion(signer: mallory, keepOfficers: true)
        assertTakeoverRefused("who is not an officer of policy.1")
    }

    /// An officer of another zone, listed in the trust file as every officer is, writes the next
    /// version of this zone without touching the trust file.
    func testOfficerOfAnotherZoneIsRefused() throws {
        let carol = PKI.make("carol-officer-p256", "p256")
        initZone(trust: [officer.cert, recovery.cert, carol.cert])
        s.write("other/f", [1])
        XCTAssertEqual(s.zone("init", s.path("other"), "--officer-cert", carol.cert, "--identity", "file:" + carol.key,
                              "--recovery-cert", recovery.cert).status, 0, "carol is a genuine officer of her own zone")
        try forgeNextVersion(signer: carol)
        mallory = carol
        assertTakeoverRefused("who is not an officer of policy.1")
        freshState()
        assertTakeoverRefused("who is not an officer of policy.1")
    }

    /// Without a trust file: a member with state and a fresh client refuse the forged successor.
    func testNoTrustFileForgedSuccessorIsRefusedWithAndWithoutState() throws {
        initZone()
        try forgeNextVersion(signer: mallory)
        assertTakeoverRefused("who is not an officer of policy.1")
        freshState()
        assertTakeoverRefused("who is not an officer of policy.1")
    }

    /// A first policy with the zone's genuine id — same officers, recovery certificates and
    /// nonce, so the id its fields determine is the real one — but signed by IT, who lists itself
    /// in the trust file, adds itself as member and brings a zone key of its own. Only "the
    /// signer must be one of the policy's officers" (docs/zone.md §2) stands in the way: a client
    /// with no state refuses it, and IT reads nothing written afterwards.
    func testFirstPolicySignedBySomeoneItDoesNotNameIsRefused() throws {
        initZone(trust: [officer.cert, recovery.cert])
        let genuine = try Zone.load(root: z)
        var p = genuine.policy
        let intruder = PKI.certificate(mallory.cert)
        p.members.append(intruder)
        let zoneKey = SecureBytes.random(count: 32)
        var keyring = Keyring(zoneID: p.zoneID)
        for m in p.members { try keyring.add(zoneKey: zoneKey, epoch: 1, for: m) }
        p.epochs = [try EpochCommitment(epoch: 1, zoneID: p.zoneID, zoneKey: zoneKey)]
        p.keyringHash = keyring.hash
        XCTAssertTrue(ZoneIdentity.isBound(p), "the forged first policy carries the id its fields determine")
        try Data(keyring.encoded()).write(to: URL(fileURLWithPath: Zone.keyringPath(root: z, hash: keyring.hash)))
        let forged = try SignedPolicy.sign(p, officer: intruder, key: PKI.privateKey(mallory.key))
        try Data(forged.fileBytes).write(to: URL(fileURLWithPath: Zone.policyPath(root: z, version: 1)))
        writeTrust([officer.cert, recovery.cert, mallory.cert])
        freshState()
        assertTakeoverRefused("is not signed by an officer of the zone")
    }

    /// "A broken history is refused by every command that uses keys" (docs/zone.md §3): after
    /// the forged successor, each command a member or officer runs — encrypt, decrypt in place
    /// and to a folder, cat, rekey, rekey --reencrypt, grant, revoke, recovery, mount — exits 1
    /// naming the break, with and without local state, and changes nothing: the files and
    /// `.zone/` stay byte for byte as they were and nothing is written elsewhere.
    func testBrokenHistoryIsRefusedByEveryCommandThatUsesKeys() throws {
        let carol = PKI.make("carol-p256", "p256"), recovery2 = PKI.make("recovery2-p256", "p256")
        initZone()
        try forgeNextVersion(signer: mallory)
        s.write("z/new", Array("plaintext written after the attack".utf8))
        try FileManager.default.createDirectory(atPath: s.path("mnt"), withIntermediateDirectories: true)
        let asAlice = ["--identity", "file:" + alice.key], asOfficer = ["--identity", "file:" + officer.key]
        let commands: [(name: String, args: [String])] = [
            ("encrypt", ["encrypt", z] + asAlice),
            ("decrypt", ["decrypt", s.path("z/old")] + asAlice),
            ("decrypt --output", ["decrypt", s.path("z/old"), "--output", s.path("out")] + asAlice),
            ("cat", ["cat", s.path("z/old")] + asAlice),
            ("rekey", ["rekey", z] + asAlice),
            ("rekey --reencrypt", ["rekey", z, "--reencrypt"] + asAlice),
            ("grant", ["grant", z, "--cert", carol.cert] + asOfficer),
            ("revoke", ["revoke", z, "--cert", alice.cert] + asOfficer),
            ("recovery", ["recovery", z, "--add-cert", recovery2.cert] + asOfficer),
            ("mount", ["mount", z, s.path("mnt"), "--foreground"] + asAlice),
        ]
        func snapshot() throws -> [String: [UInt8]] {
            var files: [String: [UInt8]] = [:]
            for folder in ["z", "z/.zone"] {
                for name in try FileManager.default.contentsOfDirectory(atPath: s.path(folder)) where name != ".zone" {
                    files[folder + "/" + name] = s.read(folder + "/" + name)
                }
            }
            return files
        }
        let before = try snapshot()
        for state in ["with local state", "without local state"] {
            if state == "without local state" { freshState() }
            for command in commands {
                var run = Command(Scratch.zoneBinary, command.args, environment: s.environment)
                run.timeout = 60
                let r = try run.run()
                XCTAssertEqual(r.status, 1, "\(command.name), \(state): \(r.err)")
                XCTAssertTrue(r.err.contains("who is not an officer of policy.1"), "\(command.name), \(state): \(r.err)")
                XCTAssertTrue(r.stdout.isEmpty, "\(command.name) printed nothing, \(state)")
                XCTAssertEqual(try snapshot(), before, "\(command.name) changed nothing, \(state)")
                XCTAssertFalse(FileManager.default.fileExists(atPath: s.path("out")), "\(command.name) wrote no copy, \(state)")
            }
        }
        XCTAssertEqual(s.read("z/new"), Array("plaintext written after the attack".utf8))
    }

    /// Several genuine versions, then the forged one: the walk from version 1 catches it at the end.
    func testForgedVersionAfterGenuineHistoryIsRefused() throws {
        initZone()
        for name in ["bob-p384", "dave-p256"] {
            let who = PKI.make(name, name.hasSuffix("p384") ? "p384" : "p256")
            XCTAssertEqual(s.zone("grant", z, "--cert", who.cert, "--identity", "file:" + officer.key).status, 0)
        }
        try forgeNextVersion(signer: mallory)
        assertTakeoverRefused("who is not an officer of policy.3")
        freshState()
        assertTakeoverRefused("who is not an officer of policy.3")
    }

    /// The intruder rewrites the whole history with the zone's id: a forged first policy naming
    /// itself officer. The id is bound to the genuine first policy, so a fresh client refuses it.
    func testForgedFirstPolicyWithTheZoneIDIsRefused() throws {
        initZone(trust: [officer.cert, recovery.cert])
        let genuine = try Zone.load(root: z)
        var p = genuine.policy
        p.officers = [PKI.certificate(mallory.cert)]
        p.members.append(PKI.certificate(mallory.cert))
        let forged = try SignedPolicy.sign(p, officer: PKI.certificate(mallory.cert), key: PKI.privateKey(mallory.key))
        try Data(forged.fileBytes).write(to: URL(fileURLWithPath: Zone.policyPath(root: z, version: 1)))
        writeTrust([officer.cert, recovery.cert, mallory.cert])
        assertTakeoverRefused("is not the id its own officers, recovery certificates and nonce determine")
        freshState()
        assertTakeoverRefused("is not the id its own officers, recovery certificates and nonce determine")
    }

    /// An officer can still change the zone after all of this (the refusals are not a lock-out
    /// of legitimate use): the intruder's file removed, the real officer grants.
    func testRealOfficerContinuesOnceTheForgeryIsRemoved() throws {
        initZone()
        try forgeNextVersion(signer: mallory)
        XCTAssertEqual(s.zone("encrypt", z, "--identity", "file:" + alice.key).status, 1)
        try FileManager.default.removeItem(atPath: Zone.policyPath(root: z, version: 2))
        let bob = PKI.make("bob-p384", "p384")
        let r = s.zone("grant", z, "--cert", bob.cert, "--identity", "file:" + officer.key)
        XCTAssertEqual(r.status, 0, r.stderr)
        s.write("z/new", [7])
        XCTAssertEqual(s.zone("encrypt", z, "--identity", "file:" + alice.key).status, 0)
        XCTAssertEqual(Array(s.zone("cat", s.path("z/new"), "--identity", "file:" + bob.key).stdout), [7])
    }
}
