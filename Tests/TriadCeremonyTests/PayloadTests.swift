import Foundation
import XCTest
@testable import TriadCeremony
import TriadCrypto
import TriadJournal

/// The typed journal payloads (Payloads.swift) are the shape the engine writes and the
/// verifier reads: every entry of a real run reads back into its struct and encodes to the
/// very members it was stored with, and a missing or mistyped member names its entry.
final class PayloadTests: XCTestCase {
    /// Each engine-written entry of a run with a failure, an exception and a retry round-trips.
    func testEveryEngineEntryRoundTripsThroughItsTypedPayload() throws {
        var seen = Set<EventType>()
        for line in try TamperTests.transcript().lines {
            let e = try JournalEntry(parsing: CanonicalValue.parse(line))
            guard let typed = try Self.retyped(e) else { continue }
            var stored = e.payload.objectValue ?? [:]
            // What the ceremony key adds when it seals an entry is not the engine's payload.
            stored[Seal.signatureField] = nil
            stored[Checkpoint.field] = nil
            XCTAssertEqual(CanonicalValue.object(typed).canonicalText, CanonicalValue.object(stored).canonicalText, "entry \(e.seq) \(e.event)")
            seen.insert(e.event)
        }
        XCTAssertTrue(seen.isSuperset(of: [.begin, .actStart, .actEnd, .stepStart, .stepDone, .stepFailed, .confirm, .exception, .closed]),
                      "\(seen)")
    }

    /// A missing member and a member of the wrong kind are refused by name, at their entry.
    func testAMalformedPayloadNamesItsEntryAndMember() {
        func closed(_ payload: CanonicalValue) -> JournalEntry {
            JournalEntry(ceremony: "c", seq: 7, time: "2026-01-31T12:00:00.000Z", act: "", step: "", role: "",
                         event: .closed, payload: payload, prevHash: ChainHash.genesis)
        }
        XCTAssertThrowsError(try ClosedPayload(closed(["steps_completed": 1, "exceptions": 0]))) {
            XCTAssertEqual($0 as? JournalError, .malformedPayload(seq: 7, event: "CLOSED", problem: "lacks steps_skipped"))
        }
        XCTAssertThrowsError(try ClosedPayload(closed(["steps_completed": 1, "steps_skipped": "0", "exceptions": 0]))) {
            XCTAssertEqual($0 as? JournalError, .malformedPayload(seq: 7, event: "CLOSED", problem: "has steps_skipped of the wrong kind"))
        }
        XCTAssertThrowsError(try AbortedPayload(closed(["reason": "x", "at_step": ""]))) {
            XCTAssertEqual($0 as? JournalError, .malformedPayload(seq: 7, event: "CLOSED", problem: "is not that of an entry of event ABORTED"))
        }
        XCTAssertEqual(try ClosedPayload(closed(["steps_completed": 1, "steps_skipped": 0, "exceptions": 2])).exceptions, 2)
    }

    static func retyped(_ e: JournalEntry) throws -> [String: CanonicalValue]? {
        switch e.event {
        case .begin: return try BeginPayload(e).members()
        case .actStart: return try ActStartPayload(e).members()
        case .actEnd: return try ActEndPayload(e).members()
        case .stepStart: return try StepStartPayload(e).members()
        case .stepDone: return try StepDonePayload(e).members()
        case .stepFailed: return try StepFailedPayload(e).members()
        case .refused: return try RefusedPayload(e).members()
        case .confirm: return try ConfirmPayload(e).members()
        case .exception: return try ExceptionPayload(e).members()
        case .pause: return try PausePayload(e).members()
        case .resume: return try ResumePayload(e).members()
        case .closed: return try ClosedPayload(e).members()
        case .aborted: return try AbortedPayload(e).members()
        case .record:
            for type in RecordKinds.all where type.matches(e) { return try Self.reread(type, e) }
            return nil
        }
    }

