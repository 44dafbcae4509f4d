import Foundation
import TriadCrypto
import TriadJournal

/// Replays a chain-valid transcript against its script (docs/ceremony.md §8, "order against
/// the script"): the offline twin of the engine's run-time checks.
///
/// The hash chain shows a transcript was not changed after the fact *unless the whole tail
/// was recomputed*; this replay shows that what it records is a run the engine could have
/// made — steps in order, roles present, one person per role, preconditions true,
/// confirmations given, deviations covered by witnessed exceptions.
enum Conformance {
    static func check(_ entries: [JournalEntry], pinnedScript: CeremonyScript?, registry: ActionRegistry) throws -> VerifyReport {
        var r = Replay(entries: entries, registry: registry)
        try r.begin(pinnedScript)
        try r.run()
        try r.checkAborted()
        return r.report
    }
}

private struct Replay {
    let entries: [JournalEntry]
    let registry: ActionRegistry
    var k = 1
    var script: CeremonyScript!
    var participants = Participants()
    var facts = Set<String>()
    var completed = Set<String>()
    /// The `--set` values of BEGIN (defaults included), substituted into step arguments.
    var parameters: [String: ParameterValue] = [:]
    /// The role that presented each recovery factor (docs/ceremony.md §3 rule 9).
    var presenters: [RecoveryFactor: String] = [:]
    /// How the script's list arguments are read: as today, or as version 1 read a text.
    var reading = ArgumentReading.current
    /// What CLOSED must count: steps done, steps skipped, exceptions.
    var counts = (done: 0, skipped: 0, exceptions: 0)
    var report = VerifyReport()

    init(entries: [JournalEntry], registry: ActionRegistry) { self.entries = entries; self.registry = registry }

    func fail(_ n: Int, _ m: String) -> VerifyFailure { VerifyFailure(entry: n, message: m) }

    /// Entry `e`'s typed payload; a missing or mistyped member fails at that entry.
    func payload<P: EventPayload>(_ type: P.Type, _ e: JournalEntry) throws -> P {
        do { return try P(e) } catch JournalError.malformedPayload(let seq, let event, let problem) {
            throw fail(Int(seq), "the \(event) payload \(problem)")
        }
    }

    mutating func begin(_ pinned: CeremonyScript?) throws {
        let b = entries[0]
        // The script first, through BEGIN's own `script` member, so that what a wrong script
        // or a failing lint says comes before any other member of BEGIN is read.
        guard let embedded = try? (b.payload["script"] ?? .null).decode(as: BeginPayload.Script.self) else {
            throw fail(1, "BEGIN does not carry the script text and SHA-256")
        }
        let text = embedded.text, sha = embedded.sha256
        if Hex.encode(SHA256.hash(Array(text.utf8))) != sha { throw fail(1, "the embedded script does not match its SHA-256") }
        if let pinned, pinned.sha256 != sha {
            throw fail(1, "the ceremony ran script SHA-256 \(sha), not the given script's \(pinned.sha256)")
        }
        do { script = try ScriptCache.parse(text, sha256: sha) } catch { throw fail(1, "\(error)") }
        // The engine refuses to run a script that fails lint, so a transcript of one was not
        // made by the engine (docs/ceremony.md §8) — unless the script is one a version of the
        // tool before list arguments ran, which the version-1 reading accepts.
        let problems = Lint.check(script, registry: registry)
        if let first = problems.first {
            guard Lint.check(script, registry: registry, reading: .version1).isEmpty else {
                throw fail(1, "the script in entry 1 fails lint (\(problems.count) problem(s), first: \(first)); the tool never runs such a script")
            }
            reading = .version1
            report.readAsVersion1 = true
        }
        let begin = try beginPayload(b)
        parameters = try beginParameters(begin)
        if embedded.name != script.name || embedded.version != Int64(script.version) {
            throw fail(1, "BEGIN names a different script name or version than the embedded text")
        }
        guard begin.ceremonyID == b.ceremony else { throw fail(1, "ceremony_id differs from the entry's ceremony") }
        guard let mode = PrompterMode(rawValue: begin.mode) else { throw fail(1, "BEGIN's mode '\(begin.mode)' is neither interactive nor unattended") }
        if begin.practice != b.ceremony.hasPrefix("PRACTICE-") { throw fail(1, "practice flag and ceremony id disagree") }
        report.ceremonyID = b.ceremony; report.scriptName = script.name; report.scriptVersion = script.version
        report.scriptSHA256 = sha; report.practice = begin.practice; report.mode = mode
        report.entries = entries.count; report.started = b.time; report.ended = entries.last!.time
        report.terminal = entries.last!.event
        report.terminalReason = entries.last.flatMap { try? AbortedPayload($0) }?.reason ?? ""
    }

