import Foundation
import TriadJournal

/// One step: the go/pause/exception/abort choice, the precondition checks, the action, the
/// confirmations, and what happens when something deviates from the script.
extension Engine {
    func runStep(_ act: Act, _ step: Step) throws {
        position = (act.id, step.id, step.role)
        guard let action = options.registry.action(named: step.action) else {
            throw Stop.refused(step: step.id, reason: "unknown action \(step.action)")
        }
        let arguments = Substitution.arguments(step.arguments, parameters)
        var attempt = 0
        while true {
            // At the terminal a first Ctrl-C is answered at the next prompt (TerminalPrompter).
            if Interruption.final || (Interruption.requested && prompter.mode != .interactive) { throw Stop.aborted(step: step.id, reason: CeremonyError.interrupted.description) }
            prompter.show(StepCard.card(script, act, step, action: action, participants: participants))
            let choice = try prompter.ask(key: "\(step.id).go", question: "[Enter] run this step · pause · exception · abort",
                                          defaultAnswer: "go").lowercased()
            switch choice {
            case "go", "g", "run":
                break
            case "pause", "p":
                try pause(step); continue
            case "abort", "a":
                let reason = try prompter.ask(key: "\(step.id).abort-reason", question: "Reason for aborting", defaultAnswer: nil)
                throw Stop.aborted(step: step.id, reason: "aborted by the participants: \(reason)")
            case "exception", "x":
                let decision = try exception(step, happened: nil, choices: ["continue", "skip"])
                if decision == "skip" { counts.skipped += 1; return }
            default:
                if prompter.mode != .interactive { throw Stop.aborted(step: step.id, reason: "answer '\(choice)' to \(step.id).go is not go, pause, exception or abort") }
                prompter.show("Type Enter, pause, exception or abort."); continue
            }
            let bound = try bind(step, action, arguments)
            try checkPreconditions(step, action, bound)
            if attempt > 0 && action.admitsParticipants {
                // A roll call run again after a witnessed retry fills its roles anew (a misspelt name).
                for role in bound.admittedRoles where !facts.contains("identified:\(role)") { participants.remove(role) }
            }
            attempt += 1
            try append(StepStartPayload(action: step.action, title: step.title, say: step.say,
                                        arguments: arguments.values, attempt: Int64(attempt)))
            var context = try makeContext(act, step)
            do {
                let outcome = try bound.run(&context)
                participants = context.participants
                discardOnAbort += context.discardOnAbort
                stampAtClose += context.stampAtClose
                try confirmations(step)
                let produced = bound.producedFacts + outcome.facts
                facts.formUnion(produced)
                for factor in action.presents { presenters[factor] = step.role }
                completed.insert(step.id)
                counts.done += 1
                position.role = step.role
                try append(StepDonePayload(action: step.action, result: outcome.payload, facts: produced.sorted()))
                return
            } catch let error as CeremonyError {
                switch error {
                case .samePersonTwoRoles, .roleAlreadyFilled, .invalidParticipant:
                    position.role = step.role
                    try append(RefusedPayload(reason: error.description))
                    prompter.show("✗ REFUSED: step \(step.id): \(error.description)")
                    throw Stop.refused(step: step.id, reason: error.description)
                default:
                    throw error
                }
            } catch let error as JournalError {
                throw error
            } catch let stop as Stop {
                throw stop
            } catch {
                // An ActionError, or any error of a lower layer (a wrong PIN, a bad blob):
                // a deviation the participants handle with an exception, or abort.
                let message = (error as? ActionError)?.message ?? String(describing: error)
                participants = context.participants
                discardOnAbort += context.discardOnAbort
                stampAtClose += context.stampAtClose
                position.role = step.role
                try append(StepFailedPayload(error: message))
                prompter.show("✗ Step \(step.id) did not succeed: \(message)")
                // A fatal failure (a wrong or missing recovery factor) allows no exception.
                if (error as? ActionError)?.fatal == true { throw Stop.aborted(step: step.id, reason: message) }
                let grant = (error as? ActionError)?.grantable
                let decision = try exception(step, happened: message, choices: ["retry", "skip"] + (grant.map { [$0] } ?? []))
                if decision == "skip" { counts.skipped += 1; return }
            }
        }
    }

