import TriadJournal

/// A ceremony script: the data in `Ceremonies/*.yaml` (docs/ceremony.md §"Script format").
///
/// Modelled on the root KSK scripts (docs/ceremony.md §2): acts of numbered steps,
/// each naming who acts, what is read aloud and who initials it. Unlike paper, the engine
/// enforces order, roles and preconditions, and the script's SHA-256 goes into the journal.
public struct CeremonyScript: Equatable, Sendable {
    /// The script's name, used in ceremony ids and output names.
    public var name: String
    /// The script's version; a new version is a new script to approve.
    public var version: Int
    /// The title printed on top of the script.
    public var title: String
    /// Why the ceremony is held, in plain words, printed under the title.
    public var purpose: String
    /// Who must take part and what each holds.
    public var roles: [RoleSpec]
    /// The values the operator gives with `--set`.
    public var parameters: [ScriptParameter]
    /// The acts, in order.
    public var acts: [Act]
    /// The exact bytes the script was loaded from, as text; recorded in the BEGIN entry.
    public var source: String
    /// SHA-256 of `source` (UTF-8), lowercase hex.
    public var sha256: String
    /// Where it was loaded from, for messages.
    public var origin: String

    /// The role that confirms exceptions (the internal witness, docs/ceremony.md §3 rule 5).
    public var witnessRole: RoleSpec? { roles.first { $0.witness } }

    /// The role with id `id`, or nil.
    public func role(_ id: String) -> RoleSpec? { roles.first { $0.id == id } }

    /// Every step with its act, in run order.
    public var allSteps: [(act: Act, step: Step)] { acts.flatMap { act in act.steps.map { (act, $0) } } }
}

/// A role: who must be present and what they hold (docs/ceremony.md §2, docs/threat-model.md §2).
public struct RoleSpec: Equatable, Sendable {
    /// The role id steps name in `role:` and `confirm:`.
    public var id: String
    /// The role's title on paper (e.g. "Internal witness").
    public var title: String
    /// What the role brings (a card, a PIN, the escrow blob), printed for the checklist.
    public var holds: String
    /// The witness confirms exceptions and may record disagreement; exactly one per script.
    public var witness: Bool
    /// `attest: card`: the person's own PIV card (slot 9C) signs the roll call, every act end
    /// and the terminal entry while they are present (docs/ceremony.md §7 "Attestations").
    public var attestsWithCard = false
}

/// A value the operator supplies with `--set KEY=VALUE`.
public struct ScriptParameter: Equatable, Sendable {
    /// The key in `--set NAME=VALUE` and `${NAME}`.
    public var name: String
    /// What the value means, printed in the values table.
    public var description: String
    /// True when a run without it is refused.
    public var required: Bool
    /// The value used when `--set` leaves it out.
    public var defaultValue: ParameterValue?
    /// `list: true`: the value is a list (each `--set NAME=VALUE` adds one item) and
    /// `${NAME}` yields a YAML sequence where the step's action takes a list.
    public var list = false
}

/// A numbered group of steps; the engine prints anchor words at its end.
public struct Act: Equatable, Sendable {
    /// The act id, journaled in each of its entries.
    public var id: String
    /// The act's title on paper.
    public var title: String
    /// The act's steps, run in order.
    public var steps: [Step]
}

/// One step: the acting role, the words read aloud, the built-in action and its arguments,
/// its preconditions (`after` steps, `requires` facts) and the roles that must confirm.
public struct Step: Equatable, Sendable {
    /// The step id, unique in the script; `after:` names it.
    public var id: String
    /// The step's title on paper.
    public var title: String
    /// The acting role.
    public var role: String
    /// What the acting person reads aloud.
    public var say: String
    /// The built-in action's name (`ActionRegistry`).
    public var action: String
    /// The `with:` arguments, before `${NAME}` substitution.
    public var arguments: [String: CanonicalValue]
    /// Roles that must confirm the step; a no is a deviation.
    public var confirm: [String]
    /// Steps that must have completed before this one.
    public var after: [String]
    /// Facts that must hold before this step runs.
    public var requires: [String]
    /// 1-based line in the script file, for messages.
    public var line: Int
}
