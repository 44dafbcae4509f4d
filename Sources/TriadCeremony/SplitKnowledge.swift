import TriadJournal

/// Split knowledge of the three recovery factors (docs/ceremony.md §3, rules 9 and 10).
///
/// Each factor — the escrow blob, the recovery card, the card's PIN — is presented by its own
/// custodian, never by the people who run the ceremony, and a step that combines factors runs
/// only while every person who presented one of them is in the room. "Split knowledge" in the
/// sense of NIST SP 800-57 Part 1 §8.1.5.2.2.1: each share goes to a different person, so no
/// one of them alone, and not the administrator, can use the key.
///
/// The same rules serve `ceremony lint` (on the script, before anyone is in the room) and the
/// engine (on the running ceremony, whatever lint said).
public enum SplitKnowledge {
    /// Roles that run the ceremony and may present no factor: the witness, and every role that
    /// acts a roll call (the ceremony administrator).
    public static func officiatingRoles(_ script: CeremonyScript, registry: ActionRegistry) -> Set<String> {
        var roles = Set(script.roles.filter(\.witness).map(\.id))
        for (_, step) in script.allSteps where registry.action(named: step.action)?.admitsParticipants == true {
            roles.insert(step.role)
        }
        return roles
    }

    /// Why `role` may not present `factor`, given who presented which factor so far; nil when it may.
    static func presentingProblem(role: String, factor: RecoveryFactor, presenters: [RecoveryFactor: String],
                                  officiating: Set<String>, script: CeremonyScript) -> String? {
        let title = script.role(role)?.title ?? role
        if officiating.contains(role) {
            return "role \(role) (\(title)) runs or witnesses the ceremony and may not present \(factor.displayName); each factor is presented by its own custodian"
        }
        if let (other, _) = presenters.first(where: { $0.value == role && $0.key != factor }) {
            return "role \(role) (\(title)) already presents \(other.displayName) and may not also present \(factor.displayName): one role, one factor"
        }
        return nil
    }

    /// Split-knowledge problems of `script` for `ceremony lint`, each naming the step and line.
    static func lint(_ script: CeremonyScript, registry: ActionRegistry) -> [String] {
        let officiating = officiatingRoles(script, registry: registry)
        var presenters: [RecoveryFactor: String] = [:]
        var problems: [String] = []
        for (_, step) in script.allSteps {
            guard let action = registry.action(named: step.action) else { continue }
            for factor in action.presents {
                if let problem = presentingProblem(role: step.role, factor: factor, presenters: presenters,
                                                   officiating: officiating, script: script) {
                    problems.append("step \(step.id) (line \(step.line)): \(problem)")
                }
                presenters[factor] = step.role
            }
        }
        return problems
    }
}

extension Engine {
    /// Split-knowledge refusals for `step` in the running ceremony (empty when it may run): a
    /// presenting step's role must be a custodian holding no other factor; a combining step
    /// needs every person who presented a factor present now — after a break, only those who
    /// came back and re-identified count.
    func splitKnowledgeProblems(_ step: Step, _ action: any CeremonyAction.Type) -> [String] {
        var problems: [String] = []
        let officiating = SplitKnowledge.officiatingRoles(script, registry: options.registry)
        for factor in action.presents {
            if let problem = SplitKnowledge.presentingProblem(role: step.role, factor: factor, presenters: presenters,
                                                              officiating: officiating, script: script) {
                problems.append(problem)
            }
        }
        for factor in action.combines {
            guard let role = presenters[factor] else { continue }  // the missing fact is reported already
            if !participants.isPresent(role) {
                let who = participants.person(for: role)?.display ?? role
                problems.append("\(who), who presented \(factor.displayName), is not present since the break; the factors can be combined only while everyone who presented one is in the room")
            }
        }
        return problems
    }
}
