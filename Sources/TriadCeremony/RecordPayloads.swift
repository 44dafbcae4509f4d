import TriadJournal

/// The payload of a RECORD entry of one `kind`, typed: the action writes it and the replay,
/// the attestation and card checks and the ceremony record read it, so both sides share one
/// shape (docs/ceremony.md §7, "RECORD kinds"). The stored members are the struct's plus
/// `kind`. Every kind an action journals has one (`RecordKinds.all`); an action can journal
/// no other RECORD, so a new kind is a new struct, never an untyped dictionary.
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
struct ParticipantRecord: RecordPayload, Equatable {
    static let kind = "participant"
    var name: String
    var staffID: String

    enum CodingKeys: String, CodingKey { case name, staffID = "staff_id" }
}

/// RECORD `participant-corrected`: a role's corrected name and staff number, and whom it replaced.
struct ParticipantCorrectedRecord: RecordPayload, Equatable {
    static let kind = "participant-corrected"
    var name: String
    var staffID: String
    /// The person as first recorded (`Person.display`).
    var was: String

    enum CodingKeys: String, CodingKey { case name, staffID = "staff_id", was }
}

/// RECORD `attestor-card`: an attesting person's 9C certificate and its signature over the
/// roll-call message (docs/ceremony.md §7 "Attestations"); lowercase hex.
struct AttestorCardRecord: RecordPayload, Equatable {
    static let kind = Attestation.recordKind
    var certificate: String
    var certificateFingerprint: String
    var signature: String

    enum CodingKeys: String, CodingKey { case certificate, certificateFingerprint = "certificate_fingerprint", signature }
}

/// RECORD `evidence`: one evidence file's path, SHA-256 (lowercase hex) and size in bytes.
struct EvidenceRecord: RecordPayload, Equatable {
    static let kind = "evidence"
    var path: String
    var sha256: String
    var bytes: Int64
}

/// RECORD `value`: the value a person typed for `record-value`, under its name.
struct ValueRecord: RecordPayload, Equatable {
    static let kind = "value"
    var name: String
    var value: String
}

/// RECORD `environment`: the machine the ceremony runs on (docs/ceremony.md §9, item 22).
struct EnvironmentRecord: RecordPayload, Equatable {
    static let kind = "environment"
    var host: String
    var kernel: String
    var toolSHA256: String
    var usbDevices: [String]

    enum CodingKeys: String, CodingKey { case host, kernel, toolSHA256 = "tool_sha256", usbDevices = "usb_devices" }
}

/// A member the journal always writes, as JSON null when its value is unknown (a card's
/// serial, a retry counter), where a plain optional member would be left out: the bytes of
/// the kinds that have such members stay those the actions always wrote.
@propertyWrapper
struct NullWhenUnknown<Value: Codable & Equatable>: Codable, Equatable {
    var wrappedValue: Value?

    init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }

    /// Reads null as unknown; the member itself must be there.
    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        wrappedValue = c.decodeNil() ? nil : try c.decode(Value.self)
    }

    /// Writes the value, or null.
    func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        if let wrappedValue { try c.encode(wrappedValue) } else { try c.encodeNil() }
    }
}

/// Every RECORD kind an action journals, for the tests that check each kind's bytes and for
/// readers that list them.
enum RecordKinds {
    static let all: [any RecordPayload.Type] = [
        ParticipantRecord.self, ParticipantCorrectedRecord.self, AttestorCardRecord.self,
        EvidenceRecord.self, ValueRecord.self, EnvironmentRecord.self,
        CardAwaitedRecord.self, RecoveryCertificateAdoptedRecord.self, RecoveryKeyGeneratedRecord.self,
        NewPINEntriesDifferRecord.self, CardEnrolledRecord.self, EscrowBlobAlreadyWrittenRecord.self,
        EscrowBlobWrittenRecord.self, EscrowBlobPresentedRecord.self, CardPresentedRecord.self,
        CardPresenceNotProvenRecord.self, CardAuthenticatedRecord.self, PINRefusedRecord.self,
        PINVerifiedRecord.self, RecoveryKeyUnlockedRecord.self,
        DrillStartedRecord.self, CanaryRecoveredRecord.self, DrillReportRecord.self, PINChangedRecord.self,
        ZeroisedRecord.self, FilesRegrantedRecord.self, FilesDecryptedRecord.self, RecoverySlotsRewrappedRecord.self,
    ]
}

extension ActionContext {
    /// Journals what the action did as a RECORD entry of `P.kind` with `payload`'s members.
    /// Never put a secret in a payload: record a fingerprint or key check value instead.
    @discardableResult
    mutating func record<P: RecordPayload>(_ payload: P, role: String? = nil) throws -> JournalEntry {
        let entry = try append(EventType.record, role ?? step.role, .object(try payload.members()))
        head = entry
        return entry
    }
}