    /// The step's arguments decoded into its action's `Arguments`, whatever lint said (it may
    /// have been skipped, and a `${NAME}` may have been set empty): an argument that does not
    /// fit is REFUSED, naming the step and the argument, and nothing of the action runs.
    private func bind(_ step: Step, _ action: any CeremonyAction.Type, _ arguments: StepArguments) throws -> BoundAction {
        do {
            return try action.bind(arguments)
        } catch {
            let reason = "\(error)"
            try append(RefusedPayload(reason: reason))
            prompter.show("✗ REFUSED: step \(step.id): \(reason)")
            throw Stop.refused(step: step.id, reason: reason)
        }
    }

    /// Role presence, `after` steps and required facts, re-checked at run time whatever
    /// lint said; a failure is REFUSED and ends the ceremony (docs/ceremony.md §3 rule 2).
    private func checkPreconditions(_ step: Step, _ action: any CeremonyAction.Type, _ bound: BoundAction) throws {
        let admits = Set(bound.admittedRoles)
        var problems: [String] = []
        for role in [step.role] + step.confirm where !admits.contains(role) && !participants.isPresent(role) {
            let title = script.role(role)?.title ?? role
            problems.append(participants.person(for: role) == nil
                ? "role \(role) (\(title)) has not been filled" : "role \(role) (\(title)) is not present since the break")
        }
        for earlier in step.after where !completed.contains(earlier) {
            problems.append("step \(earlier) has not been completed")
        }
        for fact in bound.requiredFacts + step.requires where !facts.contains(fact) {
            problems.append("precondition '\(fact)' does not hold")
        }
        problems += splitKnowledgeProblems(step, action)
        guard problems.isEmpty else {
            let reason = problems.joined(separator: "; ")
            try append(RefusedPayload(reason: reason))
            prompter.show("✗ REFUSED: step \(step.id): \(reason)")
            throw Stop.refused(step: step.id, reason: reason)
        }
    }

    private func makeContext(_ act: Act, _ step: Step) throws -> ActionContext {
        var context = ActionContext(
            ceremonyID: ceremonyID, nonce: nonce, beginHash: beginHash, practice: options.practice, act: act, step: step,
            parameters: parameters, participants: participants,
            roleTitles: Dictionary(uniqueKeysWithValues: script.roles.map { ($0.id, $0.title) }),
            secrets: secrets, facts: facts, secretInput: SecretInput(pinFD: options.pinFD),
            outputDirectory: options.outputDirectory, prompter: prompter,
            append: { [unowned self] event, role, payload in
                try self.journal.append(ceremony: self.ceremonyID, act: act.id, step: step.id, role: role, event: event, payload: payload)
            },
            head: head!)
        try prepareAttestation(&context)
        return context
    }

    /// Each confirming role initials the step; "no" with a reason is journaled as a
    /// disagreement and handled as a deviation (docs/ceremony.md §3 rule 6).
    private func confirmations(_ step: Step) throws {
        for role in step.confirm {
            let person = participants.person(for: role)?.display ?? role
            let title = script.role(role)?.title ?? role
            let answer = try yesNo("\(step.id).confirm.\(role)", "\(person), \(title): do you confirm step \(step.id) was done as read?")
            if answer {
                try append(ConfirmPayload(agreed: true, name: person), role: role)
            } else {
                let reason = try prompter.ask(key: "\(step.id).confirm.\(role).reason", question: "\(person): why not?", defaultAnswer: nil)
                try append(ConfirmPayload(agreed: false, name: person, reason: reason), role: role)
                throw ActionError("\(title) \(person) does not agree: \(reason)")
            }
        }
    }