    /// BEGIN as the engine wrote it (`BeginPayload`); a member missing or of the wrong kind
    /// fails entry 1, named as the verifier always named it.
    func beginPayload(_ b: JournalEntry) throws -> BeginPayload {
        do { return try b.payload.decode(as: BeginPayload.self) } catch {
            let path = (error as? DecodingError)?.memberPath ?? []
            switch path.first {
            case "script"?: throw fail(1, "BEGIN does not carry the script text and SHA-256")
            case "practice"?, "mode"?: throw fail(1, "BEGIN lacks practice or mode")
            case "ceremony_id"?: throw fail(1, "ceremony_id differs from the entry's ceremony")
            case "nonce"?: throw fail(1, "BEGIN lacks the ceremony nonce (32 hex digits)")
            case "parameters"? where path.count > 1:
                let name = path[1]
                guard let declared = script.parameters.first(where: { $0.name == name }) else {
                    throw fail(1, "BEGIN sets parameter \(name), which the script does not declare")
                }
                throw fail(1, declared.list ? "BEGIN parameter \(name) is not a list of text" : "BEGIN parameter \(name) is not text")
            case "parameters"?: throw fail(1, "BEGIN lacks the parameters object")
            default: throw fail(1, "the BEGIN payload \(StepDonePayload.problem(error))")
            }
        }
    }

    /// BEGIN's `parameters`: only declared names, every required one, every default, a text
    /// for a scalar and a list of texts for a `list: true` parameter — exactly what the engine
    /// records (docs/ceremony.md §7, BEGIN).
    func beginParameters(_ begin: BeginPayload) throws -> [String: ParameterValue] {
        for (name, value) in begin.parameters.sorted(by: { $0.key < $1.key }) {
            guard let declared = script.parameters.first(where: { $0.name == name }) else { throw fail(1, "BEGIN sets parameter \(name), which the script does not declare") }
            switch (declared.list, value) {
            case (true, .text): throw fail(1, "BEGIN parameter \(name) is not a list of text")
            case (false, .list): throw fail(1, "BEGIN parameter \(name) is not text")
            default: break
            }
        }
        for p in script.parameters where begin.parameters[p.name] == nil && (p.required || p.implicitValue != nil) {
            throw fail(1, "BEGIN lacks parameter \(p.name), which the engine always records")
        }
        guard begin.nonce.count == 32, Hex.decode(begin.nonce) != nil else {
            throw fail(1, "BEGIN lacks the ceremony nonce (32 hex digits)")
        }
        return begin.parameters
    }

    /// An ABORTED entry names the step it stopped at in both its `step` field and `at_step`.
    func checkAborted() throws {
        guard let last = entries.last, last.event == EventType.aborted else { return }
        guard let aborted = try? AbortedPayload(last), !aborted.reason.isEmpty, aborted.atStep == last.step else {
            throw fail(entries.count, "ABORTED must give its reason and name the step it stopped at (at_step = its step)")
        }
    }

    var peek: JournalEntry? { k < entries.count ? entries[k] : nil }
    var abortedHere: Bool { peek?.event == EventType.aborted }

    mutating func next(_ expecting: String) throws -> JournalEntry {
        guard let e = peek else { throw fail(k + 1, "missing: expected \(expecting)") }
        k += 1
        return e
    }

    mutating func run() throws {
        for act in script.acts {
            if abortedHere { return }
            let s = try next("ACT_START of act \(act.id)")
            guard s.event == EventType.actStart, s.act == act.id, s.step.isEmpty else {
                throw fail(k, "\(s.event) \(s.act)/\(s.step) where the script expects the start of act \(act.id)")
            }
            for step in act.steps {
                if try !replay(act, step) { return }
            }
            if abortedHere { return }
            let e = try next("ACT_END of act \(act.id)")
            guard e.event == EventType.actEnd, e.act == act.id, e.step.isEmpty else {
                throw fail(k, "\(e.event) \(e.act)/\(e.step) where the script expects the end of act \(act.id)")
            }
        }
        let c = try next(EventType.closed.rawValue)
        guard c.event == EventType.closed else { throw fail(k, "\(c.event) where the script expects CLOSED") }
        let closed = try payload(ClosedPayload.self, c)
        guard c.act.isEmpty, c.step.isEmpty, closed.stepsCompleted == Int64(counts.done),
              closed.stepsSkipped == Int64(counts.skipped), closed.exceptions == Int64(counts.exceptions) else {
            throw fail(k, "CLOSED does not count what the transcript shows: \(counts.done) steps done, \(counts.skipped) skipped, \(counts.exceptions) exceptions")
        }
    }

