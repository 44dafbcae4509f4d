/// The actions scripts may name. `ceremony lint` rejects any other name.
///
/// The recovery key actions register here too: add the type to `standard`.
public struct ActionRegistry: Sendable {
    private var types: [String: any CeremonyAction.Type] = [:]

    /// A registry of `actions`, keyed by their names.
    public init(_ actions: [any CeremonyAction.Type] = []) {
        for a in actions { register(a) }
    }

    /// Adds `action`; a later registration of the same name replaces the earlier (tests add key actions).
    public mutating func register(_ action: any CeremonyAction.Type) {
        precondition(types[action.name] == nil, "two actions named \(action.name)")
        types[action.name] = action
    }

    /// The action scripts call `name`, or nil (lint reports the unknown name).
    public func action(named name: String) -> (any CeremonyAction.Type)? { types[name] }

    /// Every registered name, sorted, for `ceremony show` and lint messages.
    public var names: [String] { types.keys.sorted() }

    /// Every built-in action of the shipped tool.
    public static let standard = ActionRegistry([
        IdentifyParticipantsAction.self,
        ConfirmAction.self,
        RecordValueAction.self,
        PrintAnchorAction.self,
        RecordEnvironmentAction.self,
        RecordEvidenceAction.self,
    ] + recoveryActions)
}
