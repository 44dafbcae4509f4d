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
        check(script, registry: registry, reading: .current)
    }

    /// The same checks with list arguments read as `reading` says: the verifier's replay asks
    /// whether a script lint refuses today passed as version 1 read it (`ArgumentReading`).
    static func check(_ script: CeremonyScript, registry: ActionRegistry, reading: ArgumentReading) -> [String] {
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
        let listParameters = Set(script.parameters.filter(\.list).map(\.name))
        let placeholders = Dictionary(script.parameters.map { p -> (String, ParameterValue) in
            (p.name, p.list ? .list(["${\(p.name)}"]) : .text("${\(p.name)}"))
        }, uniquingKeysWith: { first, _ in first })
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
                for problem in listReferenceProblems(in: step.arguments, lists: listParameters) { add(step, problem) }
                // The same decoding the engine does before the action runs, with each `${NAME}`
                // standing for a value of its parameter's shape (a text, or a list of one).
                let bound: BoundAction
                do { bound = try action.bind(Substitution.arguments(step.arguments, placeholders), reading: reading) } catch {
                    add(step, "\(error)")
                    continue
                }
                let admits = Set(bound.admittedRoles)
                for r in admits where !roleIDs.contains(r) { add(step, "roll call names undeclared role '\(r)'") }
                for r in [step.role] + step.confirm where roleIDs.contains(r) {
                    if !facts.contains("identified:\(r)") && !admits.contains(r) {
                        add(step, "role \(r) is not identified by any earlier identify-participants step")
                    }
                }
                for factor in action.combines where !facts.contains(factor.fact) {
                    add(step, "key action \(step.action) combines the \(factor.rawValue) factor, but no earlier step presents it")
                }
                let factorFacts = Set(action.combines.map(\.fact))
                for fact in bound.requiredFacts.filter({ !factorFacts.contains($0) }) + step.requires where !facts.contains(fact) {
                    add(step, "requires '\(fact)', which no earlier step produces")
                }
                facts.formUnion(bound.producedFacts)
            }
        }
        return problems + SplitKnowledge.lint(script, registry: registry) + Attestation.lint(script, registry: registry, reading: reading)
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

    /// A list parameter's `${NAME}` inside a longer text: it cannot stand for a list there.
    static func listReferenceProblems(in arguments: [String: CanonicalValue], lists: Set<String>) -> [String] {
        func problems(_ name: String, _ v: CanonicalValue) -> [String] {
            switch v {
            case .string(let s) where Substitution.wholeReference(s) == nil:
                return Substitution.references(in: s).filter(lists.contains).map {
                    "argument '\(name)': the list parameter ${\($0)} must be the whole value or a whole list item, not part of the text '\(s)'"
                }
            case .array(let items): return items.flatMap { problems(name, $0) }
            default: return []
            }
        }
        return arguments.keys.sorted().flatMap { problems($0, arguments[$0] ?? .null) }
    }
}