    /// The typed RECORD payloads encode to exactly the members the actions wrote key by key
    /// before, so transcripts keep their bytes: an unknown serial or tries counter stays a
    /// JSON null rather than a missing member.
    func testTypedRecordPayloadsKeepTheJournalsBytes() throws {
        let presented = try CardPresentedRecord(reader: "Virtual PCD 00 00", serial: nil, cardCertificateFingerprint: "ab",
                                                pinTriesLeft: 3, pinBlocked: false).members()
        let before: [String: CanonicalValue] = ["kind": "card-presented", "reader": "Virtual PCD 00 00", "serial": .null,
                                                "card_certificate_fingerprint": "ab", "pin_tries_left": 3, "pin_blocked": false]
        XCTAssertEqual(CanonicalValue.object(presented).canonicalText, CanonicalValue.object(before).canonicalText)
        let participant = try ParticipantCorrectedRecord(name: "Ann", staffID: "A-1", was: "Anne (A-1)").members()
        XCTAssertEqual(CanonicalValue.object(participant).canonicalText,
                       CanonicalValue.object(["kind": "participant-corrected", "name": "Ann", "staff_id": "A-1", "was": "Anne (A-1)"]).canonicalText)
        let attestor = try AttestorCardRecord(certificate: "30", certificateFingerprint: "ff", signature: "00").members()
        XCTAssertEqual(CanonicalValue.object(attestor).canonicalText,
                       CanonicalValue.object(["kind": "attestor-card", "certificate": "30", "certificate_fingerprint": "ff", "signature": "00"]).canonicalText)
        let entry = JournalEntry(ceremony: "c", seq: 4, time: "2026-01-31T12:00:00.000Z", act: "a", step: "s", role: "r",
                                 event: .record, payload: ["kind": "participant", "name": "Ann"], prevHash: ChainHash.genesis)
        XCTAssertThrowsError(try ParticipantRecord(entry)) {
            XCTAssertEqual($0 as? JournalError, .malformedPayload(seq: 4, event: "RECORD", problem: "lacks staff_id"))
        }
    }

