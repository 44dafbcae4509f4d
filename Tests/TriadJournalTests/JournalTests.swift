import Foundation
import GRDB
import TriadTestSupport
import XCTest
@testable import TriadJournal

/// The journal on its own (docs/ceremony.md §7): the chain, the append-only schema, ids never
/// reused, nothing after the terminal entry, time that never goes back.
final class JournalTests: XCTestCase {
    /// Each test's folder; removed when the test case goes away.
    private var folders: [TemporaryDirectory] = []

    func makeJournal(_ name: String = #function) throws -> (Journal, String) {
        let folder = try TemporaryDirectory("journal-\(name)")
        folders.append(folder)
        let path = folder.path("j.db")
        return (try Journal(path: path), path)
    }

    func testAppendsChainAndCarryEveryField() throws {
        let (j, _) = try makeJournal()
        let b = try j.begin(ceremony: "c1", scriptName: "s", scriptSHA256: "00", practice: false, payload: ["x": 1])
        let e2 = try j.append(ceremony: "c1", act: "a", step: "s", role: "r", event: EventType.record, payload: ["k": "v"])
        XCTAssertEqual(b.prevHash, ChainHash.genesis)
        XCTAssertEqual(e2.prevHash, b.hash)
        XCTAssertEqual(e2.seq, 2)
        let all = try j.entries(ceremony: "c1")
        XCTAssertEqual(all, [b, e2])
        XCTAssertEqual(e2.hash, e2.computedHash)
    }

    func testCeremonyIDIsNeverReused() throws {
        let (j, _) = try makeJournal()
        try j.begin(ceremony: "c1", scriptName: "s", scriptSHA256: "00", practice: false, payload: [:])
        try j.append(ceremony: "c1", act: "", step: "", role: "", event: EventType.aborted, payload: ["reason": "x"])
        XCTAssertThrowsError(try j.begin(ceremony: "c1", scriptName: "s", scriptSHA256: "00", practice: false, payload: [:])) {
            XCTAssertEqual($0 as? JournalError, .ceremonyIDUsed(ceremony: "c1"))
        }
        XCTAssertEqual(try j.entries(ceremony: "c1").count, 2)
    }

    func testNothingAppendsAfterTheTerminalEntry() throws {
        let (j, _) = try makeJournal()
        try j.begin(ceremony: "c1", scriptName: "s", scriptSHA256: "00", practice: false, payload: [:])
        try j.append(ceremony: "c1", act: "", step: "", role: "", event: EventType.closed, payload: [:])
        XCTAssertThrowsError(try j.append(ceremony: "c1", act: "", step: "", role: "", event: EventType.record, payload: [:])) {
            XCTAssertEqual($0 as? JournalError, .ceremonyTerminated(ceremony: "c1"))
        }
    }

    /// The event vocabulary is closed: a line or a stored row naming an event outside
    /// `EventType` is refused by name, and the raw values are the transcript's spelling.
    func testUnknownEventsAreRefused() throws {
        XCTAssertEqual(EventType.allCases.map(\.rawValue), ["BEGIN", "ACT_START", "ACT_END", "STEP_START", "RECORD", "CONFIRM",
                                                            "STEP_DONE", "STEP_FAILED", "REFUSED", "EXCEPTION", "PAUSE", "RESUME",
                                                            "CLOSED", "ABORTED"])
        let good = JournalEntry(ceremony: "c1", seq: 1, time: "2026-01-31T12:00:00.000Z", act: "", step: "", role: "",
                                event: .begin, payload: [:], prevHash: ChainHash.genesis)
        XCTAssertEqual(try JournalEntry(parsing: CanonicalValue.parse(good.line)), good)
        let forged = good.line.replacingOccurrences(of: "\"BEGIN\"", with: "\"BEGUN\"")
        XCTAssertThrowsError(try JournalEntry(parsing: CanonicalValue.parse(forged))) {
            XCTAssertEqual($0 as? JournalError, .unknownEvent(name: "BEGUN"))
            XCTAssertEqual("\($0)", "unknown event 'BEGUN'")
        }
        let (j, path) = try makeJournal()
        try j.begin(ceremony: "c1", scriptName: "s", scriptSHA256: "00", practice: false, payload: [:])
        let raw = try DatabaseQueue(path: path)
        try raw.write { db in
            try db.execute(sql: "DROP TRIGGER entry_append_only_update")
            try db.execute(sql: "UPDATE entry SET event = 'BEGUN' WHERE seq = 1")
        }
        XCTAssertThrowsError(try j.entries(ceremony: "c1")) {
            XCTAssertEqual($0 as? JournalError, .chainBroken(ceremony: "c1", seq: 1, reason: "unknown event 'BEGUN'"))
        }
    }

    /// The schema refuses UPDATE and DELETE; an edit made after dropping the triggers is
    /// caught when the entries are read back.
    func testJournalIsAppendOnlyAndEditsAreDetected() throws {
        let (j, path) = try makeJournal()
        try j.begin(ceremony: "c1", scriptName: "s", scriptSHA256: "00", practice: false, payload: [:])
        try j.append(ceremony: "c1", act: "a", step: "s", role: "r", event: EventType.record, payload: ["v": "1"])
        let raw = try DatabaseQueue(path: path)
        XCTAssertThrowsError(try raw.write { try $0.execute(sql: "UPDATE entry SET payload = '{\"v\":\"2\"}' WHERE seq = 2") })
        XCTAssertThrowsError(try raw.write { try $0.execute(sql: "DELETE FROM entry WHERE seq = 2") })
        XCTAssertThrowsError(try raw.write { try $0.execute(sql: "DELETE FROM ceremony") })
        try raw.write { db in
            try db.execute(sql: "DROP TRIGGER entry_append_only_update")
            try db.execute(sql: "UPDATE entry SET payload = '{\"v\":\"2\"}' WHERE seq = 2")
        }
        XCTAssertThrowsError(try j.entries(ceremony: "c1")) {
            guard case .chainBroken(_, let seq, _)? = $0 as? JournalError else { return XCTFail("\($0)") }
            XCTAssertEqual(seq, 2)
        }
    }

    func testTimeNeverGoesBackwards() throws {
        let (j, _) = try makeJournal()
        try j.begin(ceremony: "c1", scriptName: "s", scriptSHA256: "00", practice: false, payload: [:], now: Date(timeIntervalSince1970: 2_000_000_000))
        let e = try j.append(ceremony: "c1", act: "", step: "", role: "", event: EventType.record, payload: [:], now: Date(timeIntervalSince1970: 1_000_000_000))
        XCTAssertEqual(e.time, JournalTime.format(Date(timeIntervalSince1970: 2_000_000_000)))
        XCTAssertTrue(JournalTime.isWellFormed(e.time))
    }
}
