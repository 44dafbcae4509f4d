#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TriadTestSupport
import XCTest
import TriadCrypto
import TriadFormat
import TriadRecovery

/// Recovery-key rotation (docs/recovery.md §5): the ceremony re-wraps every recovery
/// slot, the officer then pins the new certificate (`zone recovery`), after which `zone status`
/// shows full coverage by the new certificate and the old key opens nothing; an interrupted
/// rotation — Ctrl-C/SIGTERM or SIGKILL in the middle of the re-wrap — resumes.
final class RotationTests: XCTestCase {
    func rotation(_ s: RecoverySetup, zones: String, newOut: String) -> [String: String] {
        ["blob": s.blob, "record": s.record, "reader": s.primary.reader, "zones": zones, "new_out": newOut]
    }

    /// The new recovery key, unlocked in-process from the new blob with the primary card.
    func newKey(_ s: RecoverySetup, _ newOut: String) throws -> (PrivateKey, Certificate) {
        let record = try EnrolmentRecord.load(path: newOut + "/recovery-record.json")
        let cert = try record.recoveryCertificate()
        let blob = try EscrowSeal.check(Array(FileManager.default.contents(atPath: newOut + "/escrow.blob")!), against: record)
        let ops = try RecoveryCard.key(transport: try s.primary.connect()) { _ in SecureBytes(Array(RecoverySetup.pin.utf8)) }
        return (try RecoveryCard.unlock(blob, card: ops, recoveryCertificate: cert), cert)
    }

    /// Writes a key to a PEM file in the test's scratch folder so `zone cat --identity file:` can use it.
    func keyFile(_ s: RecoverySetup, _ name: String, _ key: PrivateKey) throws -> String {
        let path = s.world.path(name)
        try Data(try key.pkcs8PEM().bytes).write(to: URL(fileURLWithPath: path))
        return "file:" + path
    }

    func zoneStatus(_ s: RecoverySetup, trust: String) throws -> [String: Any] {
        let r = s.world.zone(["status", s.zone, "--json", "--trust", trust])
        XCTAssertEqual(r.status, 0, r.stderr)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    }

    func writeTrust(_ path: String, _ certs: [String], extra: String = "") throws {
        try (certs.map { try String(contentsOfFile: $0, encoding: .utf8) }.joined() + extra).write(toFile: path, atomically: true, encoding: .utf8)
    }

