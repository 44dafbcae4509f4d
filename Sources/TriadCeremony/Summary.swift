import TriadJournal

/// The one-page, plain-language summary beside each transcript (evidence
/// that compliance staff can read, docs/ceremony.md §1): who, what, when, result, exceptions,
/// the head words, and how to check it.
public enum Summary {
    /// The summary of the ceremony in `entries`, naming the transcript file it belongs to.
    public static func text(_ entries: [JournalEntry], transcriptName: String) -> String {
        let transcript = Transcript.text(entries)
        let report: VerifyReport
        var problem: String?
        switch Verifier.verify(transcript: transcript) {
        case .success(let r): report = r
        case .failure(let f):
            problem = f.description
            report = VerifyReport()
        }
        let last = entries.last!
        let anchors = entries.filter { $0.event == EventType.actEnd || $0.isTerminal }
        var out: [String] = []
        out.append(report.practice ? "PRACTICE RUN — CEREMONY SUMMARY" : "CEREMONY SUMMARY")
        out.append(String(repeating: "=", count: 60))
        out.append("Ceremony:   \(last.ceremony)")
        out.append("Script:     \(report.scriptName) version \(report.scriptVersion)")
        out.append("Script SHA-256: \(report.scriptSHA256)")
        out.append("Run:        \(report.mode)\(report.mode == "unattended" ? " (answers file; nobody typed at the terminal)" : "")")
        out.append("Started:    \(entries.first!.time) (UTC)")
        out.append("Ended:      \(last.time) (UTC)")
        let record = CeremonyRecord(entries)
        if last.event == EventType.closed && record.skipped.isEmpty && report.exceptions.isEmpty {
            out.append("Result:     COMPLETED — every step ran in order and the ceremony was closed.")
        } else if last.event == EventType.closed {
            let skipped = record.skipped.isEmpty ? "no step skipped" : "skipped by exception: \(record.skipped.joined(separator: ", "))"
            out.append("Result:     CLOSED WITH EXCEPTIONS — \(report.exceptions.count) exception(s); \(skipped).")
        } else {
            out.append("Result:     ABORTED — \(last.payload["reason"]?.stringValue ?? "no reason given")")
        }
        out.append("")
        out.append("Who was present:")
        out += report.participants.isEmpty ? ["  (no roll call recorded)"] : report.participants.map { "  \($0)" }
        out.append("")
        out.append("Present in each act:")
        for act in record.acts { out.append("  \(act.title): \(act.present.map(record.who).joined(separator: ", "))") }
        out.append("Breaks: \(record.breaks.count)")
        for b in record.breaks {
            let absent = b.absent.isEmpty ? "everyone came back and was re-identified"
                : "absent from then on: \(b.absent.map(record.who).joined(separator: ", "))"
            out.append("  - entry \(b.seq), before step \(b.step) (\(b.reason)): \(absent)")
        }
        if !record.refused.isEmpty {
            out.append("Refused by the tool:")
            out += record.refused.map { "  - step \($0)" }
        }
        out.append("")
        out.append("Exceptions (deviations from the script, each confirmed by the witness): \(report.exceptions.count)")
        out += report.exceptions.map { "  - \($0)" }
        if !report.disagreements.isEmpty {
            out.append("Disagreements recorded: \(report.disagreements.count)")
            out += report.disagreements.map { "  - \($0)" }
        }
        out.append("")
        out.append("Words written down in the room (first 8 of 16 shown per line):")
        for a in anchors {
            let words = AnchorWords.anchor(hexHash: a.hash)
            let what = a.event == EventType.actEnd ? "end of act \(a.act)" : a.event
            out.append("  entry \(a.seq) (\(what)): \(words.prefix(8).joined(separator: " "))")
        }
        out.append("")
        out.append("How to check this ceremony (offline, any machine with the tool):")
        out.append("  ceremony verify \(transcriptName) --anchor \"\(last.seq): \(AnchorWords.anchor(hexHash: last.hash).prefix(8).joined(separator: " "))\"")
        out.append("  It exits 0 only if no entry was changed, removed, added or reordered, the")
        out.append("  steps follow the script, and the words match those written on paper.")
        if let problem { out.append("\nWARNING: the transcript did not verify when this summary was made: \(problem)") }
        out.append("")
        out.append("Entries: \(entries.count)    Final hash: \(last.hash)")
        return out.joined(separator: "\n") + "\n"
    }
}
