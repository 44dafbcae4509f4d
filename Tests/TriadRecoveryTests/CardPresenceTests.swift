import Foundation
import XCTest
@testable import TriadCeremony
import TriadCrypto
import TriadJournal
import TriadPIV
import TriadRecovery

/// docs/recovery.md §2a: the recovery card proves it was in the room. Enrolment makes a
/// card authentication key (9E, no PIN) certified by the recovery key; `identify-recovery-card`
/// has it sign the ceremony's nonce and BEGIN hash, checks it against the enrolment record and
/// journals it; `ceremony verify` and scripts/verify-transcript.py check it again.
final class CardPresenceTests: XCTestCase {
    func drill(_ s: RecoverySetup, _ name: String, record: String? = nil) -> (Run, String) {
        let out = s.world.path(name)
        let r = s.world.ceremony("quarterly-drill", output: out, pins: [RecoverySetup.pin], set: [
            "blob": s.blob, "record": record ?? s.record, "reader": s.primary.reader, "report": out + "/drill-report", "zones": ""])
        return (r, out)
    }

    func testEnrolmentCertifiesANoPINCardAuthenticationKeyAndTheDrillJournalsItsSignature() throws {
        let s = try RecoverySetup("presence")
        let record = try EnrolmentRecord.load(path: s.record)
        XCTAssertEqual(record.format, EnrolmentRecord.formatName)
        let recovery = try record.recoveryCertificate()
        for card in record.cards {
            let auth = try XCTUnwrap(try card.cardAuthCertificate(), "card \(card.serial ?? 0) has no 9E certificate")
            XCTAssertTrue(auth.isSigned(by: recovery.publicKey))
            XCTAssertEqual(try card.cardAuthIssuer(), recovery)
            XCTAssertEqual(auth.publicKey.algorithm, .ecP256)
        }
        // The 9E certificate on the card is the recorded one, and its key signs with no PIN at all.
        let enrolled = try XCTUnwrap(record.cards.first { $0.serial == s.primary.serial })
        let ops = try PIVKeyOperations(transport: try s.primary.connect(), slot: .cardAuthentication, askPIN: nil)
        XCTAssertEqual(ops.certificate, try enrolled.cardAuthCertificate())
        XCTAssertNoThrow(try ops.sign(Array("no PIN".utf8), scheme: .ecdsaSHA256))

        let (r, out) = drill(s, "drill")
        XCTAssertEqual(r.status, 0, String(r.stdout.suffix(800)))
        let t = try XCTUnwrap(transcripts(in: out).last)
        let auth = try XCTUnwrap(try cardAuth(t).first as? [String: Any], "STEP_DONE of the card step carries the signature")
        XCTAssertEqual(auth["certificate_fingerprint"] as? String, enrolled.cardAuthCertificateFingerprint)
        XCTAssertEqual(auth["card_certificate_fingerprint"] as? String, enrolled.certificateFingerprint)
        XCTAssertEqual((auth["serial"] as? NSNumber)?.uint32Value, s.primary.serial)
        let (swift, python) = verifyBoth(t)
        XCTAssertEqual(swift.status, 0, swift.stderr)
        XCTAssertTrue(swift.stdout.contains("signed this ceremony's nonce"), swift.stdout)
        XCTAssertEqual(python.status, 0, python.stderr)
        XCTAssertTrue(python.stdout.contains("signed this ceremony's nonce"), python.stdout)
    }

    /// The attack: a second card with the enrolled serial and copies of both enrolled
    /// certificates (9D, 9E) but keys of its own. Refused at the card step, before any PIN.
    func testACardCarryingCopiesOfTheEnrolledCertificatesIsRefusedAtTheCardStep() throws {
        let s = try RecoverySetup("copied")
        let record = try EnrolmentRecord.load(path: s.record)
        let enrolled = try XCTUnwrap(record.cards.first { $0.serial == s.primary.serial })
        s.primary.remove()
        let fake = try VirtualCard(state: s.world.path("fake.card"), port: 35963, serial: Int(s.primary.serial))
        try fake.insert()
        let transport = try fake.connect()
        try transport.withTransaction {
            let client = PIVClient(transport: transport)
            _ = try client.select()
            try client.authenticateManagementKey(RecoveryCard.defaultManagementKey)
            _ = try client.generateKeyPair(slot: .keyManagement, algorithm: .eccP256)
            _ = try client.generateKeyPair(slot: .cardAuthentication, algorithm: .eccP256, pinPolicy: .never)
            try client.writeCertificate(try enrolled.certificate(), slot: .keyManagement)
            try client.writeCertificate(try XCTUnwrap(try enrolled.cardAuthCertificate()), slot: .cardAuthentication)
        }
        let id = try RecoveryCard.identify(transport: transport)
        XCTAssertNoThrow(try RecoveryCard.check(id, against: record), "the copy passes every check but the signature")

        let (r, out) = drill(s, "drill-copied")
        try assertAborted(r, output: out, at: "card", mentioning: "did not sign with the enrolled card authentication key")
        let entries = try transcriptEntries(try XCTUnwrap(transcripts(in: out).last))
        XCTAssertFalse(entries.contains { ($0["event"] as? String) == "STEP_START" && ($0["step"] as? String) == "pin" },
                       "the PIN is never asked for a card that is not the enrolled one")
    }

