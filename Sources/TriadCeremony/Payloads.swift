import TriadJournal

/// The payload of one journal event, typed: the engine writes it and the verifier, the
/// conformance replay and the summary read it back, so writer and readers share one shape
/// (docs/ceremony.md §7, "Events"). Stored through `CanonicalValue(encoding:)`, so the bytes
/// are the journal's canonical encoding; members the engine leaves out (`nil`) are absent.
protocol EventPayload: Codable {
    /// The event this payload belongs to.
    static var event: EventType { get }
}

extension EventPayload {
    /// The payload's members as the journal stores them.
    func members() throws -> [String: CanonicalValue] {
        guard case .object(let members) = try CanonicalValue(encoding: self) else {
            throw JournalError.malformedPayload(seq: 0, event: Self.event.rawValue, problem: "is not an object")
        }
        return members
    }

    /// Reads `entry`'s payload; a wrong event or a missing or mistyped member is a
    /// `JournalError.malformedPayload` naming the entry.
    init(_ entry: JournalEntry) throws {
        guard entry.event == Self.event else {
            throw JournalError.malformedPayload(seq: entry.seq, event: entry.event.rawValue, problem: "is not that of an entry of event \(Self.event)")
        }
        do { self = try entry.payload.decode(as: Self.self) } catch {
            throw JournalError.malformedPayload(seq: entry.seq, event: entry.event.rawValue, problem: Self.problem(error))
        }
    }

    /// "lacks steps_completed", "has reason of the wrong kind": the member a decoding error names.
    static func problem(_ error: Error) -> String {
        switch error as? DecodingError {
        case .keyNotFound(let key, _)?: return "lacks \(key.stringValue)"
        case .typeMismatch(_, let c)?, .valueNotFound(_, let c)?:
            return "has \(c.codingPath.map(\.stringValue).joined(separator: ".")) of the wrong kind"
        default: return "cannot be read (\(error))"
        }
    }
}

extension DecodingError {
    /// The members leading to what could not be read (`["parameters", "zones"]`); for a
    /// missing member, its own name last.
    var memberPath: [String] {
        switch self {
        case .keyNotFound(let key, let c): return c.codingPath.map(\.stringValue) + [key.stringValue]
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c): return c.codingPath.map(\.stringValue)
        @unknown default: return []
        }
    }
}

/// ACT_START: the act's title and its 1-based number.
struct ActStartPayload: EventPayload {
    static let event = EventType.actStart
    var title: String
    var number: Int64
}

/// ACT_END: the act's title; the ceremony key's signature is added when it is sealed.
struct ActEndPayload: EventPayload {
    static let event = EventType.actEnd
    var title: String
}

/// STEP_START: what runs, exactly as the script and BEGIN's parameters say, and which attempt.
struct StepStartPayload: EventPayload, Equatable {
    static let event = EventType.stepStart
    var action: String
    var title: String
    var say: String
    var arguments: [String: CanonicalValue]
    var attempt: Int64
}

/// STEP_DONE: the action, its result and every fact the step established.
struct StepDonePayload: EventPayload {
    static let event = EventType.stepDone
    var action: String
    var result: [String: CanonicalValue]
    var facts: [String]
}

/// STEP_FAILED: the error of the action, read out to the room.
struct StepFailedPayload: EventPayload {
    static let event = EventType.stepFailed
    var error: String
}

/// REFUSED: why a precondition or a participant check failed.
struct RefusedPayload: EventPayload {
    static let event = EventType.refused
    var reason: String
}

/// CONFIRM: a confirming role's yes, or no with its reason (docs/ceremony.md §3 rule 6).
struct ConfirmPayload: EventPayload {
    static let event = EventType.confirm
    var agreed: Bool
    var name: String
    var reason: String?
}

/// EXCEPTION: expected, happened, decided, how the ceremony goes on, the witness, and a
/// permission it grants (docs/ceremony.md §3 rule 5).
struct ExceptionPayload: EventPayload {
    static let event = EventType.exception
    var expected: String
    var happened: String
    var decision: String
    /// `continue`, `skip` or `retry`.
    var next: String
    var witness: String
    var grants: String?

    enum CodingKeys: String, CodingKey {
        case expected, happened, decision, next = "continue", witness, grants
    }
}

/// PAUSE: the reason for the break.
struct PausePayload: EventPayload {
    static let event = EventType.pause
    var reason: String
}

/// RESUME: who came back and who is absent from now on (docs/ceremony.md §3 rule 7).
struct ResumePayload: EventPayload {
    static let event = EventType.resume
    var present: [String]
    var absent: [String]
}

/// CLOSED: what the ceremony counted; the checkpoint and signature are added when sealed.
struct ClosedPayload: EventPayload {
    static let event = EventType.closed
    var stepsCompleted: Int64
    var stepsSkipped: Int64
    var exceptions: Int64

    enum CodingKeys: String, CodingKey {
        case stepsCompleted = "steps_completed", stepsSkipped = "steps_skipped", exceptions
    }
}

/// ABORTED: the reason, the step it stopped at, and outputs removed again.
struct AbortedPayload: EventPayload {
    static let event = EventType.aborted
    var reason: String
    var atStep: String
    var removedOutputs: [String]?

    enum CodingKeys: String, CodingKey {
        case reason, atStep = "at_step", removedOutputs = "removed_outputs"
    }
}

/// BEGIN: the script with its text, the tool, the host, practice and mode, the parameters,
/// the nonce, the answers file's hash, the ceremony key and the ceremony id (docs/ceremony.md §7).
struct BeginPayload: EventPayload {
    static let event = EventType.begin

    /// The script as run: its text is embedded, so the transcript is verified against it.
    struct Script: Codable {
        var name: String
        var version: Int64
        var title: String
        var sha256: String
        var text: String
    }

    /// The tool that ran the ceremony.
    struct Tool: Codable {
        var version: String
        var sha256: String
    }

    var script: Script
    var tool: Tool
    var host: String
    var practice: Bool
    /// `PrompterMode`'s raw value.
    var mode: String
    var parameters: [String: ParameterValue]
    var nonce: String
    var answersSHA256: String?
    /// `Seal.keyMember` of the ceremony key.
    var ceremonyKey: CanonicalValue?
    var ceremonyID: String

    enum CodingKeys: String, CodingKey {
        case script, tool, host, practice, mode, parameters, nonce
        case answersSHA256 = "answers_sha256", ceremonyKey = "ceremony_key", ceremonyID = "ceremony_id"
    }
}
