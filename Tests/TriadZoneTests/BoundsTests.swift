import Foundation
import XCTest
import TriadCrypto
@testable import TriadZone

/// Availability findings (docs/zone.md §2b), through the real `zone` binary: what IT or a member
/// with write access plants must be refused cleanly — exit 1 with a message naming the file,
/// quickly, without unbounded memory — and the writer must never publish what readers refuse.
final class BoundsTests: XCTestCase {
    var s: Scratch!
    var officer: (key: String, cert: String)!
    var alice: (key: String, cert: String)!
    var recovery: (key: String, cert: String)!
    var z: String { s.path("z") }

    override func setUp() {
        s = Scratch()
        officer = PKI.make("officer-p256", "p256")
        alice = PKI.make("alice-rsa2048", "rsa2048")
        recovery = PKI.make("recovery-p384", "p384")
        s.write("z/f", Array("record".utf8))
        XCTAssertEqual(s.zone("init", z, "--officer-cert", officer.cert, "--identity", "file:" + officer.key,
                              "--recovery-cert", recovery.cert, "--member", alice.cert).status, 0)
    }

    /// Runs `zone` and fails the test if it takes longer than `seconds` (the finding: status
    /// looped for ever on a planted file name).
    func timed(_ args: [String], seconds: Double = 20, line: UInt = #line) -> RunResult {
        let start = Date()
        let r = s.zone(args)
        XCTAssertLessThan(Date().timeIntervalSince(start), seconds, "zone \(args[0]) took too long", line: line)
        return r
    }

    /// Finding 6: `zone grant` of a 74 KB certificate wrote a policy that every reader then
    /// rejected. The writer refuses it; the zone keeps working.
    func testGrantOfAnOversizedCertificateIsRefusedByTheWriter() throws {
        let key = s.path("big.key"), cert = s.path("big.crt")
        XCTAssertEqual(shell("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key]).status, 0)
        XCTAssertEqual(shell("openssl", ["req", "-x509", "-new", "-key", key, "-subj", "/CN=big", "-days", "30",
                                         "-addext", "nsComment=" + String(repeating: "x", count: 74_000), "-out", cert]).status, 0)
        XCTAssertGreaterThan(PKI.certificate(cert).der.count, 70_000)
        let r = s.zone("grant", z, "--cert", cert, "--identity", "file:" + officer.key)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("more than the 16384 every reader accepts; nothing was changed"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: Zone.policyPath(root: z, version: 2)))
        XCTAssertEqual(s.status("z")["policy_signature_valid"] as? Bool, true)
        XCTAssertEqual(s.zone("encrypt", z, "--identity", "file:" + alice.key).status, 0)
    }

    /// Finding 6: a planted `.zone/policy.1000000000000` made status loop (630 MB and growing).
    /// Status now reports one gap at once; commands that use keys refuse the zone.
    func testPlantedHugeVersionNumberIsOneGap() throws {
        try FileManager.default.copyItem(atPath: Zone.policyPath(root: z, version: 1), toPath: Zone.policyPath(root: z, version: 1_000_000_000_000))
        let st = timed(["status", z, "--json"], seconds: 10)
        XCTAssertEqual(st.status, 0, st.stderr)
        XCTAssertTrue(st.out.contains("policy.2 is missing before"), st.out)
        let e = timed(["encrypt", z, "--identity", "file:" + alice.key], seconds: 10)
        XCTAssertEqual(e.status, 1)
        XCTAssertTrue(e.stderr.contains("policy.2 is missing before \(z)/.zone/policy.1000000000000"), e.stderr)
        XCTAssertEqual(s.read("z/f"), Array("record".utf8))
    }

    /// Finding 6: an 8 GiB sparse `.zone/policy.2` crashed every command ("failed to allocate",
    /// exit 134). It is refused by its size before anything is read.
    func testSparseEightGiBPolicyIsRefusedBySize() throws {
        let path = Zone.policyPath(root: z, version: 2)
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: nil))
        XCTAssertEqual(truncate(path, 8 << 30), 0)
        for args in [["encrypt", z, "--identity", "file:" + alice.key], ["cat", s.path("z/f"), "--identity", "file:" + alice.key],
                     ["grant", z, "--cert", recovery.cert, "--identity", "file:" + officer.key]] {
            let r = timed(args, seconds: 10)
            XCTAssertEqual(r.status, 1, "\(args[0]): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("policy.2 is 8589934592 bytes, more than the 8388608 allowed for it"), r.stderr)
        }
        let st = timed(["status", z, "--json"], seconds: 10)
        XCTAssertEqual(st.status, 0, st.stderr)
        XCTAssertTrue(st.out.contains("more than the 8388608 allowed"), st.out)
        XCTAssertEqual(s.read("z/f"), Array("record".utf8))
    }

