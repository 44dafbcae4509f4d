import Foundation
import XCTest
import TriadCrypto
import TriadFormat
@testable import TriadZone

/// `zone recovery`: the officer's half of a recovery-key rotation (docs/zone.md §5). With a
/// trust file, a new recovery certificate needs IT (listed in the trust file) and an officer
/// (the signed policy); `zone status` counts coverage against the certificates pinned now.
final class RecoveryCertificateTests: XCTestCase {
    var s: Scratch!
    var officer: (key: String, cert: String)!
    var alice: (key: String, cert: String)!
    var old: (key: String, cert: String)!
    var new: (key: String, cert: String)!
    var z: String { s.path("z") }

    override func setUp() {
        s = Scratch()
        officer = PKI.make("officer-p256", "p256")
        alice = PKI.make("alice-rsa2048", "rsa2048")
        old = PKI.make("recovery-p384", "p384")
        new = PKI.make("recovery-new-p256", "p256")
        s.write("z/f", Array("record f".utf8))
    }

    func fingerprint(_ cert: String) -> String { PKI.certificate(cert).fingerprint.hex }
    func writeTrust(_ certs: [String]) throws {
        let trust = s.path("trust.pem")
        try certs.map { try String(contentsOfFile: $0, encoding: .utf8) }.joined().write(toFile: trust, atomically: true, encoding: .utf8)
        s.trust = trust
    }
    func recoveryFingerprints(_ file: String) throws -> [String] {
        try EncryptedFile.readHeader(at: s.path(file)).slots.filter { SlotType.isCertificateSlot($0.type) }
            .map { try RecoverySlotInfo(slot: $0).certificateFingerprint.hex }
    }
    func cat(_ file: String, _ key: String) -> RunResult { s.zone("cat", s.path(file), "--identity", "file:" + key) }
    func recovery(_ args: String...) -> RunResult { s.zone(["recovery", z] + args + ["--identity", "file:" + officer.key]) }

    func testAddThenRemoveUnderATrustFile() throws {
        try writeTrust([officer.cert, old.cert])
        XCTAssertEqual(s.zone("init", z, "--officer-cert", officer.cert, "--identity", "file:" + officer.key,
                              "--recovery-cert", old.cert, "--member", alice.cert).status, 0)
        XCTAssertEqual(s.zone("encrypt", z, "--identity", "file:" + alice.key).status, 0)

        // Not yet published by IT: refused, nothing written.
        var r = recovery("--add-cert", new.cert)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("is not listed in the trust file") && r.stderr.contains("IT must publish it"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: Zone.policyPath(root: z, version: 2)))

        // IT publishes it; the officer pins it next to the old one.
        try writeTrust([officer.cert, old.cert, new.cert])
        r = recovery("--add-cert", new.cert)
        XCTAssertEqual(r.status, 0, r.stderr)
        var st = s.status("z")
        XCTAssertEqual(st["policy_version"] as? Int, 2)
        XCTAssertEqual(st["policy_signature_valid"] as? Bool, true)
        XCTAssertEqual(st["recovery_certificates"] as? [String], [fingerprint(old.cert), fingerprint(new.cert)])
        XCTAssertEqual(s.files("z")["missing_recovery_slot"], 1, "f has no slot for the new certificate yet")
        XCTAssertEqual(recovery("--add-cert", new.cert).status, 1, "already pinned")

