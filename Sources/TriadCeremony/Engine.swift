import DurableFile
import Foundation
import SystemPackage
import TriadCrypto
import TriadJournal

/// Runs a ceremony script step by step against the journal (docs/ceremony.md §3).
///
/// The engine, not the script, guarantees: steps run in script order; a step runs only when
/// its roles are present and its preconditions hold (else REFUSED, then ABORTED); every
/// event is journaled before the next thing happens, and a failed append stops the ceremony
/// (docs/ceremony.md §9, item 18); a deviation needs an exception record confirmed by the witness
/// (item 27); the head is printed as words at every act boundary (item 19); secrets are
/// zeroised at CLOSED or ABORTED (item 5).
public final class Engine {
    let script: CeremonyScript
    let journal: Journal
    let prompter: Prompter
    let options: RunOptions
    let secrets = SecretStore()
    let nonce = Hex.encode(SecureRandom.bytes(count: 16))
    /// Signs act ends and the terminal entry; made at BEGIN, dropped after the terminal entry.
    var ceremonyKey: CeremonyKey?
    var ceremonyID = ""
    var participants = Participants()
    var facts = Set<String>()
    var completed = Set<String>()
    /// Which role presented each recovery factor in this run (docs/ceremony.md §3, rule 10).
    var presenters: [RecoveryFactor: String] = [:]
    /// Outputs of key generation removed again when the ceremony ends ABORTED.
    var discardOnAbort: [String] = []
    /// Reports that receive the ceremony's end and final hash (the drill report).
    var stampAtClose: [String] = []
    /// Held while this process runs the ceremony; `ceremony abort` refuses while it is.
    var runningLock: RunningLock?
    var head: JournalEntry?
    /// The BEGIN entry's hash, for actions that bind a signature to this ceremony.
    var beginHash = ""
    var position = (act: "", step: "", role: "")
    var counts = (done: 0, skipped: 0, exceptions: 0)
    /// The run's parameter values (defaults included), as BEGIN records them; set by the preflight.
    var parameters: [String: ParameterValue] = [:]

    /// Ends the run early; caught in `run`, which journals the terminal entry.
    enum Stop: Error {
        case refused(step: String, reason: String)
        case aborted(step: String, reason: String)
    }

    /// An engine for one run of `script`, journaling into `journal` and asking through `prompter`.
    public init(script: CeremonyScript, journal: Journal, prompter: Prompter, options: RunOptions) {
        self.script = script; self.journal = journal; self.prompter = prompter; self.options = options
    }

    /// Runs the ceremony to CLOSED or ABORTED and exports its transcript and summary.
    /// - Throws: `CeremonyError` when it could not start, was refused or aborted
    ///   (`.refused`, `.aborted`, after journaling ABORTED), or could not log (`.cannotLog`).
    @discardableResult
    public func run() throws -> RunResult {
        try preflight()
        defer { secrets.zeroise(); ceremonyKey?.zeroise() }
        try begin()
        var terminal: JournalEntry?
        do {
            for (index, act) in script.acts.enumerated() {
                position = (act.id, "", "")
                try append(ActStartPayload(title: act.title, number: Int64(index + 1)))
                prompter.show(StepCard.actBanner(act, number: index + 1, of: script.acts.count))
                for step in act.steps { try runStep(act, step) }
                position = (act.id, "", "")
                let end = try append(ActEndPayload(title: act.title))
                prompter.show(AnchorBanner.text(seq: end.seq, words: AnchorWords.anchor(hexHash: end.hash), reason: "end of act \(index + 1)"))
            }
            position = ("", "", "")
            let closed = try append(ClosedPayload(stepsCompleted: Int64(counts.done), stepsSkipped: Int64(counts.skipped),
                                                  exceptions: Int64(counts.exceptions)))
            secrets.zeroise()
            ceremonyKey?.zeroise()
            prompter.show(AnchorBanner.text(seq: closed.seq, words: AnchorWords.anchor(hexHash: closed.hash), reason: closed.event.rawValue))
            terminal = closed
        } catch let stop as Stop {
            let (step, reason, refused): (String, String, Bool) = {
                switch stop {
                case .refused(let s, let r): return (s, r, true)
                case .aborted(let s, let r): return (s, r, false)
                }
            }()
            let aborted = try abort(reason: refused ? "step \(step) refused: \(reason)" : reason)
            _ = try finish(aborted)
            throw refused ? CeremonyError.refused(ceremony: ceremonyID, step: step, reason: reason)
                          : CeremonyError.aborted(ceremony: ceremonyID, step: step, reason: reason)
        } catch let error as JournalError {
            throw cannotLog(error)
        } catch let error as CeremonyError {
            // Input ended, an answer is missing, a participant is invalid: abort with the reason.
            let aborted = try abort(reason: error.description)
            _ = try finish(aborted)
            throw CeremonyError.aborted(ceremony: ceremonyID, step: position.step.isEmpty ? "-" : position.step, reason: error.description)
        } catch {
            let aborted = try abort(reason: "\(error)")
            _ = try finish(aborted)
            throw CeremonyError.aborted(ceremony: ceremonyID, step: position.step.isEmpty ? "-" : position.step, reason: "\(error)")
        }
        return try finish(terminal!)
    }

