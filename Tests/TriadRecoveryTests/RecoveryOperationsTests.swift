import ISO7816
import Foundation
import XCTest
import TriadCrypto
import TriadFormat
import TriadPCSC
import TriadPIV
import TriadRecovery
import TriadZone
import VirtualPIV

/// The in-process virtual applet as a `CardTransport`, so the recovery library's card logic
/// is tested without pcscd (the end-to-end tests go through pcscd).
final class InProcessCard: CardTransport {
    var applet: VirtualPIVApplet
    init(serial: UInt32 = 999_000_777) { applet = VirtualPIVApplet(state: .blank(serial: serial)) }
    func transmit(_ apdu: CommandAPDU) throws -> ResponseAPDU {
        let r = applet.process(try apdu.encoded())
        return ResponseAPDU(data: Array(r.dropLast(2)), sw1: r[r.count - 2], sw2: r[r.count - 1])
    }
    func withTransaction<T>(_ body: () throws -> T) throws -> T { try body() }
}

/// Recovery operations as library functions (docs/recovery.md §3–§6), with software keys and the
/// in-process applet.
final class RecoveryOperationsTests: XCTestCase {
    var dir = ""
    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "triad-recovery-ops-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    let zoneID = [UInt8](repeating: 7, count: 16)

    func makeFiles(_ n: Int, recovery: Certificate, zoneKey: SecureBytes) throws -> [String] {
        try FileManager.default.createDirectory(atPath: dir + "/zone/sub", withIntermediateDirectories: true)
        var out: [String] = []
        for i in 0..<n {
            let plain = dir + "/plain-\(i)"
            try "file \(i) SECRET-CONTENT".write(toFile: plain, atomically: true, encoding: .utf8)
            let enc = dir + "/zone/sub/f\(i)"
            try EncryptedFile.encrypt(OpenedFile.at(plain), to: FileLocation.at(enc), zoneID: zoneID,
                                      recipients: [ZoneSlotKey(zoneID: zoneID, epoch: 1, zoneKey: zoneKey), RecoveryRecipient(certificate: recovery)]).commit()
            try FileManager.default.removeItem(atPath: plain)
            out.append(enc)
        }
        return out
    }

    func testEnrolIdentifyUnlockAndChangePINOnTheApplet() throws {
        let material = try RecoveryKeyMaterial.generate(subject: "CN=Test recovery", days: 30, withSigningRequest: true)
        XCTAssertTrue(material.signingRequestPEM?.contains("BEGIN CERTIFICATE REQUEST") == true)
        let card = InProcessCard()
        let pin = SecureBytes(Array("24681357".utf8)), puk = SecureBytes(Array("11223344".utf8))
        let e = try RecoveryCard.enrol(transport: card, subject: "CN=card", issuer: material.certificate, issuerKey: material.key, pin: pin, puk: puk)
        XCTAssertEqual(e.serial, 999_000_777)
        XCTAssertTrue(e.certificate.isSigned(by: material.certificate.publicKey), "the recovery key certifies the card key")
        XCTAssertFalse(card.applet.state.managementKeyIsDefault, "the default management key was replaced")
        // Nobody can re-administer the card with the default key now.
        XCTAssertThrowsError(try PIVClient(transport: card).authenticateManagementKey(RecoveryCard.defaultManagementKey))

        let blob = try EscrowSeal.create(recoveryKey: material.key, recoveryCertificate: material.certificate, cards: [e.certificate])
        let record = EnrolmentRecord(recoveryCertificate: material.certificate, blob: blob.encoded, parsed: blob, cards: [.init(serial: e.serial, certificate: e.certificate)])
        let id = try RecoveryCard.identify(transport: card, against: record)
        XCTAssertEqual(id.pinTriesLeft, 3)
        XCTAssertEqual(id.serial, e.serial)

        // Wrong PIN: the card counts it, the error names the tries left, no key.
        let wrong = try RecoveryCard.key(transport: card) { _ in SecureBytes(Array("00000000".utf8)) }
        XCTAssertThrowsError(try RecoveryCard.unlock(blob, card: wrong, recoveryCertificate: material.certificate)) {
            XCTAssertEqual($0 as? RecoveryError, .pinIncorrect(triesLeft: 2))
        }
        let right = try RecoveryCard.key(transport: card) { _ in pin }
        let key = try RecoveryCard.unlock(blob, card: right, recoveryCertificate: material.certificate)
        XCTAssertEqual(key.publicKey, material.key.publicKey)

        // PIN change, then the old PIN fails and the new one works.
        let newPIN = SecureBytes(Array("13579246".utf8))
        try RecoveryCard.changePIN(transport: card, old: pin, new: newPIN)
        XCTAssertNoThrow(try RecoveryCard.unlock(blob, card: try RecoveryCard.key(transport: card) { _ in newPIN }, recoveryCertificate: material.certificate))
        // Blocked PIN: identification refuses before any PIN is asked; the PUK unblocks.
        for _ in 0..<3 { _ = try? PIVClient(transport: card).verifyPIN(SecureBytes(Array("99999999".utf8))) }
        XCTAssertThrowsError(try RecoveryCard.identify(transport: card, against: record)) { XCTAssertEqual($0 as? RecoveryError, .cardBlocked) }
        try RecoveryCard.changePIN(transport: card, old: nil, puk: puk, new: pin)
        XCTAssertEqual(try RecoveryCard.identify(transport: card, against: record).pinTriesLeft, 3)
    }

