#if canImport(Glibc)
import Glibc
#endif
import Foundation
import XCTest
import TriadCrypto
import TriadFormat
import TriadRecovery
import TriadZone

/// docs/recovery.md §3–§4: incident recovery end to end through `ceremony`, real
/// pcscd and virtual cards; files encrypted by `zone`.
final class IncidentCeremonyTests: XCTestCase {
    func testRegrantWithAllThreeFactorsWritesNoPlaintextAndTheNewHolderOpensWithTheirCard() throws {
        let s = try RecoverySetup("regrant")
        try s.makeZone()
        let holderCard = try VirtualCard(state: s.world.path("holder.card"), port: 35964)
        try holderCard.insert()
        defer { holderCard.remove() }
        let holder = try s.memberCard(holderCard, subject: "Dr New Holder")
        let holderPath = s.world.path("Dr-New-Holder.pem")
        let before = Date()
        let payloadsBefore = try s.files.map { f -> Data in
            FileManager.default.contents(atPath: f)!.suffix(from: try EncryptedFile.readHeader(at: f).encodedLength)
        }

        let r = s.incident("incident-grant", set: ["mode": "regrant", "paths": s.zone + "/ward-a", "to": holderPath])
        XCTAssertEqual(r.status, 0, String(r.stdout.suffix(800)) + r.stderr)
        let t = try XCTUnwrap(transcripts(in: s.world.path("incident-grant")).last)
        XCTAssertEqual(try transcriptEntries(t).last?["event"] as? String, "CLOSED")
        // The card proved its presence (docs/recovery.md §2a); both verifiers check the signature.
        XCTAssertNotNil(try cardAuth(t).first as? [String: Any], "the card step journals the card's signature")
        XCTAssertEqual(verifyBoth(t).swift.status, 0)
        XCTAssertEqual(verifyBoth(t).python.status, 0)

        // ward-a files now carry a slot for the holder; ward-b (not named) does not.
        for f in s.files {
            let fps = try EncryptedFile.readHeader(at: f).slots.filter { SlotType.isCertificateSlot($0.type) }.map { try RecoverySlotInfo(slot: $0).certificateFingerprint }
            XCTAssertEqual(fps.contains(holder.fingerprint), f.contains("/ward-a/"), f)
        }
        // Header only: the payload after the header is byte-identical.
        for (f, old) in zip(s.files, payloadsBefore) {
            let new = FileManager.default.contents(atPath: f)!.suffix(from: try EncryptedFile.readHeader(at: f).encodedLength)
            XCTAssertEqual(Data(new), Data(old), "payload of \(f) changed")
        }

        // The new holder, not a zone member, opens the re-granted files with their own card.
        for f in s.files where f.contains("/ward-a/") {
            let cat = s.world.zone(["cat", f, "--identity", "piv:" + holderCard.reader, "--pin-fd", "0"], pin: "123456\n")
            XCTAssertEqual(cat.status, 0, cat.stderr)
            XCTAssertTrue(cat.stdout.contains(RecoverySetup.marker), cat.stdout)
        }
        let refused = s.world.zone(["cat", s.files.last!, "--identity", "piv:" + holderCard.reader, "--pin-fd", "0"], pin: "123456\n")
        XCTAssertNotEqual(refused.status, 0, "ward-b was not re-granted")
        // Each re-grant is recorded in its file, signed by the recovery key: `zone status` does
        // not count the holder's slots as planted, and a member's `zone rekey` keeps them.
        let status = s.world.zone(["status", s.zone, "--json"])
        let files = ((try? JSONSerialization.jsonObject(with: Data(status.stdout.utf8))) as? [String: Any])?["files"] as? [String: Int]
        XCTAssertEqual(files?["unauthorised_certificate_slot"], 0, status.stdout + status.stderr)
        XCTAssertEqual(s.world.zone(["rekey", s.zone, "--identity", "file:" + s.world.path("nurse.key")]).status, 0)
        for f in s.files where f.contains("/ward-a/") {
            XCTAssertTrue(try EncryptedFile.readHeader(at: f).slots.contains { $0.type == RegrantRecord.slotType }, "\(f) carries the re-grant record")
            XCTAssertTrue(try EncryptedFile.readHeader(at: f).hasCertificateSlot(for: holder.fingerprint), "\(f) keeps the holder's slot")
        }

        // No plaintext, PIN or recovery private key in anything the ceremony wrote or the journal.
        let key = try s.recoveryKey(card: s.primary)
        let pkcs8 = try key.pkcs8DER().bytes
        var needles: [(String, [UInt8])] = [("plaintext", Array(RecoverySetup.marker.utf8)), ("PIN", Array(RecoverySetup.pin.utf8)),
                                            ("recovery key PKCS#8", pkcs8)]
        if let i = pkcs8.indices.dropLast(37).first(where: { Array(pkcs8[$0..<$0 + 5]) == [0x02, 0x01, 0x01, 0x04, 0x20] }) {
            needles.append(("recovery private scalar", Array(pkcs8[(i + 5)..<(i + 37)])))
        } else { XCTFail("no EC private scalar found in the PKCS#8 to search for") }
        var scanned = 0
        for f in allFiles(s.world.root) {
            let attrs = try FileManager.default.attributesOfItem(atPath: f)
            let written = (attrs[.modificationDate] as! Date) >= before.addingTimeInterval(-1) || f.hasPrefix(s.world.journal)
            guard written, !f.hasSuffix(".card") else { continue }  // card state files are the cards themselves
            let data = FileManager.default.contents(atPath: f)!
            scanned += 1
            for (what, needle) in needles { XCTAssertFalse(contains(data, needle), "\(what) found in \(f)") }
        }
        XCTAssertGreaterThanOrEqual(scanned, 5, "the scan looked at the transcript, summary, journal and the re-granted files")
    }

