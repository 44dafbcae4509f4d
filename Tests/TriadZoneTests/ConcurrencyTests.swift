import Foundation
import XCTest
import TriadCrypto
@testable import TriadZone

/// DESIGN §7: concurrent policy updates are detected by version, never lost.
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
            XCTAssertEqual(error as? ZoneError, .policyChanged(z))
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
            var results: [RunResult?] = [nil, nil]
            let lock = NSLock()
            let group = DispatchGroup()
            for (i, member) in [bob, carol].enumerated() {
                group.enter()
                DispatchQueue.global().async {
                    let r = s.zone("grant", z, "--cert", member.cert, "--identity", "file:" + officer.key)
                    lock.lock(); results[i] = r; lock.unlock()
                    group.leave()
                }
            }
            group.wait()
            for (i, member) in [bob, carol].enumerated() {
                let r = results[i]!
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
}
