import Foundation
import XCTest
@testable import TriadCeremony
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
            if ParticipantRecord.matches(e) { return try ParticipantRecord(e).members() }
            if ParticipantCorrectedRecord.matches(e) { return try ParticipantCorrectedRecord(e).members() }
            if AttestorCardRecord.matches(e) { return try AttestorCardRecord(e).members() }
            if CardPresentedRecord.matches(e) { return try CardPresentedRecord(e).members() }
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
}
