import TriadJournal

/// What happened in one ceremony, read back from its journal entries for the printable
/// summary (docs/ceremony.md §10): who was present in each act and who was absent, the breaks,
/// the steps skipped or refused, what was produced, the words written down mid-act, and the
/// signatures.
///
/// Read from the entries alone, like the verifier, so the summary says only what the
/// transcript proves.
struct CeremonyRecord {
    /// One break: where, why, and who did not come back.
    struct Break { var seq: Int64; var step: String; var reason: String; var absent: [String] }
    /// One act: the roles present at some point of it, and those absent at its end.
    struct ActPresence { var id: String; var title: String; var present: [String]; var absent: [String] }

    var titles: [String: String] = [:]
    /// Person (display form) by role, from the roll-call RECORD entries.
    var people: [String: String] = [:]
    var acts: [ActPresence] = []
    var breaks: [Break] = []
    var skipped: [String] = []
    var refused: [String] = []
    /// Plain-language lines for what the key actions produced or measured.
    var produced: [String] = []
    /// Mid-act words (`print-anchor`).
    var checkpoints: [String] = []
    /// Signatures carried by the transcript (ceremony key, participants' cards, the card's 9E).
    var signatures: [String] = []
    var drillStarted = false
    var drillResult: String?

    init(_ entries: [JournalEntry]) {
        let begin = entries.first.flatMap { try? BeginPayload($0) }
        if let text = begin?.script.text, let script = try? ScriptLoader.parse(text, origin: "the transcript") {
            for role in script.roles { titles[role.id] = role.title }
        }
        if let key = begin?.ceremonyKey {
            signatures.append("ceremony key (made for this ceremony, destroyed at its end): \(Self.brief(key))")
        }
        var present = Set<String>(), absent = Set<String>()
        for e in entries {
            switch e.event {
            case EventType.record:
                if let (name, id) = (try? ParticipantRecord(e)).map({ ($0.name, $0.staffID) }) ?? (try? ParticipantCorrectedRecord(e)).map({ ($0.name, $0.staffID) }) {
                    people[e.role] = "\(name) (\(id))"
                    present.insert(e.role); absent.remove(e.role)
                } else {
                    note(e)
                }
            case EventType.actStart:
                acts.append(ActPresence(id: e.act, title: (try? ActStartPayload(e))?.title ?? e.act, present: [], absent: []))
            case EventType.resume:
                let gone = (try? ResumePayload(e))?.absent ?? []
                present.subtract(gone); absent.formUnion(gone)
                if let i = breaks.indices.last { breaks[i].absent = gone }
            case EventType.pause:
                breaks.append(Break(seq: e.seq, step: e.step, reason: (try? PausePayload(e))?.reason ?? "", absent: []))
            case EventType.exception:
                let x = try? ExceptionPayload(e)
                if x?.next == "skip" { skipped.append(e.step) }
                if let grant = x?.grants { produced.append("step \(e.step): the witness allowed \(grant)") }
            case EventType.refused:
                refused.append("step \(e.step): \((try? RefusedPayload(e))?.reason ?? "")")
            case EventType.stepDone where (try? StepDonePayload(e))?.action == "print-anchor":
                let result = (try? StepDonePayload(e))?.result ?? [:]
                if let seq = result["anchor_seq"]?.intValue, let words = result["anchor_words"]?.stringValue {
                    checkpoints.append("entry \(seq) (checkpoint in step \(e.step)): \(words.split(separator: " ").prefix(8).joined(separator: " "))")
                }
            default: break
            }
            if let sig = e.payload["signature"] { signatures.append("entry \(e.seq) (\(e.event)) signed: \(Self.brief(sig))") }
            if !acts.isEmpty {
                let i = acts.count - 1
                for role in present.sorted() where !acts[i].present.contains(role) { acts[i].present.append(role) }
                acts[i].absent = absent.sorted()
            }
        }
    }

    /// One line for each RECORD a key action journals that says what it produced or measured,
    /// read through the kind's struct; an unknown serial or count reads "?".
    private mutating func note(_ e: JournalEntry) {
        func n(_ v: Int64?) -> String { v.map(String.init) ?? "?" }
        if let r = try? RecoveryKeyGeneratedRecord(e) {
            produced.append("recovery certificate \(r.certificate): words \(r.words), SHA-256 \(r.certificateFingerprint.prefix(16))…")
        } else if let r = try? CardEnrolledRecord(e) {
            produced.append("recovery card \(r.label) enrolled: serial \(n(r.serial)), certificate words \(r.words)")
        } else if let r = try? EscrowBlobWrittenRecord(e) {
            produced.append("escrow blob \(r.blob): words \(r.blobWords); enrolment record words \(r.recordWords)")
        } else if let r = try? EscrowBlobPresentedRecord(e) {
            produced.append("escrow blob presented: words \(r.blobWords)")
        } else if let r = try? CardPresentedRecord(e) {
            produced.append("recovery card serial \(n(r.serial)) presented: \(n(r.pinTriesLeft)) PIN tries left before the PIN step")
        } else if let r = try? CardAuthenticatedRecord(e) {
            produced.append("recovery card serial \(n(r.serial)) proved its presence: its card authentication key (9E) signed this ceremony's nonce (docs/recovery.md §2a)")
        } else if let r = try? CardPresenceNotProvenRecord(e) {
            produced.append("recovery card serial \(n(r.serial)): presence NOT proven by signature (enrolled before card authentication; replace it in a card-replacement ceremony)")
        } else if let r = try? PINVerifiedRecord(e) {
            produced.append("PIN accepted by the card: tries left before \(n(r.triesLeftBefore)), after \(n(r.triesLeftAfter))")
        } else if let r = try? PINRefusedRecord(e) {
            produced.append("PIN refused by the card: \(n(r.triesLeftAfter)) tries left after")
        } else if let r = try? PINChangedRecord(e) {
            produced.append("PIN changed\(r.byPUK ? " with the PUK" : ""): tries left before \(n(r.triesLeftBefore)), after \(n(r.triesLeftAfter))")
        } else if let r = try? RecoveryKeyUnlockedRecord(e) {
            produced.append("recovery key unlocked in memory: public key SHA-256 \(r.publicKeyFingerprint.prefix(16))…")
        } else if (try? CanaryRecoveredRecord(e)) != nil {
            produced.append("drill canary recovered and its content matches the enrolment record")
        } else if (try? DrillStartedRecord(e)) != nil {
            drillStarted = true
        } else if let r = try? DrillReportRecord(e) {
            drillResult = r.result
            produced.append("drill report: \(r.result)")
        } else if (try? ZeroisedRecord(e)) != nil {
            produced.append("secrets zeroised in memory")
        }
    }

    /// A signature or key value in one short line.
    private static func brief(_ v: CanonicalValue) -> String {
        if let s = v.stringValue { return String(s.prefix(32)) + (s.count > 32 ? "…" : "") }
        if let o = v.objectValue {
            return o.keys.sorted().map { k in "\(k) \((o[k]?.stringValue).map { String($0.prefix(24)) } ?? "…")" }.joined(separator: ", ")
        }
        return "present"
    }

    /// "Maria Moser (M-400) Management custodian" for a role.
    func who(_ role: String) -> String {
        [people[role] ?? role, titles[role] ?? ""].filter { !$0.isEmpty }.joined(separator: " ")
    }
}
