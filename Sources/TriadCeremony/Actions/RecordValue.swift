import Foundation
import TriadJournal

/// The acting role reads a value aloud and types it (a bag serial, a ticket number); it
/// goes into the journal. With `expect`, it must equal that value (e.g. `${bag_serial}`
/// from the approved plan); with `twice`, it is typed twice to catch slips.
public struct RecordValueAction: CeremonyAction {
    /// The name scripts give in `action:`.
    public static let name = "record-value"
    /// What `ceremony show` prints for a step running this action.
    public static let summary = "The acting person types a value read from a label or document; it is journaled."
    /// The recorded value's `with:` arguments.
    public struct Arguments: ActionArguments {
        /// `name` (required), `prompt`, `pattern`, `expect` and the flag `twice`.
        public static let parameters = [
            ParameterSpec("name", .text, required: true, "name of the value, e.g. bag-serial"),
            ParameterSpec("prompt", .text, "what to ask"),
            ParameterSpec("pattern", .text, "a regular expression the whole value must match"),
            ParameterSpec("expect", .text, "the value it must equal, e.g. ${bag_serial}"),
            ParameterSpec("twice", .flag, "type it twice"),
        ]
        /// The value's name, journaled with it.
        public var name: String
        /// What to ask; nil asks "Type NAME".
        public var prompt: String?
        /// A regular expression the whole value must match.
        public var pattern: String?
        /// The value it must equal.
        public var expect: String?
        /// True: typed twice, and both must agree.
        public var twice: Bool
        /// Reads the five arguments.
        public init(from arguments: ArgumentReader) throws {
            name = try arguments.requiredText("name"); prompt = try arguments.text("prompt")
            pattern = try arguments.text("pattern"); expect = try arguments.text("expect"); twice = try arguments.flag("twice")
        }
    }

    /// `value:<name>`, so a later step can require that the value was read.
    public static func produces(_ arguments: Arguments) -> [String] {
        ["value:\(arguments.name)"]
    }

    /// Actions hold no state; the engine makes one for each step.
    public init() {}

    /// Asks for the value (twice if asked), checks it against `pattern` and `expect`, and journals it.
    public func run(_ arguments: Arguments, _ context: inout ActionContext) throws -> ActionOutcome {
        let name = arguments.name
        let prompt = arguments.prompt ?? "Type \(name)"
        let value = try context.ask("value", prompt).trimmingCharacters(in: .whitespaces)
        if arguments.twice {
            let again = try context.ask("again", "\(prompt) (again)").trimmingCharacters(in: .whitespaces)
            guard again == value else { throw ActionError("the two entries of \(name) differ ('\(value)' and '\(again)')") }
        }
        if let pattern = arguments.pattern {
            guard value.range(of: "^(?:\(pattern))$", options: .regularExpression) != nil else {
                throw ActionError("\(name) '\(value)' does not have the expected form \(pattern)")
            }
        }
        if let expected = arguments.expect, expected != value {
            throw ActionError("\(name) is '\(value)' but the plan says '\(expected)'")
        }
        try context.record(ValueRecord(name: name, value: value))
        return ActionOutcome(["name": .string(name), "value": .string(value)])
    }
}
