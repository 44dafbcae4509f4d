import TriadJournal

/// The acting role confirms that something physical was done or checked (a seal intact, the
/// room closed). A "no" is a deviation: the engine asks for an exception or an abort.
public struct ConfirmAction: CeremonyAction {
    /// The name scripts give in `action:`.
    public static let name = "confirm"
    /// What `ceremony show` prints for a step running this action.
    public static let summary = "The acting person answers yes or no to the question; \"no\" is a deviation."
    /// The `with:` arguments lint checks for this action.
    public static let parameters = [
        ParameterSpec("question", .text, "what is asked (default: the text read aloud)"),
        ParameterSpec("fact", .text, "a fact this confirmation establishes, for later steps' `requires`"),
    ]

    /// The `fact` argument, when given, for later steps' `requires`.
    public static func produces(_ arguments: StepArguments) -> [String] {
        arguments.text("fact").map { [$0] } ?? []
    }

    /// Actions hold no state; the engine makes one for each step.
    public init() {}

    /// Asks the acting person the question; a no becomes a deviation the witness must handle.
    public func run(_ context: inout ActionContext) throws -> ActionOutcome {
        let question = context.arguments.text("question") ?? context.step.say
        let who = context.actor?.display ?? context.step.role
        guard try context.askYesNo("answer", "\(who): \(question)") else {
            throw ActionError("\(who) answered no to: \(question)")
        }
        return ActionOutcome(["question": .string(question), "answer": "yes"])
    }
}