    /// Each RECORD kind's struct next to the members its action wrote key by key before the
    /// kinds were typed (copied from the actions' `context.record(kind, [...])` calls), with
    /// the unknown values as JSON null where the action wrote null and left out where it left
    /// the member out.
    static let recordBytes: [(any RecordPayload, [String: CanonicalValue])] = [
        (ParticipantRecord(name: "Ann", staffID: "A-1"), ["kind": "participant", "name": "Ann", "staff_id": "A-1"]),
        (ParticipantCorrectedRecord(name: "Ann", staffID: "A-1", was: "Anne (A-1)"),
         ["kind": "participant-corrected", "name": "Ann", "staff_id": "A-1", "was": "Anne (A-1)"]),
        (AttestorCardRecord(certificate: "30", certificateFingerprint: "ff", signature: "00"),
         ["kind": "attestor-card", "certificate": "30", "certificate_fingerprint": "ff", "signature": "00"]),
        (EvidenceRecord(path: "/srv/scan 1.pdf", sha256: "ab", bytes: 12), ["kind": "evidence", "path": "/srv/scan 1.pdf", "sha256": "ab", "bytes": 12]),
        (ValueRecord(name: "bag-serial", value: "B-7"), ["kind": "value", "name": "bag-serial", "value": "B-7"]),
        (EnvironmentRecord(host: "h", kernel: "k", toolSHA256: "cd", usbDevices: ["1050:0407 Yubico"]),
         ["kind": "environment", "host": "h", "kernel": "k", "tool_sha256": "cd", "usb_devices": ["1050:0407 Yubico"]]),
        (CardAwaitedRecord(reader: "Virtual PCD 00 00", look: 2), ["kind": "card-awaited", "reader": "Virtual PCD 00 00", "look": 2]),
        (RecoveryCertificateAdoptedRecord(record: "/out/record.json", fingerprint: "ef"),
         ["kind": "recovery-certificate-adopted", "record": "/out/record.json", "fingerprint": "ef"]),
        (RecoveryKeyGeneratedRecord(certificate: "/out/r.crt", certificateFingerprint: "01", words: "w1 w2", subject: "CN=r",
                                    notAfter: "2036-01-01T00:00:00Z", publicKeyFingerprint: "02"),
         ["kind": "recovery-key-generated", "certificate": "/out/r.crt", "certificate_fingerprint": "01", "words": "w1 w2",
          "subject": "CN=r", "not_after": "2036-01-01T00:00:00Z", "public_key_fingerprint": "02"]),
        (NewPINEntriesDifferRecord(what: "PUK"), ["kind": "new-pin-entries-differ", "what": "PUK"]),
        (NewPINEntriesDifferRecord(what: nil), ["kind": "new-pin-entries-differ"]),
        (CardEnrolledRecord(label: "primary", reader: "Virtual PCD 00 00", serial: 7, cardCertificateFingerprint: "03", words: "w",
                            cardAuthCertificateFingerprint: "04", managementKey: "replaced by a random key, discarded", pinSetBy: "medical"),
         ["kind": "card-enrolled", "label": "primary", "reader": "Virtual PCD 00 00", "serial": 7, "card_certificate_fingerprint": "03",
          "words": "w", "card_auth_certificate_fingerprint": "04", "management_key": "replaced by a random key, discarded", "pin_set_by": "medical"]),
        (CardEnrolledRecord(label: "backup", reader: "R", serial: nil, cardCertificateFingerprint: "03", words: "w",
                            cardAuthCertificateFingerprint: nil, managementKey: "m", pinSetBy: "medical"),
         ["kind": "card-enrolled", "label": "backup", "reader": "R", "serial": .null, "card_certificate_fingerprint": "03",
          "words": "w", "card_auth_certificate_fingerprint": .null, "management_key": "m", "pin_set_by": "medical"]),
        (EscrowBlobAlreadyWrittenRecord(record: "/out/record.json"), ["kind": "escrow-blob-already-written", "record": "/out/record.json"]),
        (EscrowBlobWrittenRecord(blob: "/out/b", blobID: "05", blobSHA256: "06", blobWords: "w b", record: "/out/r", recordSHA256: "07",
                                 recordWords: "w r", canary: "/out/c", cards: ["08", "09"], recoveryCertificateFingerprint: "0a"),
         ["kind": "escrow-blob-written", "blob": "/out/b", "blob_id": "05", "blob_sha256": "06", "blob_words": "w b", "record": "/out/r",
          "record_sha256": "07", "record_words": "w r", "canary": "/out/c", "cards": ["08", "09"], "recovery_certificate_fingerprint": "0a"]),
        (EscrowBlobPresentedRecord(blob: "/b", blobSHA256: "0b", blobWords: "w", record: "/r", recordSHA256: "0c"),
         ["kind": "escrow-blob-presented", "blob": "/b", "blob_sha256": "0b", "blob_words": "w", "record": "/r", "record_sha256": "0c"]),
        (CardPresentedRecord(reader: "Virtual PCD 00 00", serial: nil, cardCertificateFingerprint: "ab", pinTriesLeft: 3, pinBlocked: false),
         ["kind": "card-presented", "reader": "Virtual PCD 00 00", "serial": .null, "card_certificate_fingerprint": "ab",
          "pin_tries_left": 3, "pin_blocked": false]),
        (CardPresentedRecord(reader: "R", serial: 9, cardCertificateFingerprint: "ab", pinTriesLeft: nil, pinBlocked: true),
         ["kind": "card-presented", "reader": "R", "serial": 9, "card_certificate_fingerprint": "ab", "pin_tries_left": .null, "pin_blocked": true]),
        (CardPresenceNotProvenRecord(serial: nil, reason: "card enrolled without a card authentication key"),
         ["kind": "card-presence-not-proven", "serial": .null, "reason": "card enrolled without a card authentication key"]),
        (CardAuthenticatedRecord(serial: 11, cardAuthCertificateFingerprint: "0d"),
         ["kind": "card-authenticated", "serial": 11, "card_auth_certificate_fingerprint": "0d"]),
        (PINRefusedRecord(during: .pinStep(triesLeftBefore: nil), triesLeftAfter: 2),
         ["kind": "pin-refused", "tries_left_before": .null, "tries_left_after": 2]),
        (PINRefusedRecord(during: .pinStep(triesLeftBefore: 3), triesLeftAfter: 2),
         ["kind": "pin-refused", "tries_left_before": 3, "tries_left_after": 2]),
        (PINRefusedRecord(during: .pinChange(byPUK: true), triesLeftAfter: nil),
         ["kind": "pin-refused", "by_puk": true, "tries_left_after": .null]),
        (PINVerifiedRecord(triesLeftBefore: 3, triesLeftAfter: nil),
         ["kind": "pin-verified", "tries_left_before": 3, "tries_left_after": .null]),
        (RecoveryKeyUnlockedRecord(publicKeyFingerprint: "0e", matchesCertificate: true, recoveryCertificateFingerprint: "0f"),
         ["kind": "recovery-key-unlocked", "public_key_fingerprint": "0e", "matches_certificate": true, "recovery_certificate_fingerprint": "0f"]),
        (DrillStartedRecord(report: "/out/PRACTICE-drill"), ["kind": "drill-started", "report": "/out/PRACTICE-drill"]),
        (CanaryRecoveredRecord(canary: "/out/canary.triad", plaintextSHA256: "10"),
         ["kind": "canary-recovered", "canary": "/out/canary.triad", "plaintext_sha256": "10"]),
        (DrillReportRecord(result: "PASS", report: "{\"passed\":true}"), ["kind": "drill-report", "result": "PASS", "report": "{\"passed\":true}"]),
        (PINChangedRecord(byPUK: false, reader: "R", triesLeftBefore: 3, triesLeftAfter: nil),
         ["kind": "pin-changed", "by_puk": false, "reader": "R", "tries_left_before": 3, "tries_left_after": .null]),
        (ZeroisedRecord(secrets: ["pin", "recovery-key"]), ["kind": "zeroised", "secrets": ["pin", "recovery-key"]]),
        (FilesRegrantedRecord(counts: counts, holderCertificateFingerprint: "11", holderSubject: "CN=new"),
         countsMembers.merging(["kind": "files-regranted", "holder_certificate_fingerprint": "11", "holder_subject": "CN=new"]) { $1 }),
        (FilesDecryptedRecord(counts: counts, quarantine: "/q"), countsMembers.merging(["kind": "files-decrypted", "quarantine": "/q"]) { $1 }),
        (RecoverySlotsRewrappedRecord(counts: counts, interrupted: false, oldCertificateFingerprint: "12", newCertificateFingerprint: "13",
                                      coverage: .init(encrypted: 9, covered: 8)),
         countsMembers.merging(["kind": "recovery-slots-rewrapped", "interrupted": false, "old_certificate_fingerprint": "12",
                                "new_certificate_fingerprint": "13", "coverage": ["encrypted": 9, "covered": 8]]) { $1 }),
    ]
    static let counts = FileCounts(done: 3, alreadyDone: 1, skippedPlaintext: 0, noRecoverySlot: ["/z/a"], failed: [])
    /// `outcomePayload(_:)`'s members before the file kinds were typed.
    static let countsMembers: [String: CanonicalValue] = ["done": 3, "already_done": 1, "skipped_plaintext": 0, "no_recovery_slot": ["/z/a"], "failed": []]

