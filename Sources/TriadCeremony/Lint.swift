import Foundation
import TriadJournal

/// Static checks of a script before it may be shown as valid or run (`ceremony lint`).
///
/// Like Juicebox's state model (docs/ceremony.md §2, "What `ceremony lint` rejects") the script is replayed on
/// paper: every fact a step requires must be produced by an earlier step, every role that
/// acts or confirms must have been identified earlier, and a key action must find each
/// recovery factor it combines presented by an earlier step. The engine re-checks all of
/// it at run time; lint catches a bad script before anyone is in the room.
public enum Lint {
    /// Problems of `script`, each naming the step and line; empty when the script is sound.
    public static func check(_ script: CeremonyScript, registry: ActionRegistry = .standard) -> [String] {
        var problems: [String] = []
        func add(_ step: Step?, _ message: String) {
            problems.append(step.map { "step \($0.id) (line \($0.line)): \(message)" } ?? message)
        }
        if script.name.range(of: "^[a-z0-9][a-z0-9-]*$", options: .regularExpression) == nil {
            add(nil, "name '\(script.name)' must be lowercase letters, digits and dashes")
        }
        if script.version < 1 { add(nil, "version must be 1 or more") }
        let roleIDs = Set(script.roles.map(\.id))
        let witnesses = script.roles.filter(\.witness)
        if witnesses.count != 1 { add(nil, "exactly one role must be the witness (witness: true); found \(witnesses.count)") }
        if script.acts.isEmpty { add(nil, "the script has no acts") }
        var seenActs = Set<String>(), seenSteps = Set<String>()
        var facts = Set<String>()
        let parameterNames = Set(script.parameters.map(\.name))
        for act in script.acts {
            if !seenActs.insert(act.id).inserted { add(nil, "act id \(act.id) is used twice") }
            if act.steps.isEmpty { add(nil, "act \(act.id) has no steps") }
            for step in act.steps {
                if !seenSteps.insert(step.id).inserted { add(step, "step id is used twice") }
                if step.id.range(of: "^[a-z0-9][a-z0-9-]*$", options: .regularExpression) == nil {
                    add(step, "step id must be lowercase letters, digits and dashes")
                }
                if !roleIDs.contains(step.role) { add(step, "role '\(step.role)' is not declared under roles") }
                for r in step.confirm where !roleIDs.contains(r) { add(step, "confirming role '\(r)' is not declared under roles") }
                if step.confirm.contains(step.role) { add(step, "the acting role \(step.role) cannot also confirm its own step") }
                for a in step.after where !seenSteps.contains(a) || a == step.id {
                    add(step, "after: '\(a)' is not an earlier step")
                }
                for ref in references(in: step.arguments) where !parameterNames.contains(ref) {
                    add(step, "${\(ref)} is not a declared parameter")
                }
                guard let action = registry.action(named: step.action) else {
                    add(step, "unknown action '\(step.action)'; known: \(registry.names.joined(separator: ", "))")
                    continue
                }
                let specs = Dictionary(uniqueKeysWithValues: action.parameters.map { ($0.name, $0) })
                for (name, value) in step.arguments {
                    guard let spec = specs[name] else { add(step, "action \(step.action) takes no argument '\(name)'"); continue }
                    if !fits(value, spec.kind) { add(step, "argument '\(name)' must be \(spec.kind.rawValue)") }
                }
                for spec in action.parameters where spec.required && step.arguments[spec.name] == nil {
                    add(step, "action \(step.action) needs the argument '\(spec.name)' (\(spec.description))")
                }
                let args = StepArguments(step.arguments)
                let admits = action.admitsParticipants ? Set(args.textList("roles")) : []
                for r in admits where !roleIDs.contains(r) { add(step, "roll call names undeclared role '\(r)'") }
                for r in [step.role] + step.confirm where roleIDs.contains(r) {
                    if !facts.contains("identified:\(r)") && !admits.contains(r) {
                        add(step, "role \(r) is not identified by any earlier identify-participants step")
                    }
                }
                for factor in action.combines where !facts.contains(factor.fact) {
                    add(step, "key action \(step.action) combines the \(factor.rawValue) factor, but no earlier step presents it")
                }
                for fact in action.requires(args) + step.requires where !facts.contains(fact) {
                    add(step, "requires '\(fact)', which no earlier step produces")
                }
                facts.formUnion(action.allProducedFacts(args))
            }
        }
        return problems + SplitKnowledge.lint(script, registry: registry) + Attestation.lint(script, registry: registry)
    }

    /// `${KEY}` references in argument values.
    static func references(in arguments: [String: CanonicalValue]) -> [String] {
        func refs(_ v: CanonicalValue) -> [String] {
            switch v {
            case .string(let s): return Substitution.references(in: s)
            case .array(let a): return a.flatMap(refs)
            default: return []
            }
        }
        return arguments.values.flatMap(refs)
    }

    static func fits(_ value: CanonicalValue, _ kind: ParameterSpec.Kind) -> Bool {
        switch (kind, value) {
        case (.text, .string), (.text, .int), (.number, .int), (.flag, .bool), (.textList, .string): return true
        case (.textList, .array(let items)): return items.allSatisfy { $0.stringValue != nil }
        default: return false
        }
    }
}

/// `${KEY}` substitution of `--set` parameters into step arguments.
enum Substitution {
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

    static func apply(_ value: CanonicalValue, _ parameters: [String: String]) -> CanonicalValue {
        switch value {
        case .string(var s):
            for ref in references(in: s) { s = s.replacingOccurrences(of: "${\(ref)}", with: parameters[ref] ?? "") }
            return .string(s)
        case .array(let a): return .array(a.map { apply($0, parameters) })
        default: return value
        }
    }
}