    /// A structured exception (docs/ceremony.md §3 rule 5): expected, happened, decision, confirmed by
    /// the witness before the ceremony goes on. Returns the chosen continuation.
    func exception(_ step: Step, happened failure: String?, choices: [String]) throws -> String {
        let options = choices + ["abort"]
        var choice = ""
        while !options.contains(choice) {
            choice = try prompter.ask(key: "\(step.id).exception.choice", question: "Deviation at step \(step.id). Type \(options.joined(separator: ", "))",
                                      defaultAnswer: nil).lowercased()
            if !options.contains(choice) && prompter.mode != .interactive {
                throw Stop.aborted(step: step.id, reason: "answer '\(choice)' is not one of \(options.joined(separator: ", "))")
            }
        }
        if choice == "abort" {
            let reason = try prompter.ask(key: "\(step.id).abort-reason", question: "Reason for aborting", defaultAnswer: failure)
            throw Stop.aborted(step: step.id, reason: reason)
        }
        guard let witnessRole = script.witnessRole, participants.isPresent(witnessRole.id),
              let witness = participants.person(for: witnessRole.id) else {
            throw Stop.aborted(step: step.id, reason: "a deviation needs the witness present to confirm an exception; none is")
        }
        prompter.show("EXCEPTION RECORD — step \(step.id) (write it on the exception sheet too)")
        let expected = try prompter.ask(key: "\(step.id).exception.expected", question: "What was expected?", defaultAnswer: step.say)
        let happened = try prompter.ask(key: "\(step.id).exception.happened", question: "What happened instead?", defaultAnswer: failure)
        let decision = try prompter.ask(key: "\(step.id).exception.decision", question: "What was decided, and why?", defaultAnswer: nil)
        guard try yesNo("\(step.id).exception.witness", "\(witness.display), \(witnessRole.title): do you confirm this exception record?") else {
            throw Stop.aborted(step: step.id, reason: "the witness did not confirm the exception record")
        }
        position.role = witnessRole.id
        // A granted permission (e.g. the last PIN try) is a retry that the witness allowed more for.
        let grant = ["retry", "skip", "continue"].contains(choice) ? nil : choice
        try append(ExceptionPayload(expected: expected, happened: happened, decision: decision, next: grant == nil ? choice : "retry",
                                    witness: witness.display, grants: grant), role: witnessRole.id)
        position.role = step.role
        counts.exceptions += 1
        if let grant { facts.insert("granted:\(grant)"); return "retry" }
        return choice
    }

    /// A break: PAUSE, wait, then everyone present is asked again before RESUME
    /// (docs/ceremony.md §3 rule 7). A role whose person does not return is absent from then on,
    /// and any later step needing it is refused.
    private func pause(_ step: Step) throws {
        let reason = try prompter.ask(key: "\(step.id).pause.reason", question: "Reason for the break", defaultAnswer: "break")
        try append(PausePayload(reason: reason))
        prompter.show("PAUSED. Secrets stay only in this process's memory. Type resume when everyone is back.")
        while try prompter.ask(key: "\(step.id).resume", question: "Type resume", defaultAnswer: nil).lowercased() != "resume" {
            if prompter.mode != .interactive { throw Stop.aborted(step: step.id, reason: "the break did not end with resume") }
        }
        var present: [String] = [], absent: [String] = []
        for role in script.roles where participants.isPresent(role.id) {
            let person = participants.person(for: role.id)!
            if try yesNo("\(step.id).resume.\(role.id)", "Is \(person.display) (\(role.title)) back in the room?"),
               try reidentify(step, role, person) {
                present.append(role.id)
            } else {
                participants.markAbsent(role.id); absent.append(role.id)
            }
        }
        try append(ResumePayload(present: present, absent: absent))
    }

    /// Re-identification after a break (docs/ceremony.md §3 rule 7): the returning person types their
    /// staff number again; one that does not match the roll call leaves the role absent.
    private func reidentify(_ step: Step, _ role: RoleSpec, _ person: Person) throws -> Bool {
        let typed = try prompter.ask(key: "\(step.id).resume.\(role.id).id",
                                     question: "\(person.name) (\(role.title)): type your staff or badge number again", defaultAnswer: nil)
        if Person(name: person.name, staffID: typed).idKey == person.idKey { return true }
        prompter.show("✗ \(typed) is not the staff number given at the roll call for \(role.title); \(person.name) counts as absent.")
        return false
    }

    func yesNo(_ key: String, _ question: String) throws -> Bool {
        while true {
            let a = try prompter.ask(key: key, question: "\(question) (yes/no)", defaultAnswer: nil).lowercased()
            if ["yes", "y"].contains(a) { return true }
            if ["no", "n"].contains(a) { return false }
            if prompter.mode != .interactive { throw Stop.aborted(step: position.step, reason: "answer to \(key) must be yes or no, not '\(a)'") }
            prompter.show("Please answer yes or no.")
        }
    }
}
