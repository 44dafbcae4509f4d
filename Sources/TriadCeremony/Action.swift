import TriadJournal

/// A built-in action a step runs (docs/ceremony.md §"Actions").
///
/// An action declares, as static data, everything the engine and `ceremony lint` must
/// check before it runs: its arguments, the facts it needs and produces, and which
/// recovery factors it presents or combines. The engine — not the script, not the action —
/// enforces these, so a new action (the recovery helper's key actions) only declares them.
public protocol CeremonyAction {
    /// The action's typed `with:` arguments; lint and the engine decode a step's arguments
    /// into it, and `run` receives nothing else of them.
    associatedtype Arguments: ActionArguments = NoArguments
    /// The name scripts use in `action:`.
    static var name: String { get }
    /// One sentence for `ceremony show`: what the tool does in this step.
    static var summary: String { get }
    /// Facts that earlier steps must have produced (e.g. `blob-loaded`).
    static func requires(_ arguments: Arguments) -> [String]
    /// Facts this action establishes when it succeeds.
    static func produces(_ arguments: Arguments) -> [String]
    /// Facts the action may add beyond `produces`, depending on what it finds (e.g. a
    /// resumed rotation). `ceremony verify` refuses a STEP_DONE claiming any other fact.
    static func mayAlsoProduce(_ arguments: Arguments) -> [String]
    /// The roles a roll call fills; only meaningful when `admitsParticipants`.
    static func admits(_ arguments: Arguments) -> [String]
    /// Recovery factors this action presents into the running ceremony (e.g. load-blob
    /// presents `.escrowBlob`).
    static var presents: [RecoveryFactor] { get }
    /// Recovery factors this action combines; each must have been presented earlier in the
    /// same running ceremony (docs/ceremony.md §3 rule 9).
    static var combines: [RecoveryFactor] { get }
    /// True for the roll call: the roles it admits need not be present before it runs.
    static var admitsParticipants: Bool { get }

    init()

    /// Runs the action with its decoded `arguments`. Throw `ActionError` for a failure the
    /// participants can handle with an exception (retry, skip) or abort; the engine journals it.
    func run(_ arguments: Arguments, _ context: inout ActionContext) throws -> ActionOutcome
}

extension CeremonyAction {
    /// The arguments the action accepts, as its `Arguments` type declares them.
    public static var parameters: [ParameterSpec] { Arguments.parameters }
    /// By default an action needs no facts beyond its `combines`.
    public static func requires(_ arguments: Arguments) -> [String] { [] }
    /// By default an action establishes no facts beyond its `presents`.
    public static func produces(_ arguments: Arguments) -> [String] { [] }
    /// By default an action adds no facts beyond `produces` at run time.
    public static func mayAlsoProduce(_ arguments: Arguments) -> [String] { [] }
    /// By default an action fills no role.
    public static func admits(_ arguments: Arguments) -> [String] { [] }
    /// By default an action presents no recovery factor.
    public static var presents: [RecoveryFactor] { [] }
    /// By default an action combines no recovery factor.
    public static var combines: [RecoveryFactor] { [] }
    /// Only the roll call admits participants.
    public static var admitsParticipants: Bool { false }

    /// Decodes `arguments` into `Arguments` and binds them to this action: what lint, the
    /// engine, the dry run and the verifier ask of a step.
    /// With `reading` `.version1` (the verifier's replay of an old transcript only) a text
    /// given for a list argument is read as the tool before list arguments read it.
    /// - Throws: `ArgumentError` naming the argument that does not fit.
    static func bind(_ arguments: StepArguments, reading: ArgumentReading = .current) throws -> BoundAction {
        let typed = try ArgumentReader.decode(Arguments.self, action: name, reading.values(arguments.values, specs: Arguments.parameters))
        return BoundAction(
            requiredFacts: requires(typed) + combines.map(\.fact),
            producedFacts: produces(typed) + presents.map(\.fact),
            optionalFacts: mayAlsoProduce(typed),
            admittedRoles: admitsParticipants ? admits(typed) : [],
            run: { context in try Self().run(typed, &context) })
    }
}

