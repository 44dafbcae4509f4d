import TriadJournal

/// A built-in action a step runs (docs/ceremony.md §"Actions").
///
/// An action declares, as static data, everything the engine and `ceremony lint` must
/// check before it runs: its arguments, the facts it needs and produces, and which
/// recovery factors it presents or combines. The engine — not the script, not the action —
/// enforces these, so a new action (the recovery helper's key actions) only declares them.
public protocol CeremonyAction {
    /// The name scripts use in `action:`.
    static var name: String { get }
    /// One sentence for `ceremony show`: what the tool does in this step.
    static var summary: String { get }
    static var parameters: [ParameterSpec] { get }
    /// Facts that earlier steps must have produced (e.g. `blob-loaded`).
    static func requires(_ arguments: StepArguments) -> [String]
    /// Facts this action establishes when it succeeds.
    static func produces(_ arguments: StepArguments) -> [String]
    /// Recovery factors this action presents into the running ceremony (e.g. load-blob
    /// presents `.escrowBlob`).
    static var presents: [RecoveryFactor] { get }
    /// Recovery factors this action combines; each must have been presented earlier in the
    /// same running ceremony (docs/ceremony.md §3 rule 9).
    static var combines: [RecoveryFactor] { get }
    /// True for the roll call: the roles it admits need not be present before it runs.
    static var admitsParticipants: Bool { get }

    init()

    /// Runs the action. Throw `ActionError` for a failure the participants can handle
    /// with an exception (retry, skip) or abort; the engine journals it.
    func run(_ context: inout ActionContext) throws -> ActionOutcome
}

extension CeremonyAction {
    public static func requires(_ arguments: StepArguments) -> [String] { [] }
    public static func produces(_ arguments: StepArguments) -> [String] { [] }
    public static var presents: [RecoveryFactor] { [] }
    public static var combines: [RecoveryFactor] { [] }
    public static var admitsParticipants: Bool { false }

    /// Facts required including the factor facts of `combines`.
    static func allRequiredFacts(_ arguments: StepArguments) -> [String] {
        requires(arguments) + combines.map(\.fact)
    }

    /// Facts produced including the factor facts of `presents`.
    static func allProducedFacts(_ arguments: StepArguments) -> [String] {
        produces(arguments) + presents.map(\.fact)
    }
}

/// The three recovery factors (docs/recovery.md §1), each held by a different department.
public enum RecoveryFactor: String, CaseIterable, Sendable {
    case escrowBlob = "escrow-blob"      // IT
    case recoveryCard = "recovery-card"  // Management
    case cardPIN = "card-pin"            // Medical

    /// How the paper script names it.
    public var displayName: String {
        switch self {
        case .escrowBlob: return "the escrow blob (IT)"
        case .recoveryCard: return "the recovery card (Management)"
        case .cardPIN: return "the card's PIN (Medical)"
        }
    }

    /// The fact a presenting action establishes, e.g. `factor:card-pin`.
    public var fact: String { "factor:\(rawValue)" }
}

/// An argument an action accepts in `with:`.
public struct ParameterSpec: Sendable {
    public enum Kind: String, Sendable { case text, number, flag, textList = "list of text" }
    public var name: String
    public var kind: Kind
    public var required: Bool
    public var description: String

    public init(_ name: String, _ kind: Kind, required: Bool = false, _ description: String) {
        self.name = name; self.kind = kind; self.required = required; self.description = description
    }
}

/// What an action hands back: the payload of its STEP_DONE entry (no secrets, ever) and
/// extra facts beyond the declared ones.
public struct ActionOutcome: Sendable {
    public var payload: [String: CanonicalValue]
    public var facts: [String]
    public init(_ payload: [String: CanonicalValue] = [:], facts: [String] = []) {
        self.payload = payload; self.facts = facts
    }
}

/// A failure inside an action that the ceremony can recover from by an exception.
public struct ActionError: Error, Equatable, CustomStringConvertible {
    public var message: String
    /// A failure no exception may continue past (a wrong or missing recovery factor): the
    /// engine journals STEP_FAILED and closes the ceremony ABORTED at once, offering no
    /// retry or skip (docs/ceremony.md §3 rule 5: it stops at that factor and closes ABORTED).
    public var fatal: Bool
    public init(_ message: String, fatal: Bool = false) { self.message = message; self.fatal = fatal }
    public var description: String { message }
}

/// A step's `with:` arguments after `${KEY}` substitution from `--set`.
public struct StepArguments: Sendable {
    public var values: [String: CanonicalValue]
    public init(_ values: [String: CanonicalValue]) { self.values = values }

    public func text(_ name: String) -> String? { values[name]?.stringValue ?? values[name]?.intValue.map(String.init) }
    public func number(_ name: String) -> Int64? { values[name]?.intValue }
    public func flag(_ name: String) -> Bool? { values[name]?.boolValue }
    public func textList(_ name: String) -> [String] {
        if let s = values[name]?.stringValue { return [s] }
        return values[name]?.arrayValue?.compactMap { $0.stringValue } ?? []
    }
}