    func testDecryptModeWritesIntoQuarantineOnly() throws {
        let s = try RecoverySetup("decrypt")
        try s.makeZone(count: 2)
        let q = s.world.path("incident-decrypt/quarantine")
        let r = s.incident("incident-decrypt", set: ["mode": "decrypt", "paths": s.zone + "/ward-b", "quarantine": q])
        XCTAssertEqual(r.status, 0, String(r.stdout.suffix(800)))
        XCTAssertEqual((try FileManager.default.attributesOfItem(atPath: q)[.posixPermissions] as! NSNumber).intValue, 0o700,
                       "the ceremony made the quarantine itself, private")
        let out = allFiles(q).filter { !$0.hasSuffix("/" + Quarantine.markerName) }
        XCTAssertEqual(out.count, 2)
        for f in out {
            XCTAssertTrue(String(decoding: FileManager.default.contents(atPath: f)!, as: UTF8.self).contains("ward-b patient"))
            let mode = (try FileManager.default.attributesOfItem(atPath: f)[.posixPermissions] as! NSNumber).intValue
            XCTAssertEqual(mode & 0o077, 0, "quarantine files are private")
        }
        for f in s.files { XCTAssertTrue(EncryptedFile.isEncrypted(at: f), "originals stay encrypted") }
    }

    /// A quarantine someone made beforehand — open to everyone, with a subfolder open to
    /// everyone and a planted file where a decrypted copy would go (owned by `nobody` when the
    /// test runs as root) — is refused: nothing is decrypted into it, and the planted file is
    /// not taken for a copy already made.
    func testAQuarantineMadeBeforehandIsRefused() throws {
        let s = try RecoverySetup("quarantine-planted")
        try s.makeZone(count: 2)
        let q = s.world.path("planted-quarantine")
        s.world.mkdir("planted-quarantine/ward-b")
        let planted = q + "/ward-b/patient-1.txt"
        try "planted by someone else".write(toFile: planted, atomically: false, encoding: .utf8)
        for folder in [q, q + "/ward-b"] { XCTAssertEqual(chmod(folder, 0o777), 0) }
        if geteuid() == 0 { for p in [q, q + "/ward-b", planted] { XCTAssertEqual(chown(p, 65534, 65534), 0) } }

        let r = s.incident("incident-planted", set: ["mode": "decrypt", "paths": s.zone + "/ward-b", "quarantine": q])
        XCTAssertEqual(r.status, 1, String(r.stdout.suffix(600)))
        let t = try XCTUnwrap(transcripts(in: s.world.path("incident-planted")).last)
        let last = try XCTUnwrap(try transcriptEntries(t).last)
        XCTAssertEqual(last["event"] as? String, "ABORTED")
        let reason = (last["payload"] as? [String: Any])?["reason"] as? String ?? ""
        XCTAssertTrue(reason.contains("was not made by this ceremony"), reason)
        XCTAssertEqual(allFiles(q), [planted], "nothing was written into the planted folder")
        XCTAssertEqual(try String(contentsOfFile: planted, encoding: .utf8), "planted by someone else")
        XCTAssertFalse(try transcriptEntries(t).contains { ($0["payload"] as? [String: Any])?["kind"] as? String == "files-decrypted" },
                       "no file was counted as decrypted")
        for f in s.files { XCTAssertTrue(EncryptedFile.isEncrypted(at: f)) }
    }

