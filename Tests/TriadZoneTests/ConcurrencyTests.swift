import Foundation
import XCTest
import TriadCrypto
@testable import TriadZone

/// docs/zone.md §6: concurrent policy updates are detected by version, never lost.
final class ConcurrencyTests: XCTestCase {
    func testSecondOfTwoGrantsFromTheSameVersionIsRefused() throws {
        let s = Scratch()
        let officer = PKI.make("officer-p256", "p256"), officer2 = PKI.make("officer2-rsa2048", "rsa2048")
        let recovery = PKI.make("recovery-p384", "p384")
        let bob = PKI.make("bob-p384", "p384"), carol = PKI.make("carol-rsa3072", "rsa3072")
        let z = s.path("z")
        try FileManager.default.createDirectory(atPath: z, withIntermediateDirectories: true)
        XCTAssertEqual(s.zone("init", z, "--officer-cert", officer.cert, "--identity", "file:" + officer.key,
                              "--recovery-cert", recovery.cert).status, 0)
        // Two officers (here: two sessions of one) read version 1...
        let first = try Zone.open(root: z, context: s.context), second = try Zone.open(root: z, context: s.context)
        _ = try first.granting(PKI.certificate(bob.cert), key: PKI.privateKey(officer.key), context: s.context)
        // ...and the second write of version 2 fails instead of overwriting the first.
        XCTAssertThrowsError(try second.granting(PKI.certificate(carol.cert), key: PKI.privateKey(officer.key), context: s.context)) { error in
            XCTAssertEqual(error as? ZoneError, .policyChanged(folder: z))
            XCTAssertTrue("\(error)".contains("policy of \(z) changed since you read it; re-run"))
        }
        let after = try Zone.open(root: z, context: s.context)
        XCTAssertEqual(after.policy.version, 2)
        XCTAssertNotNil(after.policy.isMember(PKI.certificate(bob.cert).publicKey), "the first grant is kept")
        _ = officer2
    }

    /// Two `zone grant` processes at once, ten times: either both land (one after the other)
    /// or one is refused with the re-run message; re-running it then lands. No grant is lost.
    func testConcurrentGrantProcessesLoseNothing() throws {
        let officer = PKI.make("officer-p256", "p256"), recovery = PKI.make("recovery-p384", "p384")
        let bob = PKI.make("bob-p384", "p384"), carol = PKI.make("carol-rsa3072", "rsa3072")
        var refusals = 0
        for _ in 0..<10 {
            let s = Scratch()
            let z = s.path("z")
            try FileManager.default.createDirectory(atPath: z, withIntermediateDirectories: true)
            XCTAssertEqual(s.zone("init", z, "--officer-cert", officer.cert, "--identity", "file:" + officer.key,
                                  "--recovery-cert", recovery.cert).status, 0)
            let results = Box<[RunResult?]>([nil, nil])
            let lock = NSLock()
            let group = DispatchGroup()
            for (i, member) in [bob, carol].enumerated() {
                group.enter()
                DispatchQueue.global().async {
                    let r = s.zone("grant", z, "--cert", member.cert, "--identity", "file:" + officer.key)
                    lock.lock(); results.value[i] = r; lock.unlock()
                    group.leave()
                }
            }
            group.wait()
            for (i, member) in [bob, carol].enumerated() {
                let r = results.value[i]!
                if r.status != 0 {
                    refusals += 1
                    XCTAssertEqual(r.status, 1)
                    XCTAssertTrue(r.stderr.contains("changed since you read it; re-run"), r.stderr)
                    XCTAssertEqual(s.zone("grant", z, "--cert", member.cert, "--identity", "file:" + officer.key).status, 0)
                }
            }
            let members = s.status("z")["members"] as? [String] ?? []
            XCTAssertTrue(members.contains(PKI.certificate(bob.cert).fingerprint.hex))
            XCTAssertTrue(members.contains(PKI.certificate(carol.cert).fingerprint.hex))
            XCTAssertEqual(members.count, 3)
        }
        print("concurrent grants: \(refusals) of 10 rounds raced and were refused with the re-run message")
    }

    /// Two members encrypt the same tree at once (docs/zone.md §6: many people, same servers): no
    /// file ends up encrypted twice, and every file decrypts to its plaintext.
    func testConcurrentEncryptsNeverDoubleEncrypt() throws {
        let officer = PKI.make("officer-p256", "p256"), alice = PKI.make("alice-rsa2048", "rsa2048")
        let recovery = PKI.make("recovery-p384", "p384")
        var rng = SeededGenerator(seed: 7)
        for round in 0..<3 {
            let s = Scratch()
            var originals: [String: [UInt8]] = [:]
            for i in 0..<60 { originals["z/f\(i)"] = rng.bytes(Int(rng.next() % 20000)); s.write("z/f\(i)", originals["z/f\(i)"]!) }
            XCTAssertEqual(s.zone("init", s.path("z"), "--officer-cert", officer.cert, "--identity", "file:" + officer.key,
                                  "--recovery-cert", recovery.cert, "--member", alice.cert).status, 0)
            let group = DispatchGroup()
            for who in [officer, alice] {
                group.enter()
                DispatchQueue.global().async {
                    XCTAssertEqual(s.zone("encrypt", s.path("z"), "--identity", "file:" + who.key).status, 0)
                    group.leave()
                }
            }
            group.wait()
            for (p, data) in originals {
                let r = s.zone("cat", s.path(p), "--identity", "file:" + alice.key)
                XCTAssertTrue(Array(r.stdout) == data, "round \(round): \(p) is not its plaintext \(r.stderr)")
            }
            XCTAssertEqual(s.files("z")["encrypted"], originals.count)
        }
    }

    func testRevokingTheLastMemberAndTouchingZoneMetadataAreRefused() {
        let s = Scratch()
        let officer = PKI.make("officer-p256", "p256"), recovery = PKI.make("recovery-p384", "p384")
        s.write("z/f", [1])
        XCTAssertEqual(s.zone("init", s.path("z"), "--officer-cert", officer.cert, "--identity", "file:" + officer.key,
                              "--recovery-cert", recovery.cert).status, 0)
        var r = s.zone("revoke", s.path("z"), "--cert", officer.cert, "--identity", "file:" + officer.key)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("last member"), r.stderr)
        r = s.zone("encrypt", s.path("z/.zone/policy.1"), "--identity", "file:" + officer.key)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("is zone metadata"), r.stderr)
        r = s.zone("init", s.path("z"), "--officer-cert", officer.cert, "--identity", "file:" + officer.key, "--recovery-cert", recovery.cert)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("already a zone"), r.stderr)
    }
}
