import TriadJournal

/// The typed `with:` arguments of one action (docs/ceremony.md §"Actions", "Arguments").
///
/// Each action declares one such type: its `parameters` say which arguments exist, of what
/// kind and which are required, and `init(from:)` reads them into fields. `ceremony lint`
/// and the engine both decode a step's arguments through `decode(_:)`, so an argument the
/// action reads is one lint checked, and a step whose arguments do not decode is refused
/// before its action runs — also when lint was skipped — instead of reaching the action.
public protocol ActionArguments: Sendable {
    /// Every argument the action accepts; any other name under `with:` is refused.
    static var parameters: [ParameterSpec] { get }
    /// Reads the fields from arguments `decode(_:)` already checked against `parameters`.
    /// - Throws: `ArgumentError` for a value the kinds alone cannot refuse.
    init(from arguments: ArgumentReader) throws
}

/// The arguments of an action that takes none.
public struct NoArguments: ActionArguments {
    /// No argument is accepted.
    public static let parameters: [ParameterSpec] = []
    /// Nothing to read.
    public init(from arguments: ArgumentReader) {}
    /// No arguments.
    public init() {}
}

/// A `with:` argument that does not fit the action's declaration: missing, unknown or of
/// the wrong kind. Lint reports it with the step and line; the engine refuses the step
/// with it (REFUSED, then ABORTED) before anything runs.
public struct ArgumentError: Error, Equatable, CustomStringConvertible {
    /// The argument's name under `with:`.
    public var argument: String
    /// What is wrong, as a whole sentence naming the argument.
    public var message: String
    /// The problem with `argument`, in words.
    public init(_ argument: String, _ message: String) { self.argument = argument; self.message = message }
    /// The message, as lint and the REFUSED entry show it.
    public var description: String { message }
}

extension ParameterSpec.Kind {
    /// How lint and the engine name the kind of a value found in a script.
    static func name(of value: CanonicalValue) -> String {
        switch value {
        case .string: return "text"
        case .int: return "number"
        case .bool: return "flag"
        case .array: return "list"
        case .object: return "mapping"
        case .null: return "nothing"
        }
    }

    /// True when `value` is of this kind. A list is a YAML sequence of text: one text is
    /// not a list, and a list is not a text.
    func admits(_ value: CanonicalValue) -> Bool {
        switch (self, value) {
        case (.text, .string), (.text, .int), (.number, .int), (.flag, .bool): return true
        case (.textList, .array(let items)): return items.allSatisfy { $0.stringValue != nil || $0.intValue != nil }
        default: return false
        }
    }
}

/// A step's substituted `with:` arguments, checked against an action's `parameters`: what an
/// `ActionArguments` initialiser reads from. Every read is of a declared argument of a kind
/// already checked, so it cannot meet a value lint would have refused.
public struct ArgumentReader {
    /// The action whose arguments these are, for messages.
    public let action: String
    let values: [String: CanonicalValue]
    let specs: [String: ParameterSpec]

    /// Checks `values` against `type.parameters` — no unknown name, every value of its kind,
    /// every required argument present and not empty — and reads them into `type`.
    /// - Throws: `ArgumentError` naming the first argument that does not fit.
    public static func decode<A: ActionArguments>(_ type: A.Type, action: String, _ values: [String: CanonicalValue]) throws -> A {
        let specs = Dictionary(A.parameters.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for name in values.keys.sorted() where specs[name] == nil {
            throw ArgumentError(name, "action \(action) takes no argument '\(name)'")
        }
        for spec in A.parameters {
            guard let value = values[spec.name] else {
                if spec.required { throw ArgumentError(spec.name, "action \(action) needs the argument '\(spec.name)' (\(spec.description))") }
                continue
            }
            guard spec.kind.admits(value) else {
                let hint = spec.kind == .textList ? " (a YAML sequence, e.g. [a, b], or a list parameter's ${NAME})" : ""
                throw ArgumentError(spec.name, "argument '\(spec.name)' must be \(spec.kind.rawValue)\(hint), not \(ParameterSpec.Kind.name(of: value))")
            }
            if spec.required && (value == .string("") || value == .array([])) {
                throw ArgumentError(spec.name, "argument '\(spec.name)' of action \(action) is empty; it needs \(spec.description)")
            }
        }
        return try A(from: ArgumentReader(action: action, values: values, specs: specs))
    }

    private func declared(_ name: String, _ kind: ParameterSpec.Kind) throws -> CanonicalValue? {
        guard let spec = specs[name], spec.kind == kind else {
            throw ArgumentError(name, "action \(action) reads an argument '\(name)' it does not declare as \(kind.rawValue)")
        }
        return values[name]
    }

    /// A text argument (a number reads as its decimal text), or nil when absent.
    public func text(_ name: String) throws -> String? {
        switch try declared(name, .text) {
        case .string(let s)?: return s
        case .int(let i)?: return String(i)
        default: return nil
        }
    }

    /// A text argument the action cannot do without; absent or empty is an `ArgumentError`.
    public func requiredText(_ name: String) throws -> String {
        guard let value = try text(name), !value.isEmpty else {
            throw ArgumentError(name, "action \(action) needs the argument '\(name)'")
        }
        return value
    }

    /// A list-of-text argument; empty when absent.
    public func list(_ name: String) throws -> [String] {
        (try declared(name, .textList)?.arrayValue ?? []).compactMap { $0.stringValue ?? $0.intValue.map(String.init) }
    }

    /// A list-of-text argument the action cannot do without; absent or empty is an `ArgumentError`.
    public func requiredList(_ name: String) throws -> [String] {
        let items = try list(name)
        guard !items.isEmpty else { throw ArgumentError(name, "action \(action) needs at least one item in the argument '\(name)'") }
        return items
    }

    /// A flag argument; false when absent.
    public func flag(_ name: String) throws -> Bool { try declared(name, .flag)?.boolValue ?? false }

    /// A number argument, or nil when absent.
    public func number(_ name: String) throws -> Int64? { try declared(name, .number)?.intValue }
}
