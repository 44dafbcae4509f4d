import TriadJournal

/// Roll call: each named role states their name and staff number (as
/// participants sign into the log of a root KSK ceremony; docs/ceremony.md §3 rule 2).
///
/// The engine refuses a second role for a person already admitted (docs/ceremony.md §3 rule 3).
public struct IdentifyParticipantsAction: CeremonyAction {
    /// The name scripts give in `action:`.
    public static let name = "identify-participants"
    /// What `ceremony show` prints for a step running this action.
    public static let summary = "Each listed role says their full name and staff number; the tool refuses one person in two roles."
    /// The roll call's `with:` arguments.
    public struct Arguments: ActionArguments {
        /// `roles`, a YAML list: the roles called, in the order they answer.
        public static let parameters = [ParameterSpec("roles", .textList, required: true, "the roles called in this roll call")]
        /// The roles called.
        public var roles: [String]
        /// Reads `roles`.
        public init(from arguments: ArgumentReader) throws { roles = try arguments.requiredList("roles") }
    }
    /// The roll call admits the roles it calls, so they need not be present before it.
    public static let admitsParticipants = true

    /// `present:<role>` for each role called.
    public static func produces(_ arguments: Arguments) -> [String] {
        arguments.roles.map { "identified:\($0)" }
    }

    /// The roles it calls.
    public static func admits(_ arguments: Arguments) -> [String] { arguments.roles }

    /// Actions hold no state; the engine makes one for each step.
    public init() {}

    /// Asks each listed role for name and staff number and admits them; the engine refuses one person in two roles.
    public func run(_ arguments: Arguments, _ context: inout ActionContext) throws -> ActionOutcome {
        var admitted: [CanonicalValue] = []
        for role in arguments.roles {
            let title = Self.title(role, context)
            let name = try askNonEmpty(&context, "\(role).name", "\(title): your full name")
            let staffID = try askNonEmpty(&context, "\(role).id", "\(title): your staff or badge number")
            let person = Person(name: name, staffID: staffID)
            try context.admit(person, to: role)
            try context.record(ParticipantRecord(name: name, staffID: staffID), role: role)
            context.show("  ✓ \(title): \(person.display)")
            if context.attestingRoles.contains(role) { try Self.takeCard(&context, role: role, holder: "\(title) \(person.name)", name: person.name) }
            admitted.append(.string(role))
        }
        try corrections(arguments.roles, &context)
        return ActionOutcome(["admitted": .array(admitted)])
    }

    /// A misspelt name or number is corrected before the witness confirms the roll call: the
    /// role is asked again, the correction journaled with the old and new entries.
    private func corrections(_ roles: [String], _ context: inout ActionContext) throws {
        while true {
            let role = try context.ask("correct", "Type a role (\(roles.joined(separator: ", "))) to correct its name or number, or press Enter if every entry is right",
                                       default: "").trimmingCharacters(in: .whitespaces)
            if role.isEmpty { return }
            guard roles.contains(role), let old = context.participants.person(for: role) else {
                if context.prompter.mode != .interactive { throw CeremonyError.invalidParticipant(role: role, reason: "not a role of this roll call") }
                context.show("\(role) is not one of \(roles.joined(separator: ", ")).")
                continue
            }
            let title = Self.title(role, context)
            let person = Person(name: try askNonEmpty(&context, "\(role).name", "\(title): your full name"),
                                staffID: try askNonEmpty(&context, "\(role).id", "\(title): your staff or badge number"))
            try context.replace(person, in: role)
            try context.record(ParticipantCorrectedRecord(name: person.name, staffID: person.staffID, was: old.display), role: role)
            context.show("  ✓ corrected — \(title): \(person.display) (was \(old.display))")
        }
    }

    static func title(_ role: String, _ context: ActionContext) -> String {
        context.roleTitles[role].map { "\($0) [\(role)]" } ?? role
    }

    private func askNonEmpty(_ context: inout ActionContext, _ key: String, _ question: String) throws -> String {
        while true {
            let answer = try context.ask(key, question).trimmingCharacters(in: .whitespaces)
            if !answer.isEmpty { return answer }
            if context.prompter.mode != .interactive { throw CeremonyError.invalidParticipant(role: key, reason: "empty answer") }
            context.show("An answer is needed.")
        }
    }
}
