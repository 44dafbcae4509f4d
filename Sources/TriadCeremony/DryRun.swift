import Foundation
import TriadJournal
import TriadPCSC

/// `ceremony run --dry-run`: what the run would show and do, step by step, with the
/// `--set` values substituted — and nothing journaled, asked or touched (docs/ceremony.md
/// §9, item 4, after Juicebox's `--dry-run`).
public enum DryRun {
    /// The dry run's text for `script` with `parameters` substituted; throws what lint or substitution refuses.
    public static func text(_ script: CeremonyScript, parameters: [String: ParameterValue], registry: ActionRegistry = .standard) throws -> String {
        try run(script, parameters: parameters, registry: registry, readers: nil).text
    }

    /// The dry run and what it found missing: every argument an action reads from a file must
    /// name an existing file, and every reader must be connected to pcscd (`ParameterSpec.Check`).
    /// - Parameter readers: the readers to check against; nil asks pcscd.
    public static func run(_ script: CeremonyScript, parameters: [String: ParameterValue], registry: ActionRegistry = .standard,
                           readers: [String]?) throws -> (text: String, problems: [String]) {
        var problems: [String] = []
        var connected = readers
        var readerProblem: String?
        if readers == nil {
            do { connected = try PCSCContext().readers() } catch { readerProblem = "the smartcard service (pcscd) cannot be reached: \(error)" }
        }
        let lint = Lint.check(script, registry: registry)
        if !lint.isEmpty { throw CeremonyError.scriptInvalid(origin: script.origin, problems: lint) }
        let values = try ParameterSettings.resolve(script, parameters)
        var out = [StepCard.header(script, ceremonyID: "(dry run: none, nothing is journaled)", practice: false, mode: "dry run")]
        for (index, act) in script.acts.enumerated() {
            out.append(StepCard.actBanner(act, number: index + 1, of: script.acts.count))
            for step in act.steps {
                guard let action = registry.action(named: step.action) else { continue }
                out.append(StepCard.card(script, act, step, action: action, participants: Participants()))
                let arguments = Substitution.arguments(step.arguments, values).values
                for (key, value) in arguments.sorted(by: { $0.key < $1.key }) {
                    out.append("  Argument:   \(key) = \(value.canonicalText)")
                }
                for spec in action.parameters {
                    guard let check = spec.check, let value = arguments[spec.name]?.stringValue, !value.isEmpty else { continue }
                    var problem: String?
                    switch check {
                    case .existingFile:
                        if !FileManager.default.fileExists(atPath: value) { problem = "file \(value) (\(spec.name)) does not exist" }
                    case .reader:
                        if let readerProblem { problem = "reader \(value): \(readerProblem)" }
                        else if !(connected ?? []).contains(where: { $0.contains(value) }) {
                            problem = "no reader matching \"\(value)\" (\(spec.name)); connected: \((connected ?? []).joined(separator: ", "))"
                        }
                    }
                    if let problem {
                        out.append("  Check:      ✗ \(problem)")
                        problems.append("step \(step.id): \(problem)")
                    } else {
                        out.append("  Check:      ✓ \(spec.name) \(value) is \(check.rawValue)")
                    }
                }
                let bound: BoundAction
                do { bound = try action.bind(StepArguments(arguments)) } catch {
                    out.append("  Check:      ✗ \(error)")
                    problems.append("step \(step.id): \(error)")
                    continue
                }
                let needs = bound.requiredFacts + step.requires + step.after.map { "step \($0) completed" }
                if !needs.isEmpty { out.append("  Runs only if: \(needs.joined(separator: ", "))") }
                let produces = bound.producedFacts
                if !produces.isEmpty { out.append("  Establishes: \(produces.joined(separator: ", "))") }
            }
            out.append("  [end of act \(index + 1): the tool prints the journal head as words to write down]")
        }
        out.append("\n[CLOSED: the tool prints the final entry's words, writes the transcript and the summary]")
        if !problems.isEmpty { out.append("\nNOT READY: \(problems.count) problem(s) above (✗); fix them before the ceremony.") }
        return (out.joined(separator: "\n") + "\n", problems)
    }
}
