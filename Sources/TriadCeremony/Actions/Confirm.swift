import TriadJournal

/// The acting role confirms that something physical was done or checked (a seal intact, the
/// room closed). A "no" is a deviation: the engine asks for an exception or an abort.
public struct ConfirmAction: CeremonyAction {
    /// The name scripts give in `action:`.
    public static let name = "confirm"
    /// What `ceremony show` prints for a step running this action.
    public static let summary = "The acting person answers yes or no to the question; \"no\" is a deviation."
    /// The confirmation's `with:` arguments.
    public struct Arguments: ActionArguments {
        /// `question` and `fact`, both optional text.
        public static let parameters = [
            ParameterSpec("question", .text, "what is asked (default: the text read aloud)"),
            ParameterSpec("fact", .text, "a fact this confirmation establishes, for later steps' `requires`"),
        ]
        /// What is asked; nil asks the text read aloud.
        public var question: String?
        /// The fact a yes establishes, if any.
        public var fact: String?
        /// Reads `question` and `fact`.
        public init(from arguments: ArgumentReader) throws {
            question = try arguments.text("question"); fact = try arguments.text("fact")
        }
    }

    /// The `fact` argument, when given, for later steps' `requires`.
    public static func produces(_ arguments: Arguments) -> [String] {
        arguments.fact.map { [$0] } ?? []
    }

    /// Actions hold no state; the engine makes one for each step.
    public init() {}

    /// Asks the acting person the question; a no becomes a deviation the witness must handle.
    public func run(_ arguments: Arguments, _ context: inout ActionContext) throws -> ActionOutcome {
        let question = arguments.question ?? context.step.say
        let who = context.actor?.display ?? context.step.role
        guard try context.askYesNo("answer", "\(who): \(question)") else {
            throw ActionError("\(who) answered no to: \(question)")
        }
        return ActionOutcome(["question": .string(question), "answer": "yes"])
    }
}
