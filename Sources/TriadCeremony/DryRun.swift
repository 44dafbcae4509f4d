import TriadJournal

/// `ceremony run --dry-run`: what the run would show and do, step by step, with the
/// `--set` values substituted — and nothing journaled, asked or touched (docs/ceremony.md
/// §9, item 4, after Juicebox's `--dry-run`).
public enum DryRun {
    /// The dry run's text for `script` with `parameters` substituted; throws what lint or substitution refuses.
    public static func text(_ script: CeremonyScript, parameters: [String: String], registry: ActionRegistry = .standard) throws -> String {
        let problems = Lint.check(script, registry: registry)
        if !problems.isEmpty { throw CeremonyError.scriptInvalid(origin: script.origin, problems: problems) }
        var values: [String: String] = [:]
        for p in script.parameters { if let d = p.defaultValue { values[p.name] = d } }
        values.merge(parameters) { $1 }
        let declared = Set(script.parameters.map(\.name))
        for name in parameters.keys where !declared.contains(name) { throw CeremonyError.parameterUnknown(name: name) }
        for p in script.parameters where p.required && values[p.name] == nil { throw CeremonyError.parameterMissing(name: p.name) }
        var out = [StepCard.header(script, ceremonyID: "(dry run: none, nothing is journaled)", practice: false, mode: "dry run")]
        for (index, act) in script.acts.enumerated() {
            out.append(StepCard.actBanner(act, number: index + 1, of: script.acts.count))
            for step in act.steps {
                guard let action = registry.action(named: step.action) else { continue }
                out.append(StepCard.card(script, act, step, action: action, participants: Participants()))
                let arguments = step.arguments.mapValues { Substitution.apply($0, values) }
                for key in arguments.keys.sorted() {
                    out.append("  Argument:   \(key) = \(arguments[key]!.canonicalText)")
                }
                let needs = action.allRequiredFacts(StepArguments(arguments)) + step.requires + step.after.map { "step \($0) completed" }
                if !needs.isEmpty { out.append("  Runs only if: \(needs.joined(separator: ", "))") }
                let produces = action.allProducedFacts(StepArguments(arguments))
                if !produces.isEmpty { out.append("  Establishes: \(produces.joined(separator: ", "))") }
            }
            out.append("  [end of act \(index + 1): the tool prints the journal head as words to write down]")
        }
        out.append("\n[CLOSED: the tool prints the final entry's words, writes the transcript and the summary]")
        return out.joined(separator: "\n") + "\n"
    }
}