    func testAnotherCardIsNotEnrolled() throws {
        let m = try RecoveryKeyMaterial.generate(subject: "CN=R", days: 30)
        let a = InProcessCard(serial: 999_000_001), b = InProcessCard(serial: 999_000_002)
        let pin = SecureBytes(Array("24681357".utf8))
        let ea = try RecoveryCard.enrol(transport: a, subject: "CN=a", issuer: m.certificate, issuerKey: m.key, pin: pin, puk: pin)
        _ = try RecoveryCard.enrol(transport: b, subject: "CN=b", issuer: m.certificate, issuerKey: m.key, pin: pin, puk: pin)
        let blob = try EscrowSeal.create(recoveryKey: m.key, recoveryCertificate: m.certificate, cards: [ea.certificate])
        let record = EnrolmentRecord(recoveryCertificate: m.certificate, blob: blob.encoded, parsed: blob, cards: [.init(serial: ea.serial, certificate: ea.certificate)])
        XCTAssertThrowsError(try RecoveryCard.identify(transport: b, against: record)) { XCTAssertEqual(($0 as? RecoveryError)?.code, "cardNotEnrolled") }
    }

    func testRegrantIsHeaderOnlyIdempotentAndOpensForTheHolder() throws {
        let m = try RecoveryKeyMaterial.generate(subject: "CN=R", days: 30)
        let files = try makeFiles(4, recovery: m.certificate, zoneKey: .random(count: 32))
        let holderKey = try PrivateKey.generate(.ecP256)
        let holder = try Certificate.selfSigned(subject: "CN=holder", key: holderKey, days: 30)
        let before = try files.map { try EncryptedFile.readHeader(at: $0).fileID }
        var o = try RecoveryFiles.regrant([dir + "/zone"], recoveryKey: m.key, recoveryCertificate: m.certificate, to: holder)
        XCTAssertEqual(o.done, 4); XCTAssertTrue(o.ok)
        o = try RecoveryFiles.regrant([dir + "/zone"], recoveryKey: m.key, recoveryCertificate: m.certificate, to: holder)
        XCTAssertEqual(o.done, 0); XCTAssertEqual(o.alreadyDone, 4)
        for (f, id) in zip(files, before) {
            XCTAssertEqual(try EncryptedFile.readHeader(at: f).fileID, id, "same file, header rewritten only")
            let r = try EncryptedFileReader(path: f, identities: [RecoveryIdentity(key: holderKey)])
            XCTAssertTrue(String(decoding: try r.readSegment(0), as: UTF8.self).contains("SECRET-CONTENT"))
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/zone/sub").count, 4, "no temporaries or copies left")
    }

    func testRotationReplacesTheSlotAndResumesAfterAStop() throws {
        let old = try RecoveryKeyMaterial.generate(subject: "CN=old", days: 30)
        let new = try RecoveryKeyMaterial.generate(subject: "CN=new", days: 30)
        let files = try makeFiles(12, recovery: old.certificate, zoneKey: .random(count: 32))
        // A stop requested once two files are re-wrapped: the workers start no further file,
        // finish the ones in hand (at most one per worker) and commit them before returning.
        var engine = TreeEngine()
        var n = 0
        engine.progress = { _ in n += 1 }
        engine.shouldStop = { n >= 2 }
        let first = try RecoveryFiles.rotate([dir + "/zone"], oldKey: old.key, old: old.certificate, new: new.certificate,
                                             engine: engine)
        XCTAssertTrue(first.interrupted)
        XCTAssertGreaterThanOrEqual(first.done, 2)
        XCTAssertLessThanOrEqual(first.done, 1 + engine.workers, "no file is started after the stop")
        XCTAssertEqual(first.notFinished, files.count - first.done)
        XCTAssertEqual(try RecoveryFiles.coverage([dir + "/zone"], certificate: new.certificate).covered, first.done,
                       "every file re-wrapped before the stop is durable and in place")
        let second = try RecoveryFiles.rotate([dir + "/zone"], oldKey: old.key, old: old.certificate, new: new.certificate)
        XCTAssertEqual(second.done, files.count - first.done); XCTAssertEqual(second.alreadyDone, first.done)
        XCTAssertTrue(second.ok)
        XCTAssertTrue(try RecoveryFiles.coverage([dir + "/zone"], certificate: new.certificate).complete)
        XCTAssertEqual(try RecoveryFiles.coverage([dir + "/zone"], certificate: old.certificate).covered, 0)
        for f in files {
            XCTAssertThrowsError(try EncryptedFileReader(path: f, identities: [RecoveryIdentity(key: old.key)]))
            XCTAssertNoThrow(try EncryptedFileReader(path: f, identities: [RecoveryIdentity(key: new.key)]))
        }
    }

    func testQuarantineDecryptAndCanary() throws {
        let m = try RecoveryKeyMaterial.generate(subject: "CN=R", days: 30)
        _ = try makeFiles(3, recovery: m.certificate, zoneKey: .random(count: 32))
        let o = try RecoveryFiles.decrypt([dir + "/zone"], base: dir, quarantine: dir + "/q", ceremonyID: "test-ceremony",
                                          recoveryKey: m.key, recoveryCertificate: m.certificate)
        XCTAssertEqual(o.done, 3)
        XCTAssertEqual(try String(contentsOfFile: dir + "/q/zone/sub/f1", encoding: .utf8), "file 1 SECRET-CONTENT")
        let canary = try Canary.create(at: dir + "/canary.triad", recoveryCertificate: m.certificate)
        XCTAssertTrue(try Canary.verify(at: dir + "/canary.triad", expectedSHA256: canary.plaintextSHA256, key: m.key, recoveryCertificate: m.certificate))
        XCTAssertFalse(try Canary.verify(at: dir + "/canary.triad", expectedSHA256: String(repeating: "0", count: 64), key: m.key, recoveryCertificate: m.certificate))
        let other = try RecoveryKeyMaterial.generate(subject: "CN=other", days: 30)
        XCTAssertThrowsError(try Canary.verify(at: dir + "/canary.triad", expectedSHA256: canary.plaintextSHA256, key: other.key, recoveryCertificate: other.certificate))
    }

    /// A file planted in the ceremony's own quarantine where a copy goes, before the step is
    /// run again (resumed): not counted as "already done" — it is replaced by the real copy —
    /// while the copies the first run made are recognised by their file-id label.
    func testPlantedFileInTheQuarantineIsNotCountedAsDone() throws {
        let m = try RecoveryKeyMaterial.generate(subject: "CN=R", days: 30)
        _ = try makeFiles(3, recovery: m.certificate, zoneKey: .random(count: 32))
        let q = dir + "/q"
        var o = try RecoveryFiles.decrypt([dir + "/zone"], base: dir, quarantine: q, ceremonyID: "c1",
                                          recoveryKey: m.key, recoveryCertificate: m.certificate)
        XCTAssertEqual(o.done, 3)
        // Planted: same owner, mode 0600, one link — only the label is missing.
        XCTAssertEqual(unlink(q + "/zone/sub/f1"), 0)
        try "planted".write(toFile: q + "/zone/sub/f1", atomically: false, encoding: .utf8)
        XCTAssertEqual(chmod(q + "/zone/sub/f1", 0o600), 0)
        o = try RecoveryFiles.decrypt([dir + "/zone"], base: dir, quarantine: q, ceremonyID: "c1",
                                      recoveryKey: m.key, recoveryCertificate: m.certificate)
        XCTAssertEqual(o.done, 1, "the planted file was replaced by the real copy")
        XCTAssertEqual(o.alreadyDone, 2, "the first run's copies are recognised")
        XCTAssertEqual(try String(contentsOfFile: q + "/zone/sub/f1", encoding: .utf8), "file 1 SECRET-CONTENT")
    }

    func testDrillReportVerdict() throws {
        var r = DrillReport()
        for f in DrillReport.factorNames { r.set(f, .pass, "ok") }
        r.pinTriesLeft = 3
        XCTAssertTrue(r.passed)
        let expired = try Certificate.selfSigned(subject: "CN=x", key: try PrivateKey.generate(.ecP256), days: 0)
        var e = r
        e.addExpiry("recovery certificate", expired, now: Date().addingTimeInterval(10))
        XCTAssertFalse(e.passed); XCTAssertTrue(e.text.contains("EXPIRED"))
        // A recovery certificate expiring within the warning period fails the drill too; a card
        // certificate does not (it is re-issued with the card, not by a rotation).
        let soon = try Certificate.selfSigned(subject: "CN=soon", key: try PrivateKey.generate(.ecP256), days: CertificatePolicy.expiryWarningDays - 1)
        var w = r
        w.addExpiry("recovery certificate", soon)
        XCTAssertFalse(w.passed); XCTAssertTrue(w.text.contains("EXPIRES WITHIN 120 DAYS"), w.text)
        var cw = r
        cw.addExpiry("card certificate", soon)
        XCTAssertTrue(cw.passed)
        let later = try Certificate.selfSigned(subject: "CN=later", key: try PrivateKey.generate(.ecP256), days: CertificatePolicy.expiryWarningDays + 2)
        var l = r
        l.addExpiry("recovery certificate", later)
        XCTAssertTrue(l.passed)
        var b = r; b.pinTriesLeft = 0
        XCTAssertFalse(b.passed); XCTAssertTrue(b.text.contains("BLOCKED"))
        var c = r; c.coverage = [.init(zone: "z", encrypted: 5, covered: 4)]
        XCTAssertFalse(c.passed)
        var f = r; f.set("PIN known", .fail, "wrong")
        XCTAssertFalse(f.passed); XCTAssertTrue(f.text.contains("RESULT: FAIL"))
    }
}