    func testRotationThenPolicyUpdateGivesFullCoverageByTheNewCertificate() throws {
        let s = try RecoverySetup("rotate")
        try s.makeZone(count: 3)
        let oldKey = try s.recoveryKey(card: s.primary)
        let oldCert = try EnrolmentRecord.load(path: s.record).recoveryCertificate()
        // A rotation cut short: the first run covers only ward-a (as if stopped half-way, after
        // the new key, blob and record were written); the second run, over the whole zone,
        // adopts the new certificate from the new record and finishes the rest.
        let newOut = s.world.path("recovery-new")
        s.world.mkdir("recovery-new")
        var r = s.world.ceremony("recovery-key-rotation", output: s.world.path("rotation-1"), pins: [RecoverySetup.pin],
                                 set: rotation(s, zones: s.zone + "/ward-a", newOut: newOut))
        XCTAssertEqual(r.status, 0, String(r.stdout.suffix(800)))
        let record2 = try EnrolmentRecord.load(path: newOut + "/recovery-record.json")
        let newCert = try record2.recoveryCertificate()
        XCTAssertEqual(try RecoveryFiles.coverage([s.zone], certificate: newCert).covered, 3, "half done")
        r = s.world.ceremony("recovery-key-rotation", output: s.world.path("rotation-2"), pins: [RecoverySetup.pin],
                             set: rotation(s, zones: s.zone, newOut: newOut))
        XCTAssertEqual(r.status, 0, String(r.stdout.suffix(800)))
        let resumed = try String(contentsOfFile: try XCTUnwrap(transcripts(in: s.world.path("rotation-2")).last), encoding: .utf8)
        XCTAssertTrue(resumed.contains("recovery-certificate-adopted"), "the second run resumed with the same new certificate")
        XCTAssertEqual(try EnrolmentRecord.load(path: newOut + "/recovery-record.json"), record2, "the new record was not rewritten")
        XCTAssertEqual(try RecoveryFiles.coverage([s.zone], certificate: newCert).covered, s.files.count)
        XCTAssertEqual(try RecoveryFiles.coverage([s.zone], certificate: oldCert).covered, 0, "no slot for the old certificate is left")

        // The policy step (docs/recovery.md §5): IT publishes the new certificate in the trust
        // file, the officer pins it and drops the old one, IT then retires the old one.
        let trust = s.world.path("trust.pem")
        let officer = ["--identity", "file:" + s.world.path("officer.key"), "--trust", trust]
        let swap = ["recovery", s.zone, "--add-cert", newOut + "/recovery.cert.pem", "--remove-cert", s.out + "/recovery.cert.pem"] + officer
        try writeTrust(trust, [s.world.path("officer.pem"), s.out + "/recovery.cert.pem"])
        var z = s.world.zone(swap)
        XCTAssertEqual(z.status, 1, "the officer alone cannot pin a certificate IT has not published")
        XCTAssertTrue(z.stderr.contains("not listed in the trust file"), z.stderr)
        var st = try zoneStatus(s, trust: trust)
        XCTAssertEqual(st["recovery_certificates"] as? [String], [oldCert.fingerprint.hex])
        XCTAssertEqual((st["files"] as? [String: Int])?["missing_recovery_slot"], s.files.count, "rotated files lack the pinned old slot")
        try writeTrust(trust, [s.world.path("officer.pem"), s.out + "/recovery.cert.pem", newOut + "/recovery.cert.pem"])
        z = s.world.zone(swap)
        XCTAssertEqual(z.status, 0, z.stderr)
        // IT withdraws the old certificate: older policy versions still pin it, the newest may not.
        try writeTrust(trust, [s.world.path("officer.pem"), newOut + "/recovery.cert.pem"],
                       extra: "retired-recovery \(oldCert.fingerprint.hex)\n")
        st = try zoneStatus(s, trust: trust)
        XCTAssertEqual(st["policy_signature_valid"] as? Bool, true, "\(st["policy_error"] ?? "")")
        XCTAssertEqual(st["recovery_certificates"] as? [String], [newCert.fingerprint.hex])
        let files = try XCTUnwrap(st["files"] as? [String: Int])
        XCTAssertEqual(files["encrypted"], s.files.count)
        XCTAssertEqual(files["missing_recovery_slot"], 0)
        XCTAssertEqual(files["retired_recovery_slot"], 0, "the ceremony left no slot for the old certificate")

        // The old recovery key opens no file; the new one (sealed for the same cards) opens all.
        let old = try keyFile(s, "old-recovery.key", oldKey)
        let (key2, cert2) = try newKey(s, newOut)
        XCTAssertEqual(cert2.fingerprint, newCert.fingerprint)
        let new = try keyFile(s, "new-recovery.key", key2)
        for f in s.files {
            let o = s.world.zone(["cat", f, "--identity", old, "--trust", trust])
            XCTAssertEqual(o.status, 1, f)
            XCTAssertTrue(o.stdout.isEmpty && o.stderr.contains("no key slot"), o.stderr)
            let n = s.world.zone(["cat", f, "--identity", new, "--trust", trust])
            XCTAssertEqual(n.status, 0, n.stderr)
            XCTAssertTrue(n.stdout.contains(RecoverySetup.marker), f)
        }
    }

