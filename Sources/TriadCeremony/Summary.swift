import TriadJournal

/// The one-page, plain-language summary beside each transcript — the ceremony's compliance
/// certificate (docs/ceremony.md §10): who was present in each act, absences and breaks,
/// exceptions, disagreements and skipped steps, the result, what was produced, the words
/// written down, the signatures and how to check all of it. It is built once as a
/// `Document` from the journal entries only; text and HTML render the same lines.
public enum Summary {
    /// The summary as plain text (printed with the transcript, `-summary.txt`).
    public static func text(_ entries: [JournalEntry], transcriptName: String) -> String {
        PlainTextRender.page(document(entries, transcriptName: transcriptName))
    }

    /// The same summary as a printable HTML page (`-summary.html`).
    public static func html(_ entries: [JournalEntry], transcriptName: String) -> String {
        HTMLRender.page(document(entries, transcriptName: transcriptName))
    }

    static func document(_ entries: [JournalEntry], transcriptName: String) -> Document {
        let transcript = Transcript.text(entries)
        var report = VerifyReport()
        var problem: String?
        switch Verifier.verify(transcript: transcript) {
        case .success(let r): report = r
        case .failure(let f): problem = f.description
        }
        let record = CeremonyRecord(entries)
        let first = entries.first!, last = entries.last!
        let practice = (try? BeginPayload(first))?.practice == true
        var d = SummaryBuilder()
        d.field("Ceremony", last.ceremony)
        d.field("Script", "\(report.scriptName) version \(report.scriptVersion)")
        d.field("Script SHA-256", report.scriptSHA256)
        d.field("Run", report.mode == .unattended ? "unattended (answers file; nobody typed at the terminal)" : "interactive")
        if practice { d.field("PRACTICE", "a practice run: nothing it produced is for production use") }
        d.field("Started", "\(first.time) (UTC)")
        d.field("Ended", "\(last.time) (UTC)")
        d.field("Result", result(last, record, exceptions: report.exceptions.count))
        if let drill = record.drillResult { d.field("Drill", drill == "PASS" ? "PASS — every factor worked" : "FAIL — see the drill report") }
        else if record.drillStarted { d.field("Drill", "FAIL — the drill did not reach its report") }

        d.section("Present in each act", record.acts.map { act in
            let absent = act.absent.isEmpty ? "" : "; absent: \(act.absent.map(record.who).joined(separator: ", "))"
            return "\(act.title): \(act.present.map(record.who).joined(separator: ", "))\(absent)"
        }, empty: "no act started")
        d.section("Breaks", record.breaks.map { b in
            "entry \(b.seq), before step \(b.step) (\(b.reason)): " + (b.absent.isEmpty ? "everyone came back and was re-identified"
                : "absent from then on: \(b.absent.map(record.who).joined(separator: ", "))")
        }, empty: "none")
        d.section("Exceptions (deviations from the script, each confirmed by the witness)", report.exceptions, empty: "none")
        d.section("Disagreements", report.disagreements, empty: "none")
        d.section("Steps skipped by an exception", record.skipped, empty: "none")
        d.section("Refused by the tool", record.refused, empty: "none")
        d.section("What was produced", record.produced, empty: "nothing")
        var words: [String] = []
        for a in entries where a.event == EventType.actEnd || a.isTerminal {
            let what = a.event == .actEnd ? "end of act \(a.act)" : a.event.rawValue
            words.append("entry \(a.seq) (\(what)): \(AnchorWords.anchor(hexHash: a.hash).prefix(8).joined(separator: " "))")
        }
        words += record.checkpoints
        d.section("Words written down in the room (first 8 of 16)", words, empty: "none")
        d.section("Signatures", record.signatures, empty: "none in this transcript")
        let attested = SummaryAttestations.lines(entries, who: record.who)
        if !attested.isEmpty { d.section("Participants' card signatures (attest: card)", attested, empty: "") }
        let anchor = "\(last.seq): \(AnchorWords.anchor(hexHash: last.hash).prefix(8).joined(separator: " "))"
        d.section("How to check this ceremony (offline, any machine with the tool)", [
            "ceremony verify \(transcriptName) --anchor \"\(anchor)\"",
            "It succeeds only if no entry was changed, removed, added or reordered, the steps follow the script, every signature holds and the words match those written on paper.",
        ], empty: "")
        if let problem { d.section("WARNING", ["the transcript did not verify when this summary was made: \(problem)"], empty: "") }
        d.blocks.append(.fields([("Entries", "\(entries.count)"), ("Final hash", last.hash)], aligned: false))
        d.blocks.append(.paragraph(["Signed (witness): ", .blank(22), " Date: ", .blank(12)]))
        return Document(title: practice ? "PRACTICE RUN — CEREMONY SUMMARY" : "CEREMONY SUMMARY — COMPLIANCE CERTIFICATE",
                        style: style, blocks: d.blocks)
    }

    /// The summary's A4 style sheet: a labelled table, then headed lists.
    static let style = """
        @page { size: A4; margin: 14mm 12mm; } body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 10.5pt; max-width: 190mm; margin: 0 auto; }
        h1 { font-size: 16pt; } h2 { font-size: 12pt; border-bottom: 1px solid #000; margin-top: 12pt; } table { border-collapse: collapse; width: 100%; }
        th, td { border: 1px solid #000; padding: 2pt 4pt; text-align: left; vertical-align: top; } th { width: 22%; background: #eee; }
        .mono { font-family: "DejaVu Sans Mono", monospace; word-break: break-all; }
        """

    /// "COMPLETED" only when every step ran in order with no exception.
    static func result(_ last: JournalEntry, _ record: CeremonyRecord, exceptions: Int) -> String {
        guard last.event == EventType.closed else {
            return "ABORTED — \((try? AbortedPayload(last))?.reason ?? "no reason given")"
        }
        if record.skipped.isEmpty && exceptions == 0 { return "COMPLETED — every step ran in order and the ceremony was closed." }
        let skipped = record.skipped.isEmpty ? "no step skipped" : "skipped by exception: \(record.skipped.joined(separator: ", "))"
        return "CLOSED WITH EXCEPTIONS — \(exceptions) exception(s); \(skipped)."
    }
}

/// Collects the summary's blocks: labelled fields run together into one table, a section
/// is a heading and its list (or the word for "nothing" when the list is empty).
struct SummaryBuilder {
    var blocks: [Document.Block] = []

    mutating func field(_ label: String, _ value: String) {
        if case .fields(let rows, let aligned) = blocks.last {
            blocks[blocks.count - 1] = .fields(rows + [(label, value)], aligned: aligned)
        } else {
            blocks.append(.fields([(label, value)], aligned: true))
        }
    }

    mutating func section(_ heading: String, _ lines: [String], empty: String) {
        blocks.append(.heading(heading))
        blocks.append(.list(lines.isEmpty && !empty.isEmpty ? [empty] : lines))
    }
}
