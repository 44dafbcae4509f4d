import Foundation
import XCTest
import TriadCrypto
import TriadFormat
import TriadPIV
import TriadRecovery

/// docs/recovery.md §2 and §6: the drill, two cards and card replacement (rotation: RotationTests).
final class DrillAndLifecycleTests: XCTestCase {
    func drill(_ s: RecoverySetup, _ name: String, reader: String? = nil, pins: [String] = [RecoverySetup.pin], zones: String? = nil) -> (Run, String) {
        let out = s.world.path(name)
        let r = s.world.ceremony("quarterly-drill", output: out, pins: pins, set: [
            "blob": s.blob, "record": s.record, "reader": reader ?? s.primary.reader, "report": out + "/drill-report", "zones": zones ?? s.zone])
        return (r, out)
    }

    func report(_ out: String) throws -> DrillReport {
        try JSONDecoder().decode(DrillReport.self, from: FileManager.default.contents(atPath: out + "/drill-report.json")!)
    }

    func testDrillTouchesNoZoneFileAndReportsEachFactor() throws {
        let s = try RecoverySetup("drill")
        try s.makeZone(count: 2)
        let before = s.snapshot()
        let (r, out) = drill(s, "drill")
        XCTAssertEqual(r.status, 0, String(r.stdout.suffix(800)))
        let rep = try report(out)
        for name in DrillReport.factorNames {
            XCTAssertEqual(rep.factors.first { $0.name == name }?.result, .pass, name)
        }
        XCTAssertEqual(rep.pinTriesLeft, 3)
        XCTAssertNotNil(rep.cardSerial)
        XCTAssertEqual(rep.expiries.count, 2)
        XCTAssertEqual(rep.coverage.first?.encrypted, s.files.count)
        XCTAssertEqual(rep.coverage.first?.covered, s.files.count)
        XCTAssertTrue(rep.passed)
        XCTAssertTrue(try String(contentsOfFile: out + "/drill-report.txt", encoding: .utf8).contains("RESULT: PASS"))
        // The report is part of the transcript, which verifies.
        let t = try XCTUnwrap(transcripts(in: out).last)
        XCTAssertTrue(try String(contentsOfFile: t, encoding: .utf8).contains("drill-report"))
        XCTAssertEqual(runProcess(product("ceremony"), ["verify", t]).status, 0)
        let after = s.snapshot()
        for (f, (data, mtime)) in before {
            XCTAssertEqual(after[f]?.0, data, "drill changed \(f)"); XCTAssertEqual(after[f]?.1, mtime, "drill touched \(f)")
        }
    }

    func testDrillWithABlockedCardReportsItInsteadOfPassing() throws {
        let s = try RecoverySetup("blocked")
        // Block the primary card's PIN: three wrong VERIFYs.
        let client = PIVClient(transport: try s.primary.connect())
        _ = try client.select()
        for _ in 0..<3 { _ = try? client.verifyPIN(SecureBytes(Array("00000000".utf8))) }
        XCTAssertEqual(try client.pinStatus(), .blocked)
        let (r, out) = drill(s, "drill-blocked", zones: "")
        try assertAborted(r, output: out, at: "card", mentioning: "PIN is blocked")
        let rep = try report(out)
        XCTAssertEqual(rep.factors.first { $0.name == "blob intact" }?.result, .pass)
        XCTAssertEqual(rep.factors.first { $0.name == "card present and matching" }?.result, .fail)
        XCTAssertEqual(rep.factors.first { $0.name == "PIN known" }?.result, .notReached)
        XCTAssertEqual(rep.pinTriesLeft, 0)
        XCTAssertFalse(rep.passed)
        XCTAssertTrue(try String(contentsOfFile: out + "/drill-report.txt", encoding: .utf8).contains("RESULT: FAIL"))
    }

    func testDrillWithAnExpiredRecoveryCertificateReportsIt() throws {
        let s = try RecoverySetup("expired", days: 0)
        sleep(1)
        let (r, out) = drill(s, "drill-expired", zones: "")
        XCTAssertEqual(r.status, 0, "every factor works; the report, not the ceremony, fails")
        let rep = try report(out)
        XCTAssertTrue(rep.expiries.contains { $0.what == "recovery certificate" && $0.expired })
        XCTAssertFalse(rep.passed)
        XCTAssertTrue(try String(contentsOfFile: out + "/drill-report.txt", encoding: .utf8).contains("EXPIRED"))
    }

    func testEitherCardRecoversAndAfterReplacementTheRetiredCardDoesNot() throws {
        let s = try RecoverySetup("cards")
        try s.makeZone(count: 1)
        // The backup card alone (in reader 01) passes a drill as well as the primary.
        XCTAssertEqual(drill(s, "drill-primary").0.status, 0)
        s.primary.remove()
        try s.backup.insert()
        XCTAssertEqual(drill(s, "drill-backup", reader: s.backup.reader).0.status, 0)

        // Replace the primary: unlock with the backup, enrol a new card, retire the primary.
        let primarySerial = try XCTUnwrap(try EnrolmentRecord.load(path: s.record).cards.first?.serial)
        let fresh = try VirtualCard(state: s.world.path("new.card"), port: 35963)
        try fresh.insert()
        let newOut = s.world.path("recovery2")
        s.world.mkdir("recovery2")
        let r = s.world.ceremony("card-replacement", output: s.world.path("replace"),
                                 pins: [RecoverySetup.pin, "24681357", "24681357", "11112222", "11112222"], set: [
            "blob": s.blob, "record": s.record, "reader": s.backup.reader, "new_reader": fresh.reader,
            "retire_serial": String(primarySerial), "new_blob": newOut + "/escrow.blob", "new_record": newOut + "/recovery-record.json",
            "new_canary": newOut + "/canary.triad"])
        XCTAssertEqual(r.status, 0, String(r.stdout.suffix(800)))
        let newRecord = try EnrolmentRecord.load(path: newOut + "/recovery-record.json")
        XCTAssertEqual(newRecord.cards.count, 2)
        XCTAssertFalse(newRecord.cards.contains { $0.serial == primarySerial })

        func newDrill(_ name: String, _ reader: String, _ pin: String) -> (Run, String) {
            let out = s.world.path(name)
            return (s.world.ceremony("quarterly-drill", output: out, pins: [pin], set: [
                "blob": newOut + "/escrow.blob", "record": newOut + "/recovery-record.json", "reader": reader, "report": out + "/r"]), out)
        }
        // The new card works with its own PIN.
        XCTAssertEqual(newDrill("drill-new", fresh.reader, "24681357").0.status, 0)
        // The retired primary no longer does: not in the record, no slot in the new blob.
        fresh.remove()
        try s.primary.insert()
        let (rr, ro) = newDrill("drill-retired", s.primary.reader, RecoverySetup.pin)
        try assertAborted(rr, output: ro, at: "card", mentioning: "not in the enrolment record")
        // And the old blob is refused against the new record.
        let old = try XCTUnwrap(FileManager.default.contents(atPath: s.blob))
        XCTAssertThrowsError(try EscrowSeal.check(Array(old), against: newRecord))
    }
}