/// An action with its step's decoded arguments: the facts it needs and gives, the roles it
/// admits, and the closure that runs it. Only a step whose arguments decoded has one.
struct BoundAction {
    /// Facts required, including the factor facts of `combines`.
    var requiredFacts: [String]
    /// Facts produced, including the factor facts of `presents`.
    var producedFacts: [String]
    /// Facts the action may add at run time beyond `producedFacts`.
    var optionalFacts: [String]
    /// The roles a roll call fills (empty for every other action).
    var admittedRoles: [String]
    /// Runs the action with the decoded arguments.
    var run: (inout ActionContext) throws -> ActionOutcome
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
    /// The kinds of value a `with:` argument may take; lint checks each against the script.
    public enum Kind: String, Sendable { case text, number, flag, textList = "list of text" }
    /// The argument's key in `with:`.
    /// What `ceremony run --dry-run` checks about the value before anyone is in the room.
    public enum Check: String, Sendable {
        /// A file the step reads: it must exist.
        case existingFile = "an existing file"
        /// A card reader (name substring): pcscd must list a matching reader.
        case reader = "a connected reader"
    }
    /// The argument's name under a step's `with:`.
    public var name: String
    /// What kind of value lint accepts for it.
    public var kind: Kind
    /// True when lint refuses a step that leaves it out.
    public var required: Bool
    /// What `--dry-run` checks about the value (nil: nothing).
    public var check: Check?
    /// One line for `ceremony show` and the printed script.
    public var description: String

    /// An argument `name` of `kind`, described for the printed script; `check` is what a dry run verifies.
    public init(_ name: String, _ kind: Kind, required: Bool = false, check: Check? = nil, _ description: String) {
        self.name = name; self.kind = kind; self.required = required; self.check = check; self.description = description
    }
}

/// What an action hands back: the payload of its STEP_DONE entry (no secrets, ever) and
/// extra facts beyond the declared ones.
public struct ActionOutcome: Sendable {
    /// The STEP_DONE payload; journaled and hashed, so it must never hold a secret.
    public var payload: [String: CanonicalValue]
    /// Facts established at run time beyond the declared ones.
    public var facts: [String]
    /// An outcome with `payload` and extra `facts`.
    public init(_ payload: [String: CanonicalValue] = [:], facts: [String] = []) {
        self.payload = payload; self.facts = facts
    }
}

/// A failure inside an action that the ceremony can recover from by an exception.
public struct ActionError: Error, Equatable, CustomStringConvertible {
    /// What went wrong and what the participants can do; journaled in STEP_FAILED.
    public var message: String
    /// A failure no exception may continue past (a wrong or missing recovery factor): the
    /// engine journals STEP_FAILED and closes the ceremony ABORTED at once, offering no
    /// retry or skip (docs/ceremony.md §3 rule 5: it stops at that factor and closes ABORTED).
    public var fatal: Bool
    /// A permission a witnessed exception may grant before the step is retried (e.g.
    /// `last-pin-try`: spend the card's last PIN try), offered to the people as a choice.
    public var grantable: String?
    /// A failure with `message`; `fatal` ends the ceremony without an exception; `grantable`
    /// names what a witnessed exception may allow for the retry.
    public init(_ message: String, fatal: Bool = false, grantable: String? = nil) {
        self.message = message; self.fatal = fatal; self.grantable = grantable
    }
    /// The message, as printed and journaled.
    public var description: String { message }
}

/// A step's `with:` arguments after `${NAME}` substitution, untyped: what STEP_START journals
/// and what `CeremonyAction.bind` decodes into the action's `Arguments`.
public struct StepArguments: Sendable {
    /// The substituted values by argument name.
    public var values: [String: CanonicalValue]
    /// Arguments as the engine substituted them.
    public init(_ values: [String: CanonicalValue]) { self.values = values }
}
