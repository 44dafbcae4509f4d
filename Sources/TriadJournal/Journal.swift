import Foundation
import GRDB

/// The ceremony journal: an append-only, hash-chained event log in SQLite (docs/ceremony.md §7).
///
/// Like GRDB's `AppDatabase` it wraps one connection and migrates
/// in `init`, so nobody reaches an unmigrated database. Every append is one IMMEDIATE write
/// transaction that reads the head and inserts the next entry, so two writers can never
/// fork a chain; an append that does not commit throws `cannotAppend`, and the engine then
/// stops before running anything else (docs/ceremony.md §3 rule 4, "cannot log ⇒ cannot act").
public struct Journal: Sendable {
    private let db: DatabaseQueue
    /// The database file, named in messages and in `ceremony abort` advice.
    public let path: String

    /// Opens (creating if needed) the journal at `path`.
    /// - Parameter busyTimeout: how long an append waits for another writer's lock before
    ///   it fails; short, because a ceremony must not hang silently on a locked journal.
    public init(path: String, busyTimeout: TimeInterval = 5) throws {
        self.path = path
        var config = Configuration()
        config.busyMode = .timeout(busyTimeout)
        config.foreignKeysEnabled = true
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        do {
            db = try DatabaseQueue(path: path, configuration: config)
            try JournalMigrations.migrator.migrate(db)
        } catch {
            throw JournalError.cannotOpen(path: path, reason: Self.reason(error))
        }
    }

    /// Starts a ceremony: registers its id (refusing one already used) and appends its
    /// BEGIN entry, in one transaction.
    @discardableResult
    public func begin(ceremony id: String, scriptName: String, scriptSHA256: String, practice: Bool,
                      payload: CanonicalValue, now: Date = Date()) throws -> JournalEntry {
        do {
            return try db.write { db -> JournalEntry in
                if try Bool.fetchOne(db, sql: "SELECT 1 FROM ceremony WHERE id = ?", arguments: [id]) != nil {
                    throw JournalError.ceremonyIDUsed(ceremony: id)
                }
                let time = JournalTime.format(now)
                try db.execute(sql: "INSERT INTO ceremony (id, scriptName, scriptSHA256, practice, createdAt) VALUES (?, ?, ?, ?, ?)",
                               arguments: [id, scriptName, scriptSHA256, practice ? 1 : 0, time])
                let entry = JournalEntry(ceremony: id, seq: 1, time: time, act: "", step: "", role: "",
                                         event: .begin, payload: payload, prevHash: ChainHash.genesis)
                try insert(entry, db)
                return entry
            }
        } catch let error as JournalError {
            throw error
        } catch {
            throw JournalError.cannotAppend(ceremony: id, reason: Self.reason(error))
        }
    }

    /// Appends the next entry of ceremony `id` and returns it as stored.
    ///
    /// The time is clamped to be no earlier than the previous entry's, so a clock stepping
    /// back during a ceremony cannot make its transcript fail the order check.
    /// - Parameter seal: called inside the write transaction with the entry as it will be
    ///   stored (seq, time and prev_hash fixed); returns the payload to store instead — the
    ///   ceremony key adds its signature here (`Seal`), so no other writer can slip an entry
    ///   between what was signed and what is stored.
    @discardableResult
    public func append(ceremony id: String, act: String, step: String, role: String, event: EventType,
                       payload: CanonicalValue, now: Date = Date(),
                       seal: ((JournalEntry) throws -> CanonicalValue)? = nil) throws -> JournalEntry {
        do {
            return try db.write { db -> JournalEntry in
                guard let head = try Row.fetchOne(db, sql: """
                    SELECT seq, time, event, hash FROM entry WHERE ceremonyId = ? ORDER BY seq DESC LIMIT 1
                    """, arguments: [id]) else { throw JournalError.unknownCeremony(ceremony: id) }
                let headEvent: String = head["event"]
                if EventType(rawValue: headEvent)?.isTerminal == true { throw JournalError.ceremonyTerminated(ceremony: id) }
                let headTime: String = head["time"]
                let time = max(JournalTime.format(now), headTime)
                let seq: Int64 = head["seq"]
                var entry = JournalEntry(ceremony: id, seq: seq + 1, time: time, act: act, step: step, role: role,
                                         event: event, payload: payload, prevHash: head["hash"])
                if let seal {
                    entry = JournalEntry(ceremony: id, seq: entry.seq, time: time, act: act, step: step, role: role,
                                         event: event, payload: try seal(entry), prevHash: entry.prevHash)
                }
                try insert(entry, db)
                return entry
            }
        } catch let error as JournalError {
            throw error
        } catch {
            throw JournalError.cannotAppend(ceremony: id, reason: Self.reason(error))
        }
    }

