#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TriadTestSupport
import XCTest
import TriadCrypto
import TriadFormat
import TriadRecovery

/// docs/recovery.md §3: a re-grant is header-only and resumable. A crash in the middle of the
/// re-wrap (SIGKILL, no chance to clean up) must leave every file whole — each opens with the
/// recovery key, carries the holder's slot or not, never a torn header — and the same ceremony
/// run again finishes the rest. The kill is sent once the run has made progress (so it adapts
/// to the machine's speed), and the test asserts it landed mid-run.
final class RegrantKillTests: XCTestCase {
    func testSIGKILLDuringRegrantLeavesEveryFileWholeAndARerunFinishes() throws {
        let s = try RecoverySetup("regrant-kill")
        try s.makeZone(count: 150)
        let total = s.files.count
        let (holderKey, holder) = try s.world.keyPair("holder", subject: "Dr Holder")
        let set = ["mode": "regrant", "paths": s.zone, "to": s.world.path("holder.pem")]
        func granted() -> Int {
            (try? RecoveryFiles.coverage([s.zone], certificate: holder).covered) ?? 0
        }

        var blobSet = ["blob": s.blob, "record": s.record, "reader": s.primary.reader, "ticket": "INC-1"]
        blobSet.merge(set) { $1 }
        let before = inodes(of: s.files)
        let p = try s.world.startCeremony("incident-recovery", output: s.world.path("grant-1"), pins: [RecoverySetup.pin],
                                          answers: ["ticket.value=INC-1"], set: blobSet)
        let deadline = Date().addingTimeInterval(300)
        while p.isRunning && replacedCount(since: before) < 20 && Date() < deadline { usleep(2_000) }
        p.kill(SIGKILL)
        let result = p.wait()
        let done = granted()
        XCTAssertEqual(result.signal, SIGKILL, "the ceremony finished before the kill")
        XCTAssertGreaterThanOrEqual(done, 20, "the kill came after the run had started re-granting")
        XCTAssertLessThan(done, total, "the kill landed before the end of the run")

        // Every file whole: its header parses, the recovery key opens it, and the holder's key
        // opens exactly the files that carry the holder's slot.
        let recoveryKey = try s.recoveryKey(card: s.primary)
        var holderOpens = 0
        for f in s.files {
            let header = try EncryptedFile.readHeader(at: f)
            let reader = try EncryptedFileReader(path: f, identities: [RecoveryIdentity(key: recoveryKey)])
            XCTAssertTrue(String(decoding: try reader.readSegment(0), as: UTF8.self).contains(RecoverySetup.marker), f)
            let hasHolder = header.hasCertificateSlot(for: holder.fingerprint)
            if hasHolder {
                let byHolder = try EncryptedFileReader(path: f, identities: [RecoveryIdentity(key: holderKey, certificateFingerprint: holder.fingerprint)])
                XCTAssertTrue(String(decoding: try byHolder.readSegment(0), as: UTF8.self).contains(RecoverySetup.marker), f)
                holderOpens += 1
            }
        }
        XCTAssertEqual(holderOpens, done)

        // The same ceremony again finishes the rest and counts what was done before.
        let r = s.incident("grant-2", set: set)
        XCTAssertEqual(r.status, 0, String(r.stdout.suffix(800)) + r.stderr)
        XCTAssertEqual(granted(), total)
        let t = try String(contentsOfFile: try XCTUnwrap(transcripts(in: s.world.path("grant-2")).last), encoding: .utf8)
        XCTAssertTrue(t.contains("\"already_done\":\(done)"), "journals the \(done) files re-granted before the kill")
    }
}
