import Foundation
import XCTest
import TriadCrypto
import TriadFormat
import TriadPIV
import TriadRecovery

/// A recovery set-up made through the real ceremony: key generation with two virtual cards
/// behind pcscd, and a zone whose files were encrypted by a key-file member with `zone`.
final class RecoverySetup {
    static let pin = "97531864"
    static let puk = "86421357"
    static let marker = "PLAINTEXT-MARKER-q7Zx"

    let world: World
    let primary: VirtualCard
    let backup: VirtualCard
    var out: String { world.path("recovery") }
    var blob: String { out + "/escrow.blob" }
    var record: String { out + "/recovery-record.json" }
    var zone: String { world.path("zone") }
    var files: [String] = []

    /// - Parameter days: validity of the recovery certificate (0: expires at once).
    init(_ name: String, days: Int = 3650) throws {
        world = World(name)
        world.mkdir("recovery")
        primary = try VirtualCard(state: world.path("primary.card"), port: 35963)
        backup = try VirtualCard(state: world.path("backup.card"), port: 35964)
        try primary.insert(); try backup.insert()
        let r = world.ceremony("recovery-keygen", output: world.path("keygen"),
                               pins: [Self.pin, Self.pin, Self.puk, Self.puk, Self.pin, Self.pin, Self.puk, Self.puk],
                               set: ["out": out, "reader_primary": primary.reader, "reader_backup": backup.reader, "days": String(days)])
        guard r.status == 0 else { throw RecoveryError.io(path: "recovery-keygen", reason: String(r.stdout.suffix(600)) + r.stderr) }
        backup.remove()
    }

    /// A zone with an officer and a key-file member (nurse); `count` files per ward encrypted.
    func makeZone(count: Int = 3) throws {
        _ = try world.keyPair("officer", subject: "Zone Officer")
        _ = try world.keyPair("nurse", subject: "Nurse Key")
        for ward in ["ward-a", "ward-b"] {
            world.mkdir("zone/\(ward)")
            for i in 1...count {
                let p = zone + "/\(ward)/patient-\(i).txt"
                try "\(ward) patient \(i): \(Self.marker) confidential note\n".write(toFile: p, atomically: true, encoding: .utf8)
                files.append(p)
            }
        }
        var r = world.zone(["init", zone, "--officer-cert", world.path("officer.pem"), "--identity", "file:" + world.path("officer.key"),
                            "--recovery-cert", out + "/recovery.cert.pem", "--member", world.path("nurse.pem")])
        guard r.status == 0 else { throw RecoveryError.io(path: zone, reason: "zone init: \(r.stderr)") }
        r = world.zone(["encrypt", zone, "--identity", "file:" + world.path("nurse.key")])
        guard r.status == 0 else { throw RecoveryError.io(path: zone, reason: "zone encrypt: \(r.stderr)") }
    }

    /// Enrols a member card (9D certified by a test CA, default PIN kept) in `card`.
    func memberCard(_ card: VirtualCard, subject: String) throws -> Certificate {
        let caKey = try PrivateKey.generate(.ecP256)
        let ca = try Certificate.selfSigned(subject: "CN=Test CA", key: caKey, days: 365, keyUsage: "critical,keyCertSign")
        let e = try RecoveryCard.enrol(transport: try card.connect(), subject: "CN=\(subject)", issuer: ca, issuerKey: caKey, days: 365,
                                       pin: RecoveryCard.defaultPIN, puk: RecoveryCard.defaultPUK, replaceManagementKey: false)
        let path = world.path("\(subject.replacingOccurrences(of: " ", with: "-")).pem")
        try e.certificate.pem.write(toFile: path, atomically: true, encoding: .utf8)
        return e.certificate
    }

    /// Incident ceremony with the given factors; `set` overrides blob/record/reader/mode …
    func incident(_ output: String, pins: [String] = [RecoverySetup.pin], answers: [String] = [], set extra: [String: String]) -> Run {
        var set = ["blob": blob, "record": record, "reader": primary.reader, "ticket": "INC-1"]
        set.merge(extra) { $1 }
        return world.ceremony("incident-recovery", output: world.path(output), pins: pins, answers: ["ticket.value=INC-1"] + answers, set: set)
    }

    /// Unlocks the recovery key in-process with `card` (for checks, not as a ceremony).
    func recoveryKey(card: VirtualCard) throws -> PrivateKey {
        let record = try EnrolmentRecord.load(path: record)
        let blob = try EscrowSeal.check(Array(FileManager.default.contents(atPath: blob)!), against: record)
        let ops = try RecoveryCard.key(transport: try card.connect()) { _ in SecureBytes(Array(RecoverySetup.pin.utf8)) }
        return try RecoveryCard.unlock(blob, card: ops, recoveryCertificate: try record.recoveryCertificate())
    }

    func snapshot() -> [String: (Data, Date)] {
        var s: [String: (Data, Date)] = [:]
        for f in files {
            let attrs = try! FileManager.default.attributesOfItem(atPath: f)
            s[f] = (FileManager.default.contents(atPath: f)!, attrs[.modificationDate] as! Date)
        }
        return s
    }
}

/// Asserts the ceremony aborted at `step` with a message containing `message`.
func assertAborted(_ r: Run, output: String, at step: String, mentioning message: String, file: StaticString = #filePath, line: UInt = #line) throws {
    XCTAssertEqual(r.status, 1, "the ceremony should fail: \(String(r.stdout.suffix(400)))", file: file, line: line)
    guard let t = transcripts(in: output).last else { return XCTFail("no transcript in \(output)", file: file, line: line) }
    let entries = try transcriptEntries(t)
    let last = try XCTUnwrap(entries.last)
    XCTAssertEqual(last["event"] as? String, "ABORTED", file: file, line: line)
    let payload = last["payload"] as? [String: Any] ?? [:]
    XCTAssertEqual(payload["at_step"] as? String, step, "\(payload)", file: file, line: line)
    XCTAssertTrue((payload["reason"] as? String ?? "").contains(message), "reason: \(payload["reason"] ?? "")", file: file, line: line)
    XCTAssertFalse(entries.contains { ($0["step"] as? String) == "recover" && ($0["event"] as? String) == "STEP_START" },
                   "the recover step must never start", file: file, line: line)
    XCTAssertEqual(runProcess(product("ceremony"), ["verify", t]).status, 3, "an aborted transcript still verifies, with exit status 3 (docs/ceremony.md §8)", file: file, line: line)
}

func contains(_ haystack: Data, _ needle: [UInt8]) -> Bool {
    guard !needle.isEmpty else { return false }
    return haystack.range(of: Data(needle)) != nil
}
