import Foundation

/// One event of a ceremony: the unit of the hash chain and one line of a transcript.
///
/// Field names follow docs/ceremony.md §7. `act`, `step` and `role`
/// are empty strings for events of the ceremony as a whole (BEGIN, CLOSED, …).
public struct JournalEntry: Equatable, Sendable {
    /// The ceremony id this entry belongs to (docs/ceremony.md §7).
    public var ceremony: String
    /// 1, 2, 3 … within the ceremony; hashed, so moving an entry breaks the chain.
    public var seq: Int64
    /// UTC with milliseconds (`JournalTime`); never earlier than the previous entry's.
    public var time: String
    /// The script's act id; empty for ceremony-wide events.
    public var act: String
    /// The script's step id; empty for ceremony-wide events.
    public var step: String
    /// The acting, confirming or witness role; may be empty.
    public var role: String
    /// What happened; the raw value is the transcript's `event` string.
    public var event: EventType
    /// The event's data, never a secret (docs/ceremony.md §7, "Events").
    public var payload: CanonicalValue
    /// The previous entry's `hash`; 64 zeros for entry 1 (`ChainHash.genesis`).
    public var prevHash: String
    /// SHA-256 over the domain tag and every other field (`ChainHash`), lowercase hex.
    public var hash: String

    /// The field names of a transcript line, in canonical (sorted) order.
    public static let fieldNames = ["act", "ceremony", "event", "hash", "payload", "prev_hash", "role", "seq", "step", "time"]

    /// A new entry whose `hash` is computed from its other fields.
    public init(ceremony: String, seq: Int64, time: String, act: String, step: String, role: String,
                event: EventType, payload: CanonicalValue, prevHash: String) {
        self.ceremony = ceremony; self.seq = seq; self.time = time; self.act = act; self.step = step
        self.role = role; self.event = event; self.payload = payload; self.prevHash = prevHash
        self.hash = ""
        self.hash = computedHash
    }

    /// The object that is hashed: every field except `hash`.
    public var unhashedObject: CanonicalValue {
        .object([
            "act": .string(act), "ceremony": .string(ceremony), "event": .string(event.rawValue),
            "payload": payload, "prev_hash": .string(prevHash), "role": .string(role),
            "seq": .int(seq), "step": .string(step), "time": .string(time),
        ])
    }

    /// The transcript line (without newline): every field including `hash`.
    public var line: String {
        guard case .object(var members) = unhashedObject else { return "" }
        members["hash"] = .string(hash)
        return CanonicalValue.object(members).canonicalText
    }

    /// What `hash` must be for the other fields as they are.
    public var computedHash: String { ChainHash.hash(unhashedCanonical: unhashedObject.canonicalBytes) }

    /// True for the two events that end a ceremony.
    public var isTerminal: Bool { event.isTerminal }

    /// Reads an entry from a parsed transcript line, checking field names, types and the event name.
    public init(parsing value: CanonicalValue) throws {
        guard case .object(let m) = value else { throw JournalError.malformedEntry(problem: "a line is not a JSON object") }
        let extra = Set(m.keys).subtracting(Self.fieldNames)
        let missing = Set(Self.fieldNames).subtracting(m.keys)
        if !extra.isEmpty { throw JournalError.malformedEntry(problem: "unexpected field(s) \(extra.sorted().joined(separator: ", "))") }
        if !missing.isEmpty { throw JournalError.malformedEntry(problem: "missing field(s) \(missing.sorted().joined(separator: ", "))") }
        func string(_ k: String) throws -> String {
            guard let s = m[k]?.stringValue else { throw JournalError.malformedEntry(problem: "field \(k) is not a string") }
            return s
        }
        guard let seq = m["seq"]?.intValue else { throw JournalError.malformedEntry(problem: "field seq is not an integer") }
        guard let payload = m["payload"], case .object = payload else {
            throw JournalError.malformedEntry(problem: "field payload is not an object")
        }
        ceremony = try string("ceremony"); self.seq = seq; time = try string("time"); act = try string("act")
        step = try string("step"); role = try string("role")
        let name = try string("event")
        guard let event = EventType(rawValue: name) else { throw JournalError.unknownEvent(name: name) }
        self.event = event
        self.payload = payload; prevHash = try string("prev_hash"); hash = try string("hash")
    }
}

/// The event vocabulary of the engine (docs/ceremony.md §"Events").
///
/// The raw value is what a transcript line carries in `event`; a name outside this
/// enum is a forgery or a newer tool, so parsing refuses it (`JournalError.unknownEvent`).
public enum EventType: String, CaseIterable, Sendable {
    /// Entry 1: the script, its SHA-256 and text, the tool, the practice flag, parameters and nonce.
    case begin = "BEGIN"
    /// An act of the script begins.
    case actStart = "ACT_START"
    /// An act ends; the engine prints the head as anchor words here.
    case actEnd = "ACT_END"
    /// Journaled before the action runs: action, substituted arguments, what is read aloud, attempt.
    case stepStart = "STEP_START"
    /// Data an action records (e.g. a participant's name and staff number).
    case record = "RECORD"
    /// A confirming role's yes or no, with the reason for a no (docs/ceremony.md §3 rule 6).
    case confirm = "CONFIRM"
    /// The action succeeded: its result and the facts it produced.
    case stepDone = "STEP_DONE"
    /// The action failed: the error, then an exception decides what happens.
    case stepFailed = "STEP_FAILED"
    /// A precondition did not hold (docs/ceremony.md §3 rule 2); the ceremony ends ABORTED.
    case refused = "REFUSED"
    /// A deviation: expected, happened, decision, confirmed by the witness (docs/ceremony.md §3 rule 5).
    case exception = "EXCEPTION"
    /// A break, with its reason.
    case pause = "PAUSE"
    /// The end of a break: who came back and who is absent from now on (docs/ceremony.md §3 rule 7).
    case resume = "RESUME"
    /// Terminal: the ceremony completed; nothing appends after it.
    case closed = "CLOSED"
    /// Terminal: the ceremony stopped, with the reason and the step; nothing appends after it.
    case aborted = "ABORTED"

    /// True for the two events that end a ceremony.
    public var isTerminal: Bool { self == .closed || self == .aborted }
}

extension EventType: CustomStringConvertible {
    /// The transcript spelling, so messages that interpolate an event read as before.
    public var description: String { rawValue }
}

/// UTC timestamps with millisecond precision, `2026-11-29T03:04:05.678Z`.
public enum JournalTime {
    /// Formats `date` as the journal writes it; two entries in the same millisecond keep their order by `seq`.
    public static func format(_ date: Date) -> String {
        let ms = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        let seconds = ms / 1000, millis = ms % 1000
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                      Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), Int(millis))
    }

    /// True when `text` has exactly the form `format` produces.
    public static func isWellFormed(_ text: String) -> Bool {
        let b = Array(text.utf8)
        guard b.count == 24 else { return false }
        let digits: Set<Int> = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22]
        for (i, c) in b.enumerated() {
            if digits.contains(i) { if !(c >= 0x30 && c <= 0x39) { return false } }
        }
        return b[4] == 0x2D && b[7] == 0x2D && b[10] == 0x54 && b[13] == 0x3A && b[16] == 0x3A && b[19] == 0x2E && b[23] == 0x5A
    }
}
