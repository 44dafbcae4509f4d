import Foundation
import TriadJournal

/// The value of one script parameter (docs/ceremony.md §2, "Parameters"): a text, or — for
/// a parameter declared `list: true` — a list of texts, each one path or zone as typed, so a
/// folder named "Radiology Reports" needs no quoting.
///
/// BEGIN journals it as given: a text as a JSON string, a list as a JSON array of strings.
public enum ParameterValue: Equatable, Sendable, Codable, ExpressibleByStringLiteral, ExpressibleByArrayLiteral {
    /// A scalar parameter's value.
    case text(String)
    /// A list parameter's values, in the order given.
    case list([String])

    /// A text value (`["mode": "regrant"]` in code).
    public init(stringLiteral value: String) { self = .text(value) }
    /// A list value (`["paths": ["/srv/a", "/srv/b"]]` in code).
    public init(arrayLiteral elements: String...) { self = .list(elements) }

    /// The value as a step argument: a string or an array of strings.
    public var canonical: CanonicalValue {
        switch self {
        case .text(let s): return .string(s)
        case .list(let items): return .array(items.map { .string($0) })
        }
    }

    /// The text of a scalar value, or nil for a list.
    public var textValue: String? { if case .text(let s) = self { return s }; return nil }

    /// The value as one line of text, for the printed values table and messages.
    public var display: String {
        switch self {
        case .text(let s): return s
        case .list(let items) where items.isEmpty: return "none"
        case .list(let items): return items.map { $0.contains(" ") || $0.isEmpty ? "\"\($0)\"" : $0 }.joined(separator: ", ")
        }
    }

    /// Reads a JSON string or an array of strings.
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let items = try? container.decode([String].self) { self = .list(items) } else { self = .text(try container.decode(String.self)) }
    }

    /// Writes a JSON string or an array of strings.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .text(let s): try container.encode(s)
        case .list(let items): try container.encode(items)
        }
    }
}

extension ScriptParameter {
    /// The value a run uses when the operator gives none: the declared default, else an
    /// empty list for a list parameter, else nil.
    var implicitValue: ParameterValue? {
        defaultValue ?? (list ? .list([]) : nil)
    }
}

/// `--set NAME=VALUE` options turned into parameter values for a script: a list parameter
/// collects every `--set` of its name in order (an empty VALUE adds nothing, so `--set
/// zones=` gives the empty list); a scalar parameter takes exactly one.
public enum ParameterSettings {
    /// The values of `settings` (`NAME=VALUE` each) for `script`.
    /// - Throws: `CeremonyError.parameterUnknown` for a name the script does not declare,
    ///   `CeremonyError.parameterRepeated` for a scalar parameter set twice.
    public static func parse(_ settings: [String], for script: CeremonyScript) throws -> [String: ParameterValue] {
        var values: [String: ParameterValue] = [:]
        for setting in settings {
            let parts = setting.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            let name = parts[0], value = parts.count > 1 ? parts[1] : ""
            guard let declared = script.parameters.first(where: { $0.name == name }) else { throw CeremonyError.parameterUnknown(name: name) }
            if declared.list {
                guard case .list(let items)? = values[name] else { values[name] = .list(value.isEmpty ? [] : [value]); continue }
                values[name] = .list(value.isEmpty ? items : items + [value])
            } else {
                if values[name] != nil { throw CeremonyError.parameterRepeated(name: name) }
                values[name] = .text(value)
            }
        }
        return values
    }
}

/// `${NAME}` substitution of parameters into step arguments (docs/ceremony.md §2).
///
/// A list parameter yields a list where its `${NAME}` is a whole value (`paths: ${paths}`)
/// or a whole item of a YAML sequence (`paths: [${paths}, /srv/extra]`, spliced in); lint
/// refuses it inside a longer text, where it could only be joined into one string.
enum Substitution {
    /// The `${NAME}` references in `text`, in order.
    static func references(in text: String) -> [String] {
        var out: [String] = []
        var rest = Substring(text)
        while let start = rest.range(of: "${") {
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else { break }
            out.append(String(rest[start.upperBound..<end]))
            rest = rest[rest.index(after: end)...]
        }
        return out
    }

    /// The parameter `text` is exactly a reference to (`${NAME}` and nothing else), or nil.
    static func wholeReference(_ text: String) -> String? {
        guard text.hasPrefix("${"), text.hasSuffix("}"), text.count > 3 else { return nil }
        let name = String(text.dropFirst(2).dropLast())
        return name.contains("}") || name.contains("${") ? nil : name
    }

    /// `value` with every reference replaced by its parameter (an absent one by the empty text).
    static func apply(_ value: CanonicalValue, _ parameters: [String: ParameterValue]) -> CanonicalValue {
        switch value {
        case .string(let s):
            if let name = wholeReference(s), let list = parameters[name], case .list = list { return list.canonical }
            return .string(text(s, parameters))
        case .array(let items):
            return .array(items.flatMap { item -> [CanonicalValue] in
                if case .string(let s) = item, let name = wholeReference(s), case .list(let l)? = parameters[name] {
                    return l.map { .string($0) }
                }
                return [apply(item, parameters)]
            })
        default:
            return value
        }
    }

    /// `text` with its references replaced; a list (which lint refuses here) joins with spaces.
    private static func text(_ text: String, _ parameters: [String: ParameterValue]) -> String {
        var s = text
        for ref in references(in: text) {
            let replacement: String
            switch parameters[ref] {
            case .text(let t)?: replacement = t
            case .list(let l)?: replacement = l.joined(separator: " ")
            case nil: replacement = ""
            }
            s = s.replacingOccurrences(of: "${\(ref)}", with: replacement)
        }
        return s
    }

    /// `arguments` with every reference replaced, as the engine and verifier run them.
    static func arguments(_ arguments: [String: CanonicalValue], _ parameters: [String: ParameterValue]) -> StepArguments {
        StepArguments(arguments.mapValues { apply($0, parameters) })
    }
}

extension ParameterSettings {
    /// The values a run of `script` uses: `given` over the script's defaults (an unset list
    /// parameter is the empty list), every name declared, every required one present and
    /// each of the declared shape — what BEGIN records.
    /// - Throws: `CeremonyError.parameterUnknown`, `.parameterMissing` or `.parameterShape`.
    public static func resolve(_ script: CeremonyScript, _ given: [String: ParameterValue]) throws -> [String: ParameterValue] {
        for name in given.keys.sorted() where !script.parameters.contains(where: { $0.name == name }) {
            throw CeremonyError.parameterUnknown(name: name)
        }
        var values: [String: ParameterValue] = [:]
        for p in script.parameters {
            if let value = given[p.name] {
                if case .list = value, !p.list { throw CeremonyError.parameterShape(name: p.name, list: false) }
                if case .text = value, p.list { throw CeremonyError.parameterShape(name: p.name, list: true) }
                values[p.name] = value
            } else if p.required {
                throw CeremonyError.parameterMissing(name: p.name)
            } else if let value = p.implicitValue {
                values[p.name] = value
            }
        }
        return values
    }
}