    // MARK: Start and end

    private func preflight() throws {
        if !options.skipLint {
            let problems = Lint.check(script, registry: options.registry)
            if !problems.isEmpty { throw CeremonyError.scriptInvalid(origin: script.origin, problems: problems) }
        }
        if let expected = options.expectedScriptSHA256, expected.lowercased() != script.sha256 {
            throw CeremonyError.scriptHashMismatch(origin: script.origin, expected: expected.lowercased(), actual: script.sha256)
        }
        parameters = try ParameterSettings.resolve(script, options.parameters)
    }

    private func begin() throws {
        let env = Environment.current()
        let key = try CeremonyKey()
        ceremonyKey = key
        var payload = BeginPayload(
            script: .init(name: script.name, version: Int64(script.version), title: script.title, sha256: script.sha256, text: script.source),
            tool: .init(version: Environment.toolVersion, sha256: env.toolSHA256), host: env.host, practice: options.practice,
            mode: prompter.mode.rawValue, parameters: parameters, nonce: nonce, answersSHA256: (prompter as? AnswersPrompter)?.sha256,
            ceremonyKey: Seal.keyMember(key.publicKey), ceremonyID: "")
        var attempts = 0
        while true {
            let id = options.ceremonyID ?? Self.newID(script.name, practice: options.practice)
            payload.ceremonyID = id
            do {
                head = try journal.begin(ceremony: id, scriptName: script.name, scriptSHA256: script.sha256,
                                         practice: options.practice, payload: .object(try payload.members()))
                ceremonyID = id
                beginHash = head?.hash ?? ""
                runningLock = try RunningLock(journal: journal.path, ceremony: id)
                break
            } catch JournalError.ceremonyIDUsed(let used) where options.ceremonyID == nil && attempts < 3 {
                attempts += 1
                _ = used
            }
        }
        prompter.show(StepCard.header(script, ceremonyID: ceremonyID, practice: options.practice, mode: prompter.mode.rawValue))
    }

    /// `[PRACTICE-]<script>-<UTC time>-<8 hex>`: readable, sortable, and unique with the
    /// random tail; the journal refuses an id it has seen (docs/ceremony.md §9, item 17).
    static func newID(_ name: String, practice: Bool) -> String {
        let t = JournalTime.format(Date())
        let compact = t.prefix(19).replacingOccurrences(of: "-", with: "").replacingOccurrences(of: ":", with: "")
        return "\(practice ? "PRACTICE-" : "")\(name)-\(compact)Z-\(Hex.encode(SecureRandom.bytes(count: 4)))"
    }

    private func abort(reason: String) throws -> JournalEntry {
        secrets.zeroise()
        let removed = discardOnAbort.filter { unlink($0) == 0 }
        let payload = AbortedPayload(reason: reason, atStep: position.step, removedOutputs: removed.isEmpty ? nil : removed)
        if !removed.isEmpty {
            prompter.show("Removed what this aborted ceremony had written, so that it can run again into the same folder: \(removed.joined(separator: ", "))")
        }
        do {
            let entry = try append(payload)
            ceremonyKey?.zeroise()
            prompter.show("CEREMONY ABORTED: \(reason)")
            prompter.show(AnchorBanner.text(seq: entry.seq, words: AnchorWords.anchor(hexHash: entry.hash), reason: entry.event.rawValue))
            return entry
        } catch let error as JournalError {
            throw cannotLog(error)
        }
    }