    /// The same planted as an *older* version under a readable newest one: status (which reads
    /// older versions to find retired recovery certificates) reports it and does not crash.
    func testSparseOldVersionDoesNotCrashStatus() throws {
        XCTAssertEqual(s.zone("grant", z, "--cert", recovery.cert, "--identity", "file:" + officer.key).status, 0)
        let v1 = Zone.policyPath(root: z, version: 1)
        try FileManager.default.removeItem(atPath: v1)
        XCTAssertTrue(FileManager.default.createFile(atPath: v1, contents: nil))
        XCTAssertEqual(truncate(v1, 8 << 30), 0)
        let st = timed(["status", z, "--json"], seconds: 10)
        XCTAssertEqual(st.status, 0, st.stderr)
        XCTAssertTrue(st.out.contains("policy.1 is 8589934592 bytes"), st.out)
        let e = timed(["encrypt", z, "--identity", "file:" + alice.key], seconds: 10)
        XCTAssertEqual(e.status, 1)
        XCTAssertTrue(e.stderr.contains("more than the 8388608 allowed"), e.stderr)
    }

    /// Finding 6: a trust file that is /dev/zero hung every command; a FIFO would too. Both are
    /// refused at once as not regular files.
    func testTrustFileThatIsADeviceOrAFIFOIsRefused() throws {
        let fifo = s.path("trust.fifo")
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)
        for (trust, kind) in [("/dev/zero", "a device"), (fifo, "a FIFO")] {
            s.trust = trust
            for args in [["status", z], ["encrypt", z, "--identity", "file:" + alice.key]] {
                let r = timed(args, seconds: 10)
                XCTAssertEqual(r.status, 1, r.stderr)
                XCTAssertTrue(r.stderr.contains("trust file \(trust): \(trust) is \(kind), not a regular file"), r.stderr)
            }
        }
        // An oversized trust file is refused by its size.
        let big = s.path("big-trust.pem")
        XCTAssertTrue(FileManager.default.createFile(atPath: big, contents: nil))
        XCTAssertEqual(truncate(big, 1 << 30), 0)
        s.trust = big
        let r = timed(["status", z])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("more than the 4194304 allowed"), r.stderr)
    }

    /// A keyring or local-state record that is a FIFO, and a keyring claiming four billion
    /// entries: refused without hanging or reserving memory.
    func testKeyringAndStateAreBounded() throws {
        let zone = try Zone.load(root: z)
        var bytes = zone.keyring.encoded()
        bytes.replaceSubrange(24..<28, with: [0xFF, 0xFF, 0xFF, 0xFF])
        XCTAssertThrowsError(try Keyring(decoding: bytes, context: "k")) { error in
            XCTAssertTrue("\(error)".contains("more than its size can hold"), "\(error)")
        }
        let record = LocalState(directory: s.state + "/triad").path(zoneID: zone.policy.zoneID)
        try FileManager.default.removeItem(atPath: record)
        XCTAssertEqual(mkfifo(record, 0o600), 0)
        let r = timed(["encrypt", z, "--identity", "file:" + alice.key], seconds: 10)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("is a FIFO"), r.stderr)
        let krPath = Zone.keyringPath(root: z, hash: zone.policy.keyringHash)
        try FileManager.default.removeItem(atPath: record)
        try FileManager.default.removeItem(atPath: krPath)
        XCTAssertEqual(mkfifo(krPath, 0o644), 0)
        let k = timed(["encrypt", z, "--identity", "file:" + alice.key], seconds: 10)
        XCTAssertEqual(k.status, 1)
        XCTAssertTrue(k.stderr.contains("is a FIFO"), k.stderr)
    }

    /// A member certificate count or total size beyond the readers' limits is refused by
    /// `grant` before anything is written (the writer enforces the reader's limits).
    func testWriterEnforcesTheMemberLimit() throws {
        let zone = try Zone.open(root: z, context: s.context)
        var policy = zone.policy
        policy.members += Array(repeating: policy.members[0], count: ZoneLimits.members)
        XCTAssertNotNil(policy.limitExceeded())
        XCTAssertEqual(policy.limitExceeded()?.what, "members")
        policy.members = zone.policy.members
        XCTAssertNil(policy.limitExceeded())
    }
}