    /// Each missing or wrong factor stops the ceremony at that factor: ABORTED, nothing recovered.
    func testEachMissingOrWrongFactorStopsAtThatFactor() throws {
        let s = try RecoverySetup("factors")
        try s.makeZone(count: 1)
        let before = s.snapshot()
        let q = s.world.path("quarantine")
        func attempt(_ name: String, pins: [String] = [RecoverySetup.pin], answers: [String] = [], set: [String: String]) -> (Run, String) {
            var all = ["mode": "decrypt", "paths": s.zone, "quarantine": q]
            all.merge(set) { $1 }
            return (s.incident(name, pins: pins, answers: answers, set: all), s.world.path(name))
        }

        // Tampered blob: one byte changed.
        var tampered = Array(FileManager.default.contents(atPath: s.blob)!)
        tampered[70] ^= 0x01
        try Data(tampered).write(to: URL(fileURLWithPath: s.world.path("tampered.blob")))
        var (r, o) = attempt("tampered", set: ["blob": s.world.path("tampered.blob")])
        try assertAborted(r, output: o, at: "blob", mentioning: "escrow blob")

        // Wrong blob: a valid blob for another recovery key, sealed for the same cards.
        let record = try EnrolmentRecord.load(path: s.record)
        let otherKey = try PrivateKey.generate(.ecP256)
        let otherCert = try Certificate.selfSigned(subject: "CN=Other recovery", key: otherKey, days: 30)
        let other = try EscrowSeal.create(recoveryKey: otherKey, recoveryCertificate: otherCert, cards: try record.cards.map { try $0.certificate() })
        try Data(other.encoded).write(to: URL(fileURLWithPath: s.world.path("other.blob")))
        (r, o) = attempt("wrongblob", set: ["blob": s.world.path("other.blob")])
        try assertAborted(r, output: o, at: "blob", mentioning: "not the one in the enrolment record")

        // Missing blob.
        (r, o) = attempt("noblob", set: ["blob": s.world.path("absent.blob")])
        try assertAborted(r, output: o, at: "blob", mentioning: "cannot be read")

        // Another card: enrolled by nobody, with a 9D certificate of its own.
        let stranger = try VirtualCard(state: s.world.path("stranger.card"), port: 35964)
        try stranger.insert()
        _ = try s.memberCard(stranger, subject: "Stranger")
        (r, o) = attempt("othercard", set: ["reader": stranger.reader])
        try assertAborted(r, output: o, at: "card", mentioning: "not in the enrolment record")
        stranger.remove()

        // Missing PIN (nothing on --pin-fd).
        (r, o) = attempt("nopin", pins: [], set: [:])
        try assertAborted(r, output: o, at: "pin", mentioning: "nothing was read from PIN descriptor")

        // Wrong PIN: the card says so at the PIN step (docs/ceremony.md §9, items 11–15), one try
        // is spent; the witnessed retry is declined, so nothing is recovered.
        (r, o) = attempt("wrongpin", pins: ["11223344"], answers: ["pin.exception.choice=abort"], set: [:])
        try assertAborted(r, output: o, at: "pin", mentioning: "2 tries left")

        // Nothing was recovered: no quarantine, zone files untouched (bytes and mtimes).
        XCTAssertFalse(FileManager.default.fileExists(atPath: q))
        let after = s.snapshot()
        for (f, (data, mtime)) in before {
            XCTAssertEqual(after[f]?.0, data, f); XCTAssertEqual(after[f]?.1, mtime, f)
        }

        // And with all three right, the same ceremony recovers (the PIN counter resets).
        (r, o) = attempt("allright", set: [:])
        XCTAssertEqual(r.status, 0, String(r.stdout.suffix(600)))
        XCTAssertEqual(allFiles(q).filter { !$0.hasSuffix("/" + Quarantine.markerName) }.count, s.files.count)
    }
}