        // Removing the old one would strand f: refused unless --force.
        r = recovery("--remove-cert", old.cert)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("1 encrypted files") && r.stderr.contains("--force"), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: Zone.policyPath(root: z, version: 3)))

        // A member's rekey adds the new slot (and keeps the old while it is pinned).
        XCTAssertEqual(s.zone("rekey", z, "--identity", "file:" + alice.key).status, 0)
        XCTAssertEqual(try recoveryFingerprints("z/f"), [fingerprint(old.cert), fingerprint(new.cert)])
        XCTAssertEqual(s.files("z")["missing_recovery_slot"], 0)
        r = recovery("--remove-cert", old.cert)
        XCTAssertEqual(r.status, 0, r.stderr)
        st = s.status("z")
        XCTAssertEqual(st["policy_version"] as? Int, 3)
        XCTAssertEqual(st["recovery_certificates"] as? [String], [fingerprint(new.cert)])
        XCTAssertEqual((st["policy_history"] as? [String: Any])?["intact"] as? Bool, true)
        XCTAssertEqual(s.files("z")["missing_recovery_slot"], 0)
        XCTAssertEqual(try Zone.load(root: z).signed.policy.previousPolicyHash,
                       SHA256.hash(Array(try Data(contentsOf: URL(fileURLWithPath: Zone.policyPath(root: z, version: 2))))))

        // The last recovery certificate cannot go.
        r = recovery("--remove-cert", new.cert)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("would pin no recovery certificate") && r.stderr.contains("--add-cert"), r.stderr)

        // The retired key still opens f until a rekey drops its slot; then it opens nothing.
        XCTAssertEqual(cat("z/f", old.key).status, 0)
        XCTAssertEqual(s.files("z")["retired_recovery_slot"], 1)
        XCTAssertEqual(s.zone("rekey", z, "--identity", "file:" + alice.key).status, 0)
        XCTAssertEqual(s.files("z")["retired_recovery_slot"], 0)
        XCTAssertEqual(try recoveryFingerprints("z/f"), [fingerprint(new.cert)])
        XCTAssertEqual(cat("z/f", old.key).status, 1)
        XCTAssertEqual(cat("z/f", new.key).out, "record f")
        // New files carry only the new certificate.
        s.write("z/g", Array("record g".utf8))
        XCTAssertEqual(s.zone("encrypt", z, "--identity", "file:" + alice.key).status, 0)
        XCTAssertEqual(try recoveryFingerprints("z/g"), [fingerprint(new.cert)])
        XCTAssertEqual(cat("z/g", old.key).status, 1)
        XCTAssertEqual(cat("z/g", new.key).out, "record g")
    }

    /// Swap in one version with --force: files not yet re-wrapped are counted as missing, and
    /// a re-grant slot (a holder's certificate, never pinned) neither confuses the count nor
    /// is dropped by `zone rekey`.
    func testForcedSwapAndRegrantSlots() throws {
        let holder = PKI.make("holder-p256", "p256")
        XCTAssertEqual(s.zone("init", z, "--officer-cert", officer.cert, "--identity", "file:" + officer.key,
                              "--recovery-cert", old.cert, "--member", alice.cert).status, 0)
        XCTAssertEqual(s.zone("encrypt", z, "--identity", "file:" + alice.key).status, 0)
        // An incident re-grant: the recovery key adds a certificate slot for the holder, and
        // the record of the re-grant it signs (as RecoveryFiles.regrant does).
        let zoneID = try EncryptedFile.readHeader(at: s.path("z/f")).zoneID
        try EncryptedFile.rewrap(OpenedFile.at(s.path("z/f")), identities: [RecoveryIdentity(key: PKI.privateKey(old.key))], keep: { _ in true },
                                 add: [RecoveryRecipient(certificate: PKI.certificate(holder.cert)),
                                       try RegrantRecord(zoneID: zoneID, holder: PKI.certificate(holder.cert).fingerprint,
                                                     recoveryCertificate: PKI.certificate(old.cert), recoveryKey: PKI.privateKey(old.key))]).commit()
        XCTAssertEqual(s.files("z")["unauthorised_certificate_slot"], 0, "a recorded re-grant is not a planted slot")
        XCTAssertEqual(s.files("z")["missing_recovery_slot"], 0, "an extra re-grant slot is not a missing one")

        var r = recovery("--add-cert", new.cert, "--remove-cert", old.cert)
        XCTAssertEqual(r.status, 1, "f is covered only by the old certificate")
        r = recovery("--add-cert", new.cert, "--remove-cert", old.cert, "--force")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("no trust file"), "says the officer alone changed it: \(r.stderr)")
        XCTAssertEqual(s.status("z")["recovery_certificates"] as? [String], [fingerprint(new.cert)])
        XCTAssertEqual(s.files("z")["missing_recovery_slot"], 1)

        XCTAssertEqual(s.zone("rekey", z, "--identity", "file:" + alice.key).status, 0)
        XCTAssertEqual(Set(try recoveryFingerprints("z/f")), [fingerprint(holder.cert), fingerprint(new.cert)],
                       "the retired slot is dropped, the re-grant slot kept")
        XCTAssertEqual(s.files("z")["missing_recovery_slot"], 0)
        XCTAssertEqual(cat("z/f", holder.key).out, "record f")
        XCTAssertEqual(cat("z/f", new.key).out, "record f")
        XCTAssertEqual(cat("z/f", old.key).status, 1)
    }

    func testUsageAndOfficerChecks() {
        XCTAssertEqual(s.zone("init", z, "--officer-cert", officer.cert, "--identity", "file:" + officer.key,
                              "--recovery-cert", old.cert, "--member", alice.cert).status, 0)
        XCTAssertEqual(s.zone("recovery", z, "--identity", "file:" + officer.key).status, 2, "nothing to change is a usage error")
        let r = s.zone("recovery", z, "--add-cert", new.cert, "--identity", "file:" + alice.key)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("is not an officer"), r.stderr)
        XCTAssertEqual(recovery("--remove-cert", new.cert).status, 1, "not pinned")
    }
}