    /// A transcript rewritten from BEGIN with a ceremony key of the forger's (every act end,
    /// the terminal entry and its checkpoint re-signed — what the ceremony key alone cannot
    /// catch, docs/ceremony.md §7) is refused by both verifiers at the card step's STEP_DONE,
    /// with no paper words: the card signed the original BEGIN. Only new signatures by the
    /// card itself and by the four participants' own cards (attest: card) make the rewrite
    /// verify (the control); one altered bit, or none, does not.
    func testAForgedStaleOrMissingCardSignatureFailsBothVerifiers() throws {
        let s = try RecoverySetup("forged")
        let (r, out) = drill(s, "drill")
        XCTAssertEqual(r.status, 0, String(r.stdout.suffix(800)))
        let t = try XCTUnwrap(transcripts(in: out).last)
        let genuine = try Transcript.lines(String(contentsOfFile: t, encoding: .utf8)).map { try JournalEntry(parsing: CanonicalValue.parse($0)) }
        let at = try XCTUnwrap(genuine.firstIndex { $0.event == EventType.stepDone && $0.payload["action"]?.stringValue == "identify-recovery-card" })
        let nonce = try XCTUnwrap(genuine[0].payload["nonce"]?.stringValue)
        let enrolled = try XCTUnwrap(try EnrolmentRecord.load(path: s.record).cards.first { $0.serial == s.primary.serial })
        let card = try s.primary.connect()
        func signedByTheCard(flip: Bool) -> (String) throws -> CanonicalValue? {
            { beginHash in
                var proof = try CardAuthentication.prove(transport: card, nonce: nonce, beginHash: beginHash, enrolled: enrolled)
                if flip { proof.signature[proof.signature.count - 1] ^= 0x01 }
                return CardAuthCheck.journalValue(proof)
            }
        }
        let staff = try StaffCards.ensure()
        let control = try resealed(genuine, to: out + "/forged-control.jsonl", staffCards: staff, cardAuth: signedByTheCard(flip: false))
        XCTAssertEqual(verifyBoth(control).swift.status, 0, "the rewrite re-signed by the card itself verifies: \(verifyBoth(control).swift.stderr)")
        XCTAssertEqual(verifyBoth(control).python.status, 0, verifyBoth(control).python.stderr)
        // The same rewrite with the recovery card but without the four participants' cards
        // (attest: card in the shipped drill) is refused at the first roll-call signature.
        let rollCall = try XCTUnwrap(genuine.first(where: AttestationCheck.isRollCallRecord)).seq
        let noStaff = try resealed(genuine, to: out + "/forged-no-staff-cards.jsonl", cardAuth: signedByTheCard(flip: false))
        for v in [verifyBoth(noStaff).swift, verifyBoth(noStaff).python] {
            XCTAssertEqual(v.status, 1, v.stdout)
            XCTAssertTrue(v.stderr.contains("entry \(rollCall): the roll-call signature of role witness does not verify"), v.stderr)
        }

        let cases: [(String, ((String) throws -> CanonicalValue?)?, String)] = [
            ("stale", nil, "does not verify"),
            ("flipped", signedByTheCard(flip: true), "does not verify"),
            ("missing", { _ in nil }, "missing"),
        ]
        for (name, auth, message) in cases {
            let path = try resealed(genuine, to: out + "/forged-\(name).jsonl", staffCards: staff, cardAuth: auth)
            let (swift, python) = verifyBoth(path)
            XCTAssertEqual(swift.status, 1, "\(name): \(swift.stdout)")
            XCTAssertTrue(swift.stderr.contains("entry \(at + 1): the recovery card's signature"), "\(name): \(swift.stderr)")
            XCTAssertTrue(swift.stderr.contains(message), "\(name): \(swift.stderr)")
            XCTAssertEqual(python.status, 1, "\(name): \(python.stdout)")
            XCTAssertTrue(python.stderr.contains("entry \(at + 1): the recovery card's signature"), "\(name): \(python.stderr)")
            XCTAssertTrue(python.stderr.contains(message), "\(name): \(python.stderr)")
        }

        // With the enrolment record (--record), the genuine transcript verifies, and so does the
        // control; a card signature under a 9E certificate and issuer of the forger's own, or a
        // "not-enrolled" for a card the record gives a 9E key, verify only without it
        // (docs/ceremony.md §7 "Card signatures": the issuer's fingerprint is printed to compare).
        let record = ["--record", s.record]
        XCTAssertEqual(verifyBoth(t, record).swift.status, 0, verifyBoth(t, record).swift.stderr)
        XCTAssertEqual(verifyBoth(t, record).python.status, 0, verifyBoth(t, record).python.stderr)
        XCTAssertEqual(verifyBoth(control, record).swift.status, 0)
        XCTAssertEqual(verifyBoth(control, record).python.status, 0)
        let caKey = try PrivateKey.generate(.ecP256)
        let ca = try Certificate.selfSigned(subject: "CN=Forger", key: caKey, days: 30, keyUsage: "critical,keyCertSign,digitalSignature")
        let authKey = try PrivateKey.generate(.ecP256)
        let authCert = try Certificate.issue(subject: "CN=Forger 9E", publicKey: authKey.publicKey, issuer: ca, issuerKey: caKey, days: 30,
                                             keyUsage: "critical,digitalSignature")
        let ownIssuer = try resealed(genuine, to: out + "/forged-own-issuer.jsonl", staffCards: staff) { beginHash in
            let fp = Hex.decode(enrolled.certificateFingerprint)!
            let message = try CardAuthentication.message(nonce: nonce, beginHash: beginHash, serial: enrolled.serial, cardCertificateFingerprint: fp)
            return CardAuthCheck.journalValue(CardAuthentication(serial: enrolled.serial, cardCertificateFingerprint: fp, certificate: authCert,
                                                                 issuer: ca, signature: try authKey.sign(message, scheme: .ecdsaSHA256)))
        }
        let notEnrolled = try resealed(genuine, to: out + "/forged-not-enrolled.jsonl", staffCards: staff) { _ in .string(CardAuthCheck.notEnrolled) }
        for (name, path, without) in [("own issuer", ownIssuer, Hex.encode(ca.fingerprint)), ("not-enrolled", notEnrolled, "NOT proven")] {
            let (swift, python) = verifyBoth(path)
            XCTAssertEqual(swift.status, 0, "\(name) without the record: \(swift.stderr)")
            XCTAssertTrue(swift.stdout.contains(without), "\(name): \(swift.stdout)")
            XCTAssertEqual(python.status, 0, "\(name) without the record: \(python.stderr)")
            XCTAssertTrue(python.stdout.contains(without), "\(name): \(python.stdout)")
            let (swiftR, pythonR) = verifyBoth(path, record)
            XCTAssertEqual(swiftR.status, 1, "\(name) with the record: \(swiftR.stdout)")
            XCTAssertTrue(swiftR.stderr.contains("entry \(at + 1): the recovery card's signature"), "\(name): \(swiftR.stderr)")
            XCTAssertEqual(pythonR.status, 1, "\(name) with the record: \(pythonR.stdout)")
            XCTAssertTrue(pythonR.stderr.contains("entry \(at + 1): the recovery card's signature"), "\(name): \(pythonR.stderr)")
        }
    }