    /// Replays one step; false when the ceremony was aborted during it.
    mutating func replay(_ act: Act, _ step: Step) throws -> Bool {
        let action = registry.action(named: step.action)
        let arguments = Substitution.arguments(step.arguments, parameters)
        var attempts = 0
        while true {
            if abortedHere { return false }
            let e = try next("step \(step.id)")
            guard e.act == act.id, e.step == step.id else {
                throw fail(k, "\(e.event) is for \(e.act)/\(e.step) but the script's next step is \(act.id)/\(step.id)")
            }
            switch e.event {
            case EventType.pause:
                let r = try next(EventType.resume.rawValue)
                if r.event == EventType.aborted { return false }
                guard r.event == EventType.resume, r.step == step.id else { throw fail(k, "a PAUSE must be followed by RESUME") }
                for role in try payload(ResumePayload.self, r).absent { participants.markAbsent(role) }
            case EventType.exception:
                let choice = try exception(e, k)
                if choice == "skip" { counts.skipped += 1; return true }
                guard choice == "continue" else { throw fail(k, "an exception before a step may continue or skip, not \(choice)") }
            case EventType.refused:
                guard abortedHere else { throw fail(k + 1, "a REFUSED step must be followed by ABORTED") }
                return false
            case EventType.stepStart:
                attempts += 1
                if let finished = try attempt(e, act, step, action, arguments, number: attempts) { return finished }
            default:
                throw fail(k, "\(e.event) where step \(step.id) should start")
            }
        }
    }