    /// Every RECORD kind an action journals encodes to the very bytes the untyped code wrote,
    /// reads back into an equal struct, and is in `RecordKinds.all` (so the replay and the
    /// summary know it); a RECORD of another kind does not read as it.
    func testEveryRecordKindKeepsTheJournalsBytes() throws {
        var kinds = Set<String>()
        for (typed, before) in Self.recordBytes {
            let kind = type(of: typed).kind
            kinds.insert(kind)
            let members = try typed.members()
            XCTAssertEqual(CanonicalValue.object(members).canonicalText, CanonicalValue.object(before).canonicalText, kind)
            let entry = JournalEntry(ceremony: "c", seq: 5, time: "2026-01-31T12:00:00.000Z", act: "a", step: "s", role: "r",
                                     event: .record, payload: .object(members), prevHash: ChainHash.genesis)
            XCTAssertTrue(Self.readsBackEqual(typed, entry), kind)
            let other = JournalEntry(ceremony: "c", seq: 5, time: "2026-01-31T12:00:00.000Z", act: "a", step: "s", role: "r",
                                     event: .record, payload: .object(members.merging(["kind": "other"]) { $1 }), prevHash: ChainHash.genesis)
            XCTAssertThrowsError(try Self.reread(like: typed, other), kind)
        }
        XCTAssertEqual(kinds, Set(RecordKinds.all.map { $0.kind }))
        XCTAssertEqual(RecordKinds.all.count, kinds.count, "a kind is listed twice")
    }

    static func reread<P: RecordPayload>(_ type: P.Type, _ entry: JournalEntry) throws -> [String: CanonicalValue] {
        try P(entry).members()
    }

    static func reread<P: RecordPayload>(like typed: P, _ entry: JournalEntry) throws -> [String: CanonicalValue] {
        try P(entry).members()
    }

    static func readsBackEqual<P: RecordPayload>(_ typed: P, _ entry: JournalEntry) -> Bool {
        guard let back = try? P(entry), let a = try? back.members(), let b = try? typed.members() else { return false }
        return a == b
    }