    /// docs/recovery.md §2a "Cards enrolled before": a record whose card has no 9E (format 1)
    /// still works; the transcript says `not-enrolled` and both verifiers report the card's
    /// presence as not proven instead of refusing.
    func testACardEnrolledBeforeCardAuthenticationStillWorksAndIsReportedAsNotProven() throws {
        let s = try RecoverySetup("legacy")
        var json = try JSONSerialization.jsonObject(with: FileManager.default.contents(atPath: s.record)!) as! [String: Any]
        json["format"] = "triad-recovery-enrolment/1"
        json["cards"] = (json["cards"] as! [[String: Any]]).map { card in
            card.filter { !$0.key.hasPrefix("card_auth_") }
        }
        let legacy = s.world.path("recovery/legacy-record.json")
        try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]).write(to: URL(fileURLWithPath: legacy))
        XCTAssertFalse(try EnrolmentRecord.load(path: legacy).cards.contains { $0.hasCardAuthentication })

        let (r, out) = drill(s, "drill-legacy", record: legacy)
        XCTAssertEqual(r.status, 0, String(r.stdout.suffix(800)))
        XCTAssertTrue(r.stdout.contains("presence is NOT proven"), r.stdout)
        let t = try XCTUnwrap(transcripts(in: out).last)
        XCTAssertEqual(try cardAuth(t).first as? String, CardAuthCheck.notEnrolled)
        let (swift, python) = verifyBoth(t)
        XCTAssertEqual(swift.status, 0, swift.stderr)
        XCTAssertTrue(swift.stdout.contains("NOT proven by signature"), swift.stdout)
        XCTAssertEqual(python.status, 0, python.stderr)
        XCTAssertTrue(python.stdout.contains("NOT proven by signature"), python.stdout)
    }
}

