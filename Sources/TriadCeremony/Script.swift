import TriadJournal

/// A ceremony script: the data in `Ceremonies/*.yaml` (docs/ceremony.md §"Script format").
///
/// Modelled on the root KSK scripts (docs/ceremony.md §2): acts of numbered steps,
/// each naming who acts, what is read aloud and who initials it. Unlike paper, the engine
/// enforces order, roles and preconditions, and the script's SHA-256 goes into the journal.
public struct CeremonyScript: Equatable, Sendable {
    public var name: String
    public var version: Int
    public var title: String
    public var purpose: String
    public var roles: [RoleSpec]
    public var parameters: [ScriptParameter]
    public var acts: [Act]
    /// The exact bytes the script was loaded from, as text; recorded in the BEGIN entry.
    public var source: String
    /// SHA-256 of `source` (UTF-8), lowercase hex.
    public var sha256: String
    /// Where it was loaded from, for messages.
    public var origin: String

    /// The role that confirms exceptions (the internal witness, docs/ceremony.md §3 rule 5).
    public var witnessRole: RoleSpec? { roles.first { $0.witness } }

    public func role(_ id: String) -> RoleSpec? { roles.first { $0.id == id } }

    /// Every step with its act, in run order.
    public var allSteps: [(act: Act, step: Step)] { acts.flatMap { act in act.steps.map { (act, $0) } } }
}

/// A role: who must be present and what they hold (docs/ceremony.md §2, docs/threat-model.md §2).
public struct RoleSpec: Equatable, Sendable {
    public var id: String
    public var title: String
    public var holds: String
    /// The witness confirms exceptions and may record disagreement; exactly one per script.
    public var witness: Bool
}

/// A value the operator supplies with `--set KEY=VALUE`.
public struct ScriptParameter: Equatable, Sendable {
    public var name: String
    public var description: String
    public var required: Bool
    public var defaultValue: String?
}

public struct Act: Equatable, Sendable {
    public var id: String
    public var title: String
    public var steps: [Step]
}

/// One step: the acting role, the words read aloud, the built-in action and its arguments,
/// its preconditions (`after` steps, `requires` facts) and the roles that must confirm.
public struct Step: Equatable, Sendable {
    public var id: String
    public var title: String
    public var role: String
    public var say: String
    public var action: String
    public var arguments: [String: CanonicalValue]
    public var confirm: [String]
    public var after: [String]
    public var requires: [String]
    /// 1-based line in the script file, for messages.
    public var line: Int
}