    private func cannotLog(_ error: JournalError) -> CeremonyError {
        secrets.zeroise()
        // The ceremony has stopped: `ceremony abort` may close it now.
        runningLock?.release(); runningLock = nil
        let reason: String
        if case .cannotAppend(_, let r) = error { reason = r } else { reason = error.description }
        let where_ = position.step.isEmpty ? (position.act.isEmpty ? "the start" : "act \(position.act)") : position.step
        return .cannotLog(ceremony: ceremonyID, journal: journal.path, step: where_, reason: reason)
    }

    private func finish(_ terminal: JournalEntry) throws -> RunResult {
        defer { runningLock?.release(); runningLock = nil }
        var result = RunResult(ceremonyID: ceremonyID, terminal: terminal)
        let unused = prompter.unusedAnswers()
        if !unused.isEmpty { prompter.show("Note: answers never asked for: \(unused.joined(separator: ", "))") }
        let entries = try journal.entries(ceremony: ceremonyID)
        try FileManager.default.createDirectory(atPath: options.outputDirectory, withIntermediateDirectories: true)
        let transcript = "\(options.outputDirectory)/\(ceremonyID).jsonl"
        let summary = "\(options.outputDirectory)/\(ceremonyID)-summary.txt"
        try Transcript.writeExclusive(Transcript.text(entries), to: transcript)
        let name = (transcript as NSString).lastPathComponent
        try Transcript.writeExclusive(Summary.text(entries, transcriptName: name), to: summary)
        let html = "\(options.outputDirectory)/\(ceremonyID)-summary.html"
        try Transcript.writeExclusive(Summary.html(entries, transcriptName: name), to: html)
        for path in stampAtClose {
            // The ceremony has ended and its transcript is whole: a report that cannot be
            // stamped is told, not fatal.
            do { try Self.stamp(path, terminal) } catch {
                prompter.show("Note: \(error); the transcript \(transcript) has the end.")
            }
        }
        result.transcriptPath = transcript
        result.summaryPath = summary
        prompter.show("Transcript: \(transcript)\nSummary:    \(summary) (printable: \(html))")
        return result
    }

    /// Writes the ceremony's end into a report made during it: a line in a text report, a
    /// `ceremony_end` object in a JSON one (docs/recovery.md: the drill report names its
    /// ceremony and final hash). The report is replaced durably (docs/format.md §7.1), keeping
    /// its permissions, so a crash leaves it whole, with or without the line.
    static func stamp(_ path: String, _ terminal: JournalEntry) throws {
        let end = "\(terminal.event) at journal entry \(terminal.seq); final hash \(terminal.hash)"
        var info = stat()
        guard stat(path, &info) == 0, let data = FileManager.default.contents(atPath: path) else {
            throw CeremonyError.reportNotStamped(path: path, reason: "it cannot be read")
        }
        let stamped: Data
        if path.hasSuffix(".json") {
            guard var object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
                throw CeremonyError.reportNotStamped(path: path, reason: "it is not a JSON object any more")
            }
            object["ceremony_end"] = ["ceremony": terminal.ceremony, "event": terminal.event.rawValue, "seq": terminal.seq, "hash": terminal.hash]
            stamped = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        } else {
            stamped = data + Data("\nCeremony \(terminal.ceremony) ended \(end)\n".utf8)
        }
        do {
            try Durable.write(Array(stamped), to: FilePath(path), mode: info.st_mode & 0o7777)
        } catch {
            throw CeremonyError.reportNotStamped(path: path, reason: "\(error)")
        }
    }

    // MARK: Journal

    /// Appends `payload` as its event (`EventPayload`): the one way the engine writes a typed entry.
    @discardableResult
    func append(_ payload: some EventPayload, role: String? = nil) throws -> JournalEntry {
        try append(type(of: payload).event, try payload.members(), role: role)
    }

    @discardableResult
    func append(_ event: EventType, _ payload: [String: CanonicalValue], role: String? = nil) throws -> JournalEntry {
        // ACT_END, CLOSED and ABORTED carry the ceremony key's signature (docs/ceremony.md §7),
        // and those of the participants present who attest with their cards.
        if Seal.isSealed(event), let key = ceremonyKey, let entry = try appendAttested(event, payload, role: role ?? position.role, key: key) {
            head = entry
            return entry
        }
        let seal = Seal.isSealed(event) ? ceremonyKey.map { key in { try key.seal($0) } } : nil
        let entry = try journal.append(ceremony: ceremonyID, act: position.act, step: position.step,
                                       role: role ?? position.role, event: event, payload: .object(payload), seal: seal)
        head = entry
        return entry
    }
}
