import TriadJournal

/// What happened in one ceremony, read back from its journal entries for the printable
/// summary (docs/ceremony.md §1 "After the ceremony"): who was present in each act, the
/// breaks and who did not come back, the steps skipped, refused or retried.
///
/// Read from the entries alone, like the verifier, so the summary says only what the
/// transcript proves.
struct CeremonyRecord {
    /// One break: where, why, and who did not come back.
    struct Break { var seq: Int64; var step: String; var reason: String; var absent: [String] }

    var titles: [String: String] = [:]
    /// Person (display form) by role, from the roll-call RECORD entries.
    var people: [String: String] = [:]
    /// Acts in order, with the roles present while each ran.
    var acts: [(id: String, title: String, present: [String])] = []
    var breaks: [Break] = []
    var skipped: [String] = []
    var retried: [String] = []
    var refused: [String] = []
    /// "step: kind …" of RECORD entries whose kind names a produced artefact.
    var records: [(step: String, kind: String, payload: CanonicalValue)] = []

    init(_ entries: [JournalEntry]) {
        if let text = entries.first?.payload["script"]?["text"]?.stringValue,
           let script = try? ScriptLoader.parse(text, origin: "the transcript") {
            for role in script.roles { titles[role.id] = role.title }
        }
        var present = Set<String>()
        for e in entries {
            switch e.event {
            case EventType.record:
                if ["participant", "participant-corrected"].contains(e.payload["kind"]?.stringValue ?? ""), let name = e.payload["name"]?.stringValue {
                    people[e.role] = "\(name) (\(e.payload["staff_id"]?.stringValue ?? "?"))"
                    present.insert(e.role)
                } else if let kind = e.payload["kind"]?.stringValue {
                    records.append((e.step, kind, e.payload))
                }
            case EventType.actStart:
                acts.append((e.act, e.payload["title"]?.stringValue ?? e.act, []))
            case EventType.resume:
                let absent = e.payload["absent"]?.arrayValue?.compactMap(\.stringValue) ?? []
                present.subtract(absent)
                if let i = breaks.indices.last { breaks[i].absent = absent }
            case EventType.pause:
                breaks.append(Break(seq: e.seq, step: e.step, reason: e.payload["reason"]?.stringValue ?? "", absent: []))
            case EventType.exception:
                let how = e.payload["continue"]?.stringValue ?? ""
                if how == "skip" { skipped.append(e.step) }
                if how == "retry" { retried.append(e.step) }
            case EventType.refused:
                refused.append("\(e.step): \(e.payload["reason"]?.stringValue ?? "")")
            default: break
            }
            if !acts.isEmpty, e.event != EventType.actEnd {
                let i = acts.count - 1
                for role in present.sorted() where !acts[i].present.contains(role) { acts[i].present.append(role) }
            }
        }
    }

    /// "Maria Moser (M-400) Management custodian" for a role.
    func who(_ role: String) -> String {
        [people[role] ?? role, titles[role] ?? ""].filter { !$0.isEmpty }.joined(separator: " ")
    }
}