    /// Every entry of ceremony `id` in order, with the stored chain re-checked, so an export
    /// never carries a database that was edited behind the tool's back.
    public func entries(ceremony id: String) throws -> [JournalEntry] {
        let rows = try db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM entry WHERE ceremonyId = ? ORDER BY seq", arguments: [id])
        }
        guard !rows.isEmpty else { throw JournalError.unknownCeremony(ceremony: id) }
        var previous = ChainHash.genesis
        var result: [JournalEntry] = []
        for (index, row) in rows.enumerated() {
            let seq: Int64 = row["seq"]
            let payloadText: String = row["payload"]
            guard let payload = try? CanonicalValue.parse(payloadText) else {
                throw JournalError.chainBroken(ceremony: id, seq: seq, reason: "payload is not JSON")
            }
            let eventName: String = row["event"]
            guard let event = EventType(rawValue: eventName) else {
                throw JournalError.chainBroken(ceremony: id, seq: seq, reason: "\(JournalError.unknownEvent(name: eventName))")
            }
            var entry = JournalEntry(ceremony: id, seq: seq, time: row["time"], act: row["act"], step: row["step"],
                                     role: row["role"], event: event, payload: payload, prevHash: row["prevHash"])
            let stored: String = row["hash"]
            if seq != Int64(index + 1) { throw JournalError.chainBroken(ceremony: id, seq: seq, reason: "sequence gap") }
            if entry.prevHash != previous { throw JournalError.chainBroken(ceremony: id, seq: seq, reason: "prev_hash does not match") }
            if entry.hash != stored { throw JournalError.chainBroken(ceremony: id, seq: seq, reason: "hash does not match its fields") }
            entry.hash = stored
            previous = stored
            result.append(entry)
        }
        return result
    }

    /// One line per ceremony in this journal, oldest first.
    public func ceremonies() throws -> [CeremonyListing] {
        try db.read { db in
            try Row.fetchAll(db, sql: """
                SELECT c.id, c.scriptName, c.practice, c.createdAt,
                       (SELECT COUNT(*) FROM entry e WHERE e.ceremonyId = c.id) AS entries,
                       (SELECT event FROM entry e WHERE e.ceremonyId = c.id ORDER BY seq DESC LIMIT 1) AS lastEvent
                FROM ceremony c ORDER BY c.createdAt, c.id
                """).map { row in
                CeremonyListing(id: row["id"], scriptName: row["scriptName"], practice: row["practice"] == 1,
                                createdAt: row["createdAt"], entries: row["entries"], lastEvent: row["lastEvent"] ?? "")
            }
        }
    }

    private func insert(_ e: JournalEntry, _ db: Database) throws {
        try db.execute(sql: """
            INSERT INTO entry (ceremonyId, seq, time, act, step, role, event, payload, prevHash, hash)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [e.ceremony, e.seq, e.time, e.act, e.step, e.role, e.event.rawValue, e.payload.canonicalText, e.prevHash, e.hash])
    }

    static func reason(_ error: Error) -> String {
        if let e = error as? DatabaseError {
            return "SQLite error \(e.resultCode.rawValue): \(e.message ?? "\(e.resultCode)")"
        }
        return "\(error)"
    }
}

/// A ceremony as `ceremony log` lists it.
public struct CeremonyListing: Equatable, Sendable {
    /// The ceremony id, `[PRACTICE-]<script>-<time>-<8 hex>` (docs/ceremony.md §7).
    public var id: String
    /// The script's name as recorded in BEGIN.
    public var scriptName: String
    /// True for a practice run: marked in entry 1 and in every output name.
    public var practice: Bool
    /// When BEGIN was appended (UTC, `JournalTime`).
    public var createdAt: String
    /// How many entries the ceremony has.
    public var entries: Int
    /// The newest entry's event: CLOSED or ABORTED when the ceremony is over, anything else while it is open or was cut off.
    public var lastEvent: String

    /// CLOSED, ABORTED, or OPEN when the terminal entry is missing.
    public var state: String {
        EventType(rawValue: lastEvent)?.isTerminal == true ? lastEvent : "OPEN (no terminal entry)"
    }
}