    /// The replay reads BEGIN through `BeginPayload`, the struct the engine writes it with: a
    /// member missing or of the wrong kind fails entry 1, named as the verifier named it when
    /// it read BEGIN member by member.
    func testTheReplayReadsBEGINThroughItsTypedPayload() throws {
        let entries = try TamperTests.transcript().lines.map { try JournalEntry(parsing: CanonicalValue.parse($0)) }
        func replay(_ edit: (inout [String: CanonicalValue]) -> Void) -> String {
            var begin = entries[0]
            var members = begin.payload.objectValue ?? [:]
            edit(&members)
            begin.payload = .object(members)
            do { _ = try Conformance.check([begin] + entries.dropFirst(), pinnedScript: nil, registry: Support.registry) } catch let f as VerifyFailure {
                return f.entry == 1 ? f.message : "entry \(f.entry): \(f.message)"
            } catch { return "\(error)" }
            return "accepted"
        }
        func set(_ m: inout [String: CanonicalValue], _ outer: String, _ key: String, _ value: CanonicalValue?) {
            var inner = m[outer]?.objectValue ?? [:]
            inner[key] = value
            m[outer] = .object(inner)
        }
        XCTAssertEqual(replay { _ in }, "accepted")
        XCTAssertEqual(replay { $0["nonce"] = "abcd" }, "BEGIN lacks the ceremony nonce (32 hex digits)")
        XCTAssertEqual(replay { $0["nonce"] = nil }, "BEGIN lacks the ceremony nonce (32 hex digits)")
        XCTAssertEqual(replay { $0["practice"] = "no" }, "BEGIN lacks practice or mode")
        XCTAssertEqual(replay { $0["mode"] = "remote" }, "BEGIN's mode 'remote' is neither interactive nor unattended")
        XCTAssertEqual(replay { $0["ceremony_id"] = "other" }, "ceremony_id differs from the entry's ceremony")
        XCTAssertEqual(replay { $0["parameters"] = nil }, "BEGIN lacks the parameters object")
        XCTAssertEqual(replay { set(&$0, "parameters", "bag_serial", nil) }, "BEGIN lacks parameter bag_serial, which the engine always records")
        XCTAssertEqual(replay { set(&$0, "parameters", "bag_serial", 7) },
                       "BEGIN parameter bag_serial is not text")
        XCTAssertEqual(replay { set(&$0, "parameters", "colour", "red") },
                       "BEGIN sets parameter colour, which the script does not declare")
        XCTAssertEqual(replay { $0["host"] = nil }, "the BEGIN payload lacks host")
        XCTAssertEqual(replay { set(&$0, "script", "version", 9) }, "BEGIN names a different script name or version than the embedded text")
        XCTAssertEqual(replay { set(&$0, "script", "text", nil) }, "BEGIN does not carry the script text and SHA-256")
    }

    /// The attestation check reads the roll call's RECORD through `AttestorCardRecord`; a
    /// member of the wrong kind fails as that member's check always did, in the same order.
    func testTheAttestationCheckReadsTheRollCallRecordThroughItsStruct() throws {
        let key = try PrivateKey.generate(.ecP256)
        let cert = try Certificate.selfSigned(subject: "CN=Witness", key: key, days: 30, keyUsage: "critical,digitalSignature")
        let good: [String: CanonicalValue] = ["kind": "attestor-card", "certificate": .string(Hex.encode(cert.der)),
                                              "certificate_fingerprint": .string(Hex.encode(cert.fingerprint)), "signature": "00"]
        func read(_ change: [String: CanonicalValue]) -> String {
            let e = JournalEntry(ceremony: "c", seq: 3, time: "2026-01-31T12:00:00.000Z", act: "a", step: "roll-call", role: "witness",
                                 event: .record, payload: .object(good.merging(change) { $1 }), prevHash: ChainHash.genesis)
            do {
                let (c, signature) = try AttestationCheck.readRecord(e)
                return "\(c.role) \(c.fingerprint == Hex.encode(cert.fingerprint)) \(signature ?? "nil")"
            } catch let f as VerifyFailure { return "entry \(f.entry): \(f.message)" } catch { return "\(error)" }
        }
        let at = "entry 3: the attestor-card record of role witness"
        XCTAssertEqual(read([:]), "witness true 00")
        XCTAssertEqual(read(["extra": 1]), at + " does not have exactly kind, certificate, certificate_fingerprint and signature")
        XCTAssertEqual(read(["certificate": 5]), at + ": certificate is not a DER X.509 certificate in lowercase hex")
        XCTAssertEqual(read(["certificate": 5, "certificate_fingerprint": 5]), at + ": certificate is not a DER X.509 certificate in lowercase hex")
        XCTAssertEqual(read(["certificate": "zz"]), at + ": certificate is not a DER X.509 certificate in lowercase hex")
        XCTAssertEqual(read(["certificate_fingerprint": 5]), at + ": certificate_fingerprint is not the SHA-256 of certificate")
        XCTAssertEqual(read(["certificate_fingerprint": "ab"]), at + ": certificate_fingerprint is not the SHA-256 of certificate")
        XCTAssertEqual(read(["signature": 5]), "witness true nil")
    }
}