    /// A real interruption: the first run gets SIGTERM (as Ctrl-C) in the middle of the re-wrap
    /// and ends ABORTED with a transcript that verifies; the second is SIGKILLed in the middle;
    /// after each, every file carries exactly one recovery slot (old or new) and opens with that
    /// key; the third run finishes the rest.
    func testInterruptedRotationResumes() throws {
        let s = try RecoverySetup("rotate-kill")
        try s.makeZone(count: 100)
        let total = s.files.count
        let oldKey = try s.recoveryKey(card: s.primary)
        let oldCert = try EnrolmentRecord.load(path: s.record).recoveryCertificate()
        let newOut = s.world.path("recovery-new")
        s.world.mkdir("recovery-new")
        let newCertPath = newOut + "/recovery.cert.pem"

        func covered() -> Int {
            guard let pem = try? String(contentsOfFile: newCertPath, encoding: .utf8), let cert = try? Certificate(pem: pem),
                  let c = try? RecoveryFiles.coverage([s.zone], certificate: cert) else { return 0 }
            return c.covered
        }
        /// Starts a rotation and sends `signal` once more than `after` files carry the new slot.
        func interrupted(_ name: String, after: Int, signal sig: Int32) throws -> (ProcessResult, Int) {
            // Progress is polled by inode (one stat per file), not by coverage, which opens
            // every file and can take longer than the run.
            let already = covered(), before = inodes(of: s.files)
            let p = try s.world.startCeremony("recovery-key-rotation", output: s.world.path(name), pins: [RecoverySetup.pin],
                                              set: rotation(s, zones: s.zone, newOut: newOut))
            let deadline = Date().addingTimeInterval(300)
            while p.isRunning && already + replacedCount(since: before) <= after && Date() < deadline { usleep(2_000) }
            p.kill(sig)
            return (p.wait(), covered())
        }
        func assertEveryFileOpens(_ newKey: PrivateKey?, _ newCert: Certificate) throws {
            var old = 0, new = 0
            for f in s.files {
                let slots = try EncryptedFile.readHeader(at: f).slots.filter { SlotType.isCertificateSlot($0.type) }.map { try RecoverySlotInfo(slot: $0) }
                XCTAssertEqual(slots.count, 1, "\(f) carries exactly one recovery slot")
                let key: PrivateKey?
                if slots.first?.certificateFingerprint == oldCert.fingerprint { key = oldKey; old += 1 } else { key = newKey; new += 1 }
                guard let key else { continue }
                let reader = try EncryptedFileReader(path: f, identities: [RecoveryIdentity(key: key)])
                XCTAssertTrue(String(decoding: try reader.readSegment(0), as: UTF8.self).contains(RecoverySetup.marker), f)
            }
            XCTAssertEqual(old + new, total)
        }

        // 1. SIGTERM half-way: the re-wrap stops after the file in hand; ABORTED at the step.
        let (p1, c1) = try interrupted("rotation-1", after: 0, signal: SIGTERM)
        XCTAssertEqual(p1.exitCode, 1)
        XCTAssertGreaterThan(c1, 0); XCTAssertLessThan(c1, total, "the interruption landed before the end")
        try assertAborted(Run(status: p1.status, stdout: "", stderr: ""), output: s.world.path("rotation-1"),
                          at: "rewrap", mentioning: "interrupted")
        let newCert = try EnrolmentRecord.load(path: newOut + "/recovery-record.json").recoveryCertificate()
        try assertEveryFileOpens(nil, newCert)

        // 2. SIGKILL half-way through the rest: no terminal entry, but no file is torn.
        let (p2, c2) = try interrupted("rotation-2", after: c1 + 20, signal: SIGKILL)
        XCTAssertEqual(p2.signal, SIGKILL)
        XCTAssertGreaterThan(c2, c1 + 20); XCTAssertLessThan(c2, total, "the kill landed before the end")
        try assertEveryFileOpens(nil, newCert)

        // 3. The same ceremony again finishes: every file carries the new slot only.
        let r = s.world.ceremony("recovery-key-rotation", output: s.world.path("rotation-3"), pins: [RecoverySetup.pin],
                                 set: rotation(s, zones: s.zone, newOut: newOut))
        XCTAssertEqual(r.status, 0, String(r.stdout.suffix(800)))
        let t = try String(contentsOfFile: try XCTUnwrap(transcripts(in: s.world.path("rotation-3")).last), encoding: .utf8)
        XCTAssertTrue(t.contains("recovery-certificate-adopted"))
        XCTAssertTrue(t.contains("\"already_done\":\(c2)"), "journals the \(c2) files done before")
        XCTAssertEqual(try RecoveryFiles.coverage([s.zone], certificate: newCert).covered, total)
        XCTAssertEqual(try RecoveryFiles.coverage([s.zone], certificate: oldCert).covered, 0)
        let (key2, _) = try newKey(s, newOut)
        try assertEveryFileOpens(key2, newCert)
    }
}
