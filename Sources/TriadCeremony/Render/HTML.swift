import TriadJournal

/// `ceremony show --format html`: the same printable script as `MarkdownRender`, laid
/// out for A4 paper: large type, one row per step with boxes to initial, an anchor box
/// at each act's end, an exception sheet and a sign-off page.
public enum HTMLRender {
    /// The script as a printable HTML page: blanks for names, initials and times, the values table and the anchor boxes.
    public static func render(_ script: CeremonyScript, registry: ActionRegistry = .standard) -> String {
        let words = AnchorWords.anchor(hexHash: script.sha256)
        var o: [String] = []
        o.append("""
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(e(script.title))</title>
        <style>
        @page { size: A4; margin: 14mm 12mm; }
        body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 11pt; color: #000; max-width: 190mm; margin: 0 auto; }
        h1 { font-size: 18pt; margin: 0 0 4pt 0; }
        h2 { font-size: 14pt; margin: 16pt 0 6pt 0; border-bottom: 2px solid #000; page-break-after: avoid; }
        .meta { font-size: 9.5pt; }
        .mono { font-family: "DejaVu Sans Mono", monospace; font-size: 8.5pt; word-break: break-all; }
        table { width: 100%; border-collapse: collapse; margin: 4pt 0; }
        th, td { border: 1px solid #000; padding: 3pt 4pt; vertical-align: top; text-align: left; }
        th { background: #e8e8e8; font-size: 9.5pt; }
        tr { page-break-inside: avoid; }
        td.num { width: 11%; font-weight: bold; }
        td.num small { display: block; font-weight: normal; font-size: 7pt; color: #333; overflow-wrap: break-word; }
        td.who { width: 11%; font-weight: bold; }
        td.say { width: 29%; font-size: 11pt; }
        td.tool { width: 24%; font-size: 9pt; }
        td.conf { width: 10%; font-size: 9pt; }
        td.box { width: 7%; height: 34pt; }
        td.time { width: 8%; }
        section.act { break-before: page; }
        thead { display: table-header-group; }
        .w-role { width: 28%; } .w-name { width: 28%; } .w-sig { width: 24%; }
        .w-narrow { width: 10%; }
        td.blank { height: 22pt; }
        .anchor { border: 2px solid #000; padding: 6pt; margin: 8pt 0 4pt 0; page-break-inside: avoid; }
        .anchor .line { border-bottom: 1px solid #000; height: 20pt; margin-top: 6pt; }
        .check { font-size: 12pt; margin: 8pt 0; }
        .note { font-size: 9.5pt; font-style: italic; }
        .sheet { page-break-before: always; }
        </style></head><body>
        <h1>\(e(script.title))</h1>
        <p class="meta">Script <b>\(e(script.name))</b> version \(script.version) · SHA-256 <span class="mono">\(e(script.sha256))</span><br>
        Script words: <b>\(e(AnchorWords.display(words)))</b> — the tool prints these at the start; they must match.</p>
        <p>\(e(script.purpose.trimmingCharacters(in: .whitespacesAndNewlines)))</p>
        <p class="check">☐ Practice run &nbsp;&nbsp; ☐ Production ceremony &nbsp;&nbsp; Date: __________ &nbsp; Place: ______________</p>
        <p class="check">Ceremony id (printed by the tool): ______________________________________________</p>
        <h2>Roles</h2>
        <table><tr><th style=\"width:20%\">Role</th><th style=\"width:28%\">Holds</th><th style=\"width:22%\">Name</th><th style=\"width:12%\">Staff no.</th><th>Signature</th></tr>
        """)
        for r in script.roles {
            o.append("<tr><td><b>\(e(r.title))</b>\(r.witness ? "<br><small>confirms exceptions</small>" : "")</td><td>\(e(r.holds))</td><td class=\"blank\"></td><td></td><td></td></tr>")
        }
        o.append("</table><p class=\"note\">One person fills one role: the tool refuses the same name or staff number twice.</p>")
        if !script.parameters.isEmpty {
            o.append("<h2>Values given when the ceremony starts</h2><table><tr><th style=\"width:24%\">Name (--set)</th><th style=\"width:44%\">Meaning</th><th>Value used</th></tr>")
            for p in script.parameters {
                o.append("<tr><td><span class=\"mono\">\(e(p.name))</span>\(p.required ? "<br><small>required</small>" : p.defaultValue.map { "<br><small>default: \(e($0))</small>" } ?? "")</td><td>\(e(p.description))</td><td class=\"blank\"></td></tr>")
            }
            o.append("</table>")
        }
        var number = 0
        for (index, act) in script.acts.enumerated() {
            o.append("<section class=\"act\"><h2>Act \(index + 1) of \(script.acts.count): \(e(act.title))</h2>")
            o.append("<table><thead><tr><th>Step</th><th>Who acts</th><th>Read aloud</th><th>The tool does</th><th>Confirms</th><th>Initials of confirmer</th><th>Time</th></tr></thead>")
            for step in act.steps {
                number += 1
                let who = script.role(step.role)?.title ?? step.role
                let confirm = step.confirm.map { script.role($0)?.title ?? $0 }.joined(separator: ", ")
                o.append("<tr><td class=\"num\">\(number)<small>\(e(step.id))</small></td><td class=\"who\">\(e(who))</td><td class=\"say\">\(e(step.say.trimmingCharacters(in: .whitespacesAndNewlines)))</td><td class=\"tool\">\(e(ShowText.toolDoes(step, registry, script)))</td><td class=\"conf\">\(e(confirm.isEmpty ? "—" : confirm))</td><td class=\"box\"></td><td class=\"box time\"></td></tr>")
            }
            o.append("</table>")
            o.append("<div class=\"anchor\"><b>End of act \(index + 1).</b> The tool prints the journal head. Everyone writes it down:<div class=\"line\">Entry no. ________ &nbsp; Words:</div><div class=\"line\"></div></div></section>")
        }
        o.append("<div class=\"sheet\"><h2>Exception sheet</h2><p>Any deviation from this script is recorded in the tool and here, and confirmed by the witness.</p>")
        o.append("<table><tr><th class=\"w-narrow\">Time</th><th class=\"w-narrow\">Step</th><th>What was expected</th><th>What happened instead</th><th>What was decided</th><th>Witness initials</th></tr>")
        for _ in 0..<4 { o.append("<tr><td class=\"blank\" style=\"height:48pt\"></td><td></td><td></td><td></td><td></td><td></td></tr>") }
        o.append("</table><h2>Sign-off</h2><p>I was present throughout, the steps above were followed as initialled, and the exception sheet is complete. If you do not agree, write “do not agree” and why.</p>")
        o.append("<div class=\"anchor\"><b>End of the ceremony.</b> The tool prints the final entry (CLOSED or ABORTED). Everyone writes it down:<div class=\"line\">Entry no. ________ &nbsp; ☐ CLOSED &nbsp; ☐ ABORTED &nbsp; Words:</div><div class=\"line\"></div></div>")
        o.append("<table><tr><th class=\"w-role\">Role</th><th class=\"w-name\">Name</th><th class=\"w-sig\">Signature</th><th>Date, time (UTC)</th></tr>")
        for r in script.roles { o.append("<tr><td>\(e(r.title))</td><td class=\"blank\"></td><td></td><td></td></tr>") }
        o.append("</table><p class=\"note\">Check afterwards, on any machine: <span class=\"mono\">ceremony verify TRANSCRIPT.jsonl --anchor \"ENTRY: word word …\"</span> for each set of words written above.</p></div>")
        o.append("</body></html>")
        return o.joined(separator: "\n") + "\n"
    }

    static func e(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