/// `card_auth` of every STEP_DONE of `identify-recovery-card` in the transcript at `path`.
func cardAuth(_ path: String) throws -> [Any] {
    try transcriptEntries(path).filter {
        ($0["event"] as? String) == "STEP_DONE" && (($0["payload"] as? [String: Any])?["action"] as? String) == "identify-recovery-card"
    }.map { (($0["payload"] as! [String: Any])["result"] as! [String: Any])["card_auth"] ?? NSNull() }
}

/// `ceremony verify` and scripts/verify-transcript.py on the same transcript (`extra`: options for both).
func verifyBoth(_ path: String, _ extra: [String] = []) -> (swift: Run, python: Run) {
    (runProcess(product("ceremony"), ["verify", path] + extra),
     runProcess("/usr/bin/env", ["python3", repositoryRoot + "/scripts/verify-transcript.py", path] + extra))
}

/// `entries` rewritten from BEGIN with a ceremony key of the forger's: BEGIN names it, the
/// chain is recomputed, and every act end and the terminal entry (with its checkpoint) are
/// signed with it. With `cardAuth`, the card step's `card_auth` becomes what it returns for
/// the new BEGIN hash (nil: removed). Written to `path`.
///
/// `staffCards`: the participants' signatures (attest: card) are made again with the test's
/// StaffCards, as a forger holding all four cards could; otherwise they are kept as they were.
func resealed(_ entries: [JournalEntry], to path: String, staffCards: StaffCards? = nil,
              cardAuth: ((_ beginHash: String) throws -> CanonicalValue?)? = nil) throws -> String {
    let forger = try CeremonyKey()
    var out: [JournalEntry] = []
    for (i, e) in entries.enumerated() {
        var payload = e.payload
        if i == 0, var begin = payload.objectValue {
            begin[Seal.keyField] = Seal.keyMember(forger.publicKey)
            payload = .object(begin)
        }
        if let cardAuth, e.event == EventType.stepDone, e.payload["action"]?.stringValue == CardAuthCheck.action,
           var members = payload.objectValue, var result = members["result"]?.objectValue {
            result[CardAuthCheck.field] = try cardAuth(out[0].hash)
            members["result"] = .object(result)
            payload = .object(members)
        }
        var draft = JournalEntry(ceremony: e.ceremony, seq: Int64(i + 1), time: e.time, act: e.act, step: e.step, role: e.role,
                                 event: e.event, payload: payload, prevHash: out.last?.hash ?? ChainHash.genesis)
        // The participants' own cards (attest: card) re-sign what a rewrite changes: only
        // someone holding every one of them, as this test does, gets this far.
        if let staffCards, AttestationCheck.isRollCallRecord(e), var members = draft.payload.objectValue,
           let fingerprint = members["certificate_fingerprint"]?.stringValue,
           let message = Attestation.rollCallMessage(nonce: out[0].payload["nonce"]?.stringValue ?? "", beginHash: out[0].hash,
                                                     fingerprint: Hex.decode(fingerprint) ?? [], role: e.role) {
            members["signature"] = .string(Hex.encode(try staffCards.sign(fingerprint: fingerprint, message)))
            draft = JournalEntry(ceremony: e.ceremony, seq: draft.seq, time: e.time, act: e.act, step: e.step, role: e.role,
                                 event: e.event, payload: .object(members), prevHash: draft.prevHash)
        }
        if Seal.isSealed(e.event) {
            if let staffCards, var members = draft.payload.objectValue, let list = members[Attestation.field]?.arrayValue {
                let message = Attestation.entryMessage(draft)
                members[Attestation.field] = .array(try list.map { item in
                    guard var a = item.objectValue, let fingerprint = a["certificate_fingerprint"]?.stringValue else { return item }
                    a["signature"] = .string(Hex.encode(try staffCards.sign(fingerprint: fingerprint, message)))
                    return .object(a)
                })
                draft = JournalEntry(ceremony: e.ceremony, seq: draft.seq, time: e.time, act: e.act, step: e.step, role: e.role,
                                     event: e.event, payload: .object(members), prevHash: draft.prevHash)
            }
            draft = JournalEntry(ceremony: e.ceremony, seq: draft.seq, time: e.time, act: e.act, step: e.step, role: e.role,
                                 event: e.event, payload: try forger.seal(draft), prevHash: draft.prevHash)
        }
        out.append(draft)
    }
    try Transcript.text(out).write(toFile: path, atomically: false, encoding: .utf8)
    return path
}
