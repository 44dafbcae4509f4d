import Foundation
import XCTest
import TriadCrypto
@testable import TriadZone

/// Zone identity, no downgrade, rollback and the trust file's pins (docs/zone.md §1, §3),
/// attacked through the real `zone` binary by IT (who controls the folder), a revoked member
/// with write access, and against a client with no local state.
final class ZoneIdentityTests: XCTestCase {
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

    func initZone() {
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

    func freshState() {
        try? FileManager.default.removeItem(atPath: s.state)
        try! FileManager.default.createDirectory(atPath: s.state, withIntermediateDirectories: true)
    }

    /// `zone encrypt` of a new file by alice: the exit status and stderr; checks the file is
    /// untouched when refused.
    @discardableResult
    func aliceEncryptsNewFile(expectRefusal text: String?, line: UInt = #line) -> RunResult {
        s.write("z/new", Array("written after the attack".utf8))
        let r = s.zone("encrypt", z, "--identity", "file:" + alice.key)
        if let text {
            XCTAssertEqual(r.status, 1, r.stderr, line: line)
            XCTAssertTrue(r.stderr.contains(text), "expected “\(text)” in: \(r.stderr)", line: line)
            XCTAssertEqual(s.read("z/new"), Array("written after the attack".utf8), "nothing encrypted into a refused zone", line: line)
        } else {
            XCTAssertEqual(r.status, 0, r.stderr, line: line)
        }
        return r
    }

    /// Finding 2: IT deletes `.zone/` and makes a brand-new zone (new id) in the same folder,
    /// with itself as officer and the member as member. The member's next encrypt would have
    /// wrapped for IT's zone; the folder's pin refuses it, naming both ids and the record.
    func testNewZoneInAFolderUsedBeforeIsRefused() throws {
        initZone()
        let oldCipher = s.read("z/old")
        let genuineID = try Zone.load(root: z).policy.zoneID.hex
        try FileManager.default.removeItem(atPath: z + "/.zone")
        // IT runs init on its own machine (its own state).
        let r = shell(Scratch.zoneBinary, ["init", z, "--officer-cert", mallory.cert, "--identity", "file:" + mallory.key,
                                           "--recovery-cert", recovery.cert, "--member", alice.cert],
                      environment: ["XDG_STATE_HOME": s.path("it-state"), "PATH": "/usr/bin:/bin"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let forgedID = try Zone.load(root: z).policy.zoneID.hex
        let refused = aliceEncryptsNewFile(expectRefusal: "now holds zone \(forgedID), but zone \(genuineID) was used in this folder before")
        XCTAssertEqual(s.read("z/old"), oldCipher, "nothing lost")
        XCTAssertEqual(s.zone("cat", s.path("z/old"), "--identity", "file:" + mallory.key).status, 1)
        // The message names the record to delete once an officer confirmed the new zone.
        let record = LocalState(directory: s.state + "/triad").path(folder: z)
        XCTAssertTrue(refused.stderr.contains(record), refused.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: record))
        // Status reports it (exit 0) with the new zone's first-policy words to compare.
        let st = s.status("z")
        XCTAssertEqual(st["policy_signature_valid"] as? Bool, false)
        XCTAssertNotNil(st["first_policy_words"] as? String)
        // The documented way out: delete the record, then the (now confirmed) zone is used.
        try FileManager.default.removeItem(atPath: record)
        aliceEncryptsNewFile(expectRefusal: nil)
    }

    /// `zone init` by the user of this machine in a folder it used before moves the pin.
    func testInitAgainInTheSameFolderMovesThePin() throws {
        initZone()
        try FileManager.default.removeItem(atPath: z + "/.zone")
        let r = s.zone("init", z, "--officer-cert", officer.cert, "--identity", "file:" + officer.key,
                       "--recovery-cert", recovery.cert, "--member", alice.cert)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("held zone"), r.stderr)
        aliceEncryptsNewFile(expectRefusal: nil)
    }

    /// No downgrade: a zone used with a trust file is refused when the trust file is gone
    /// (IT removes /etc/triad/trust, or TRIAD_TRUST is unset), instead of being re-pinned on
    /// first use — and the forged successor IT then writes is refused as well.
    func testTrustFileRemovedIsNoDowngrade() throws {
        writeTrust([officer.cert, recovery.cert])
        initZone()
        s.trust = nil
        aliceEncryptsNewFile(expectRefusal: "refusing to fall back to trust on first use")
        XCTAssertEqual(s.zone("cat", s.path("z/old"), "--identity", "file:" + alice.key).status, 1)
        writeTrust([officer.cert, recovery.cert])
        aliceEncryptsNewFile(expectRefusal: nil)
    }

    /// Rollback by a revoked member with write access: bob deletes the policy that revoked him.
    /// Alice (state) refuses; a fresh client refuses when the trust file pins the newest version.
    func testRollbackByARevokedMember() throws {
        initZone()
        let bob = PKI.make("bob-p384", "p384")
        XCTAssertEqual(s.zone("grant", z, "--cert", bob.cert, "--identity", "file:" + officer.key).status, 0)
        XCTAssertEqual(s.zone("revoke", z, "--cert", bob.cert, "--identity", "file:" + officer.key).status, 0)
        XCTAssertEqual(s.zone("encrypt", z, "--identity", "file:" + alice.key).status, 0)
        let v3 = Zone.policyPath(root: z, version: 3)
        let v3Hash = SHA256.hash(s.read("z/.zone/policy.3"))
        let zoneID = try Zone.load(root: z).policy.zoneID.hex
        try FileManager.default.removeItem(atPath: v3)
        aliceEncryptsNewFile(expectRefusal: "was rolled back")
        // Bob's own client accepts the rolled-back zone (he controls it), but what he writes
        // is refused by every member with state; a fresh client is what the pin protects.
        freshState()
        writeTrust([officer.cert, recovery.cert], extra: "zone \(zoneID) 3 \(v3Hash.hex)\n")
        aliceEncryptsNewFile(expectRefusal: "pins version 3 of zone \(zoneID), but the newest policy present is version 2")
        XCTAssertEqual(s.read("z/old").count > 0, true)
    }

    /// Writes, in place of `policy.<version>`, the officer's own signature of a policy that differs
    /// from the one there only in its clock: a second genuine version the officer signed (a draft,
    /// a retry), which every link and signature check accepts. Returns the file it replaced.
    @discardableResult
    func putOfficersOtherSignature(version: UInt64) throws -> [UInt8] {
        let path = Zone.policyPath(root: z, version: version)
        let before = s.read("z/.zone/policy.\(version)")
        var policy = try SignedPolicy(fileBytes: before, context: path).policy
        policy.createdAt += 1
        let other = try SignedPolicy.sign(policy, officer: PKI.certificate(officer.cert), key: PKI.privateKey(officer.key))
        try Data(other.fileBytes).write(to: URL(fileURLWithPath: path))
        XCTAssertNotEqual(s.read("z/.zone/policy.\(version)"), before)
        XCTAssertEqual(try PolicyHistory.verify(root: z), PolicyHistory(versions: Int(version), problems: []), "a history intact link by link")
        return before
    }

    /// Moving from first use to a trust file checks the whole history against the trust file,
    /// without the recorded version as anchor, yet the record still binds the version seen
    /// (docs/zone.md §3, "Local state": "a different file under that version a replacement").
    /// Alice saw version 2 on first use; IT swaps in the officer's other signed version 2, then
    /// the organisation deploys a trust file listing that officer. Every link verifies against
    /// the trust file, but version 2 is not the file alice saw: refused until it is restored.
    func testVersionSeenOnFirstUseReplacedBeforeTheTrustFileIsRefused() throws {
        initZone()
        let bob = PKI.make("bob-p384", "p384")
        XCTAssertEqual(s.zone("grant", z, "--cert", bob.cert, "--identity", "file:" + officer.key).status, 0)
        aliceEncryptsNewFile(expectRefusal: nil)
        let seen = try putOfficersOtherSignature(version: 2)
        writeTrust([officer.cert, recovery.cert])
        aliceEncryptsNewFile(expectRefusal: "\(Zone.policyPath(root: z, version: 2)) differs from the policy version 2 seen before")
        try Data(seen).write(to: URL(fileURLWithPath: Zone.policyPath(root: z, version: 2)))
        aliceEncryptsNewFile(expectRefusal: nil)
    }

    /// The first policy is recorded as well (docs/zone.md §3, "Local state": "a different first
    /// policy is refused"). Only one of a zone's first officers can sign a first policy with its
    /// id, but that officer can sign two. Alice recorded one on first use; IT puts the other in
    /// its place before a trust file listing the officer arrives. The history verifies against
    /// the trust file; the record refuses it as a different first policy, naming the record.
    func testFirstPolicyReplacedBeforeTheTrustFileIsRefused() throws {
        initZone()
        let zoneID = try Zone.load(root: z).policy.zoneID
        let seen = try putOfficersOtherSignature(version: 1)
        writeTrust([officer.cert, recovery.cert])
        let record = LocalState(directory: s.state + "/triad").path(zoneID: zoneID)
        aliceEncryptsNewFile(expectRefusal: "zone \(zoneID.hex) now starts with a different first policy than the one recorded in \(record)")
        try Data(seen).write(to: URL(fileURLWithPath: Zone.policyPath(root: z, version: 1)))
        aliceEncryptsNewFile(expectRefusal: nil)
    }

    /// A trust file's pin of a later version (docs/zone.md §3: "its pinned versions are present
    /// and are exactly the pinned files"). IT pinned version 2 after the grant; the officer's
    /// other signed version 2 is put in the folder. A client with no state (nothing recorded
    /// to compare with) verifies every link of that history, and refuses it by the pin alone.
    func testPinnedVersionReplacedByAnotherOfficerSignedOneIsRefused() throws {
        initZone()
        let bob = PKI.make("bob-p384", "p384")
        XCTAssertEqual(s.zone("grant", z, "--cert", bob.cert, "--identity", "file:" + officer.key).status, 0)
        let zoneID = try Zone.load(root: z).policy.zoneID.hex
        let pinned = try putOfficersOtherSignature(version: 2)
        freshState()
        writeTrust([officer.cert, recovery.cert], extra: "zone \(zoneID) 2 \(SHA256.hash(pinned).hex)\n")
        aliceEncryptsNewFile(expectRefusal: "\(Zone.policyPath(root: z, version: 2)) is not the policy version 2 the trust file \(s.trust!) pins for this zone")
        try Data(pinned).write(to: URL(fileURLWithPath: Zone.policyPath(root: z, version: 2)))
        aliceEncryptsNewFile(expectRefusal: nil)
    }

    /// A client with no state and a trust file that pins the zone's first policy: IT replacing
    /// the zone with one whose creator it listed in the trust file is refused.
    func testTrustFilePinOfTheFirstPolicyClosesTheStatelessGap() throws {
        writeTrust([officer.cert, recovery.cert])
        initZone()
        let genuine = try Zone.load(root: z).policy.zoneID.hex
        let firstHash = (s.status("z")["first_policy_hash"] as? String) ?? ""
        XCTAssertEqual(firstHash, SHA256.hash(s.read("z/.zone/policy.1")).hex)
        try FileManager.default.removeItem(atPath: z + "/.zone")
        writeTrust([officer.cert, recovery.cert, mallory.cert])
        let r = shell(Scratch.zoneBinary, ["init", z, "--officer-cert", mallory.cert, "--identity", "file:" + mallory.key,
                                           "--recovery-cert", recovery.cert, "--member", alice.cert, "--trust", s.trust!],
                      environment: ["XDG_STATE_HOME": s.path("it-state"), "PATH": "/usr/bin:/bin"])
        XCTAssertEqual(r.status, 0, r.stderr)
        freshState()
        // Without a pin, a client with no state cannot tell (docs/zone.md §3, the LIMIT rows).
        let limit = s.zone("status", z, "--json")
        XCTAssertEqual(limit.status, 0)
        XCTAssertTrue(limit.out.contains("\"policy_signature_valid\" : true"), limit.out)
        freshState()
        writeTrust([officer.cert, recovery.cert, mallory.cert], extra: "# ward 7\nzone \(genuine) 1 \(firstHash)\n")
        aliceEncryptsNewFile(expectRefusal: "pins its zones, and zone")
    }

    /// A trust file that pins its zones cannot pin a zone before it exists: `zone init` still
    /// creates it and says which line IT must add; until then the zone is refused, after it used.
    func testInitUnderATrustFileThatPinsZones() throws {
        let other = "zone \(String(repeating: "ab", count: 16)) 1 \(String(repeating: "cd", count: 32))\n"
        writeTrust([officer.cert, recovery.cert], extra: other)
        let r = s.zone("init", z, "--officer-cert", officer.cert, "--identity", "file:" + officer.key,
                       "--recovery-cert", recovery.cert, "--member", alice.cert)
        XCTAssertEqual(r.status, 0, r.stderr)
        let zone = try Zone.load(root: z)
        let line = "zone \(zone.policy.zoneID.hex) 1 \(zone.signed.hash.hex)"
        XCTAssertTrue(r.stderr.contains(line), r.stderr)
        aliceEncryptsNewFile(expectRefusal: "pins its zones, and zone \(zone.policy.zoneID.hex) is not one of them")
        writeTrust([officer.cert, recovery.cert], extra: other + line + "\n")
        aliceEncryptsNewFile(expectRefusal: nil)
    }

    /// `zone status` prints the first policy's hash as the words `zone init` announced, for
    /// reading over the phone.
    func testStatusPrintsTheFirstPolicyWords() throws {
        let r = s.zone("init", z, "--officer-cert", officer.cert, "--identity", "file:" + officer.key,
                       "--recovery-cert", recovery.cert, "--member", alice.cert)
        XCTAssertEqual(r.status, 0)
        let st = s.status("z")
        let words = try XCTUnwrap(st["first_policy_words"] as? String)
        XCTAssertEqual(words, ZoneIdentity.words(SHA256.hash(s.read("z/.zone/policy.1"))))
        XCTAssertEqual(words.split(separator: " ").filter { $0 != "·" }.count, 16)
        XCTAssertTrue(r.stderr.contains(words), "init announces the same words: \(r.stderr)")
        let text = s.zone("status", z)
        XCTAssertTrue(text.out.contains("first policy: \(words)"), text.out)
        XCTAssertEqual(st["trust_mode"] as? String, "first-use")
        // A fresh client's first use prints them too, to compare with the officer.
        freshState()
        let first = s.zone("encrypt", z, "--identity", "file:" + alice.key)
        XCTAssertEqual(first.status, 0)
        XCTAssertTrue(first.stderr.contains("on first use") && first.stderr.contains(words), first.stderr)
    }

    /// Zones do not nest: a `.zone/` planted in a subfolder (IT's own zone, naming alice a
    /// member) does not capture alice's file commands there, and a `.zone` link is refused.
    func testPlantedNestedZoneIsRefused() throws {
        initZone()
        s.write("z/sub/note", Array("private".utf8))
        let r = shell(Scratch.zoneBinary, ["init", s.path("z/sub"), "--officer-cert", mallory.cert, "--identity", "file:" + mallory.key,
                                           "--recovery-cert", recovery.cert, "--member", alice.cert],
                      environment: ["XDG_STATE_HOME": s.path("it-state"), "PATH": "/usr/bin:/bin"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let e = s.zone("encrypt", s.path("z/sub/note"), "--identity", "file:" + alice.key)
        XCTAssertEqual(e.status, 1)
        XCTAssertTrue(e.stderr.contains("holds its own .zone/ inside the zone \(z)"), e.stderr)
        XCTAssertEqual(s.read("z/sub/note"), Array("private".utf8))
        // A `.zone` that is a link to another zone's metadata.
        s.write("y/f", Array("y".utf8))
        try FileManager.default.createSymbolicLink(atPath: s.path("y/.zone"), withDestinationPath: z + "/.zone")
        let y = s.zone("encrypt", s.path("y/f"), "--identity", "file:" + alice.key)
        XCTAssertEqual(y.status, 1)
        XCTAssertTrue(y.stderr.contains("is a symbolic link"), y.stderr)
        XCTAssertEqual(s.read("y/f"), Array("y".utf8))
    }
}