    /// One attempt from STEP_START; true/false to leave the step (done or skipped / aborted),
    /// nil to retry.
    mutating func attempt(_ start: JournalEntry, _ act: Act, _ step: Step, _ action: (any CeremonyAction.Type)?,
                          _ arguments: StepArguments, number: Int) throws -> Bool? {
        let startIndex = k
        let started = try? StepStartPayload(start)
        guard start.role == step.role, started?.action == step.action else {
            throw fail(k, "STEP_START of \(step.id) names role \(start.role) and action \(started?.action ?? "?"), the script \(step.role) and \(step.action)")
        }
        // What ran is what the script and BEGIN's parameters say, word for word: a changed
        // mode, path or prompt is refused even when the chain was recomputed.
        let expected = CanonicalValue.object(try StepStartPayload(action: step.action, title: step.title, say: step.say,
                                                                  arguments: arguments.values, attempt: Int64(number)).members())
        if start.payload != expected {
            let differing = ["action", "title", "say", "arguments", "attempt"].filter { start.payload[$0] != expected[$0] }
            throw fail(k, "STEP_START of \(step.id) differs from the script and BEGIN's parameters in: \(differing.isEmpty ? "extra fields" : differing.joined(separator: ", "))")
        }
        // The engine runs no step whose arguments do not decode; nor may the transcript show one.
        var bound: BoundAction?
        if let action {
            do { bound = try action.bind(arguments, reading: reading) } catch {
                throw fail(startIndex, "step \(step.id) ran although its arguments do not fit action \(step.action): \(error)")
            }
        }
        let admits = Set(bound?.admittedRoles ?? [])
        // A roll call run again (witnessed retry) fills its roles anew, as the engine does.
        for role in admits where !facts.contains("identified:\(role)") { participants.remove(role) }
        for role in [step.role] + step.confirm where !admits.contains(role) && !participants.isPresent(role) {
            throw fail(startIndex, "step \(step.id) ran although role \(role) was not present")
        }
        for earlier in step.after where !completed.contains(earlier) {
            throw fail(startIndex, "step \(step.id) ran although step \(earlier) was not completed")
        }
        // Split knowledge: whoever presented a factor is in the room when it is combined.
        for factor in action?.combines ?? [] {
            if let role = presenters[factor], !participants.isPresent(role) {
                throw fail(startIndex, "step \(step.id) combined \(factor.displayName) although role \(role), who presented it, was not present")
            }
        }
        for fact in (bound?.requiredFacts ?? []) + step.requires where !facts.contains(fact) {
            throw fail(startIndex, "step \(step.id) ran although '\(fact)' did not hold")
        }
        var confirmed = Set<String>()
        while true {
            if abortedHere { return false }
            let e = try next("the end of step \(step.id)")
            guard e.act == act.id, e.step == step.id else { throw fail(k, "\(e.event) for \(e.act)/\(e.step) inside step \(step.id)") }
            switch e.event {
            case EventType.record:
                let corrected = ParticipantCorrectedRecord.matches(e)
                if corrected || ParticipantRecord.matches(e) {
                    let typed = corrected ? (try? ParticipantCorrectedRecord(e)).map { ($0.name, $0.staffID) } : (try? ParticipantRecord(e)).map { ($0.name, $0.staffID) }
                    guard admits.contains(e.role), let (name, id) = typed else {
                        throw fail(k, "a participant record for role \(e.role), which this step does not call")
                    }
                    if corrected { participants.remove(e.role) }
                    do { try participants.admit(Person(name: name, staffID: id), to: e.role) } catch { throw fail(k, "\(error)") }
                    report.participants.removeAll { $0.hasPrefix("\(e.role): ") }
                    report.participants.append("\(e.role): \(name) (\(id))")
                }
            case EventType.confirm:
                let c = try payload(ConfirmPayload.self, e)
                guard step.confirm.contains(e.role), let person = participants.person(for: e.role), c.name == person.display else {
                    throw fail(k, "a confirmation by \(e.role) that is not the step's confirming role's person")
                }
                if c.agreed { confirmed.insert(e.role) } else {
                    report.disagreements.append("entry \(k), step \(step.id): \(person.display) (\(e.role)) did not agree: \(c.reason ?? "")")
                }
            case EventType.stepDone:
                let missing = Set(step.confirm).subtracting(confirmed)
                if !missing.isEmpty { throw fail(k, "step \(step.id) done without confirmation by \(missing.sorted().joined(separator: ", "))") }
                let done = try payload(StepDonePayload.self, e)
                let produced = Set(done.facts)
                let declared = Set(bound?.producedFacts ?? [])
                let optional = Set(bound?.optionalFacts ?? [])
                if !declared.isSubset(of: produced) { throw fail(k, "STEP_DONE of \(step.id) lacks the facts its action produces") }
                let extra = produced.subtracting(declared).subtracting(optional)
                if !extra.isEmpty {
                    throw fail(k, "STEP_DONE of \(step.id) claims facts its action \(step.action) never produces: \(extra.sorted().joined(separator: ", "))")
                }
                if done.action != step.action { throw fail(k, "STEP_DONE of \(step.id) names another action") }
                facts.formUnion(produced)
                completed.insert(step.id)
                counts.done += 1
                for factor in action?.presents ?? [] { presenters[factor] = step.role }
                return true
            case EventType.refused:
                guard abortedHere else { throw fail(k + 1, "a REFUSED step must be followed by ABORTED") }
                return false
            case EventType.stepFailed:
                if abortedHere { return false }
                let x = try next("EXCEPTION after the failed step \(step.id)")
                guard x.event == EventType.exception, x.step == step.id else {
                    throw fail(k, "a failed step must be followed by an EXCEPTION or ABORTED, not \(x.event)")
                }
                let choice = try exception(x, k)
                if choice == "skip" { counts.skipped += 1; return true }
                guard choice == "retry" else { throw fail(k, "after a failure an exception may retry or skip, not \(choice)") }
                return nil
            default:
                throw fail(k, "\(e.event) inside step \(step.id)")
            }
        }
    }

    mutating func exception(_ e: JournalEntry, _ n: Int) throws -> String {
        let p = try payload(ExceptionPayload.self, e)
        guard let witness = script.witnessRole, e.role == witness.id, let person = participants.person(for: witness.id),
              participants.isPresent(witness.id), p.witness == person.display else {
            throw fail(n, "an exception not confirmed by the witness in the room")
        }
        counts.exceptions += 1
        report.exceptions.append("entry \(n), step \(e.step): expected \"\(p.expected)\"; happened \"\(p.happened)\"; decided \"\(p.decision)\" (\(p.next)), witness \(person.display)")
        return p.next
    }
}

/// Parsed embedded scripts by SHA-256, so verifying many transcripts of one script parses
/// its YAML once.
enum ScriptCache {
    nonisolated(unsafe) static var scripts: [String: CeremonyScript] = [:]
    static let lock = NSLock()

    static func parse(_ text: String, sha256: String) throws -> CeremonyScript {
        lock.lock(); defer { lock.unlock() }
        if let s = scripts[sha256] { return s }
        let s = try ScriptLoader.parse(text, origin: "the script in entry 1")
        scripts[sha256] = s
        return s
    }
}
