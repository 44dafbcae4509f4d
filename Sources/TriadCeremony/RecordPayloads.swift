import TriadJournal

/// The payload of a RECORD entry of one `kind` that the verifier reads back, typed: the
/// action writes it and the replay, the attestation and card checks and the ceremony record
/// read it, so both sides share one shape (docs/ceremony.md §7, "Events"). The stored
/// members are the struct's plus `kind`; the bytes are those of the members as before.
protocol RecordPayload: Codable {
    /// The RECORD's `kind`.
    static var kind: String { get }
}

extension RecordPayload {
    /// The members as the journal stores them, `kind` included.
    func members() throws -> [String: CanonicalValue] {
        guard case .object(var members) = try CanonicalValue(encoding: self) else {
            throw JournalError.malformedPayload(seq: 0, event: EventType.record.rawValue, problem: "is not an object")
        }
        members["kind"] = .string(Self.kind)
        return members
    }

    /// True when `entry` is a RECORD of this kind.
    static func matches(_ entry: JournalEntry) -> Bool {
        entry.event == EventType.record && entry.payload["kind"]?.stringValue == kind
    }

    /// Reads `entry`'s payload; another event or kind, or a missing or mistyped member, is a
    /// `JournalError.malformedPayload` naming the entry.
    init(_ entry: JournalEntry) throws {
        guard Self.matches(entry) else {
            throw JournalError.malformedPayload(seq: entry.seq, event: entry.event.rawValue, problem: "is not a RECORD of kind \(Self.kind)")
        }
        do { self = try entry.payload.decode(as: Self.self) } catch {
            throw JournalError.malformedPayload(seq: entry.seq, event: entry.event.rawValue, problem: StepDonePayload.problem(error))
        }
    }
}

/// RECORD `participant`: the name and staff number a role gave at the roll call.
struct ParticipantRecord: RecordPayload {
    static let kind = "participant"
    var name: String
    var staffID: String

    enum CodingKeys: String, CodingKey { case name, staffID = "staff_id" }
}

/// RECORD `participant-corrected`: a role's corrected name and staff number, and whom it replaced.
struct ParticipantCorrectedRecord: RecordPayload {
    static let kind = "participant-corrected"
    var name: String
    var staffID: String
    /// The person as first recorded (`Person.display`).
    var was: String

    enum CodingKeys: String, CodingKey { case name, staffID = "staff_id", was }
}

/// RECORD `attestor-card`: an attesting person's 9C certificate and its signature over the
/// roll-call message (docs/ceremony.md §7 "Attestations"); lowercase hex.
struct AttestorCardRecord: RecordPayload {
    static let kind = Attestation.recordKind
    var certificate: String
    var certificateFingerprint: String
    var signature: String

    enum CodingKeys: String, CodingKey { case certificate, certificateFingerprint = "certificate_fingerprint", signature }
}

/// RECORD `card-presented`: what the recovery card said about itself before any PIN (serial,
/// 9D certificate, tries left); an unknown serial or counter is journaled as null.
struct CardPresentedRecord: RecordPayload {
    static let kind = "card-presented"
    var reader: String
    var serial: Int64?
    var cardCertificateFingerprint: String
    var pinTriesLeft: Int64?
    var pinBlocked: Bool

    enum CodingKeys: String, CodingKey {
        case reader, serial, cardCertificateFingerprint = "card_certificate_fingerprint", pinTriesLeft = "pin_tries_left", pinBlocked = "pin_blocked"
    }

    /// Writes `serial` and `pin_tries_left` as null when unknown, as the journal always did.
    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(reader, forKey: .reader)
        if let serial { try c.encode(serial, forKey: .serial) } else { try c.encodeNil(forKey: .serial) }
        try c.encode(cardCertificateFingerprint, forKey: .cardCertificateFingerprint)
        if let pinTriesLeft { try c.encode(pinTriesLeft, forKey: .pinTriesLeft) } else { try c.encodeNil(forKey: .pinTriesLeft) }
        try c.encode(pinBlocked, forKey: .pinBlocked)
    }
}

extension ActionContext {
    /// Journals a typed RECORD (`RecordPayload`) as `record(kind, members)` would.
    @discardableResult
    mutating func record<P: RecordPayload>(_ payload: P, role: String? = nil) throws -> JournalEntry {
        var members = try payload.members()
        members["kind"] = nil
        return try record(P.kind, members, role: role)
    }
}
