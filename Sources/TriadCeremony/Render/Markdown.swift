import TriadJournal

/// `ceremony show` (the default format): a `Document` as Markdown, with the same content as
/// the HTML page, for review in a text editor or a pull request. Only this file knows
/// Markdown, so every text it prints is escaped here.
public enum MarkdownRender {
    /// The script as Markdown with the same content as the HTML page, for review in a text editor or a pull request.
    public static func render(_ script: CeremonyScript, registry: ActionRegistry = .standard) -> String {
        page(ScriptPage.document(script, registry: registry))
    }

    /// Any document as Markdown: blocks separated by blank lines.
    static func page(_ d: Document) -> String {
        var o = ["# \(escape(d.title))"]
        for block in d.blocks { o += self.block(block) }
        return o.joined(separator: "\n") + "\n"
    }

    static func block(_ b: Document.Block) -> [String] {
        switch b {
        case .heading(let text): return ["", "## \(escape(text))"]
        case .paragraph(let inlines, let note): return ["", note ? "_\(line(inlines))_" : line(inlines)]
        case .list(let items): return [""] + items.map { "- \(escape($0))" }
        case .fields(let rows, _): return [""] + rows.map { "- **\(escape($0.label)):** \(escape($0.value))" }
        case .page(let blocks): return blocks.flatMap(block)
        case .box(let lead, let lines): return ["", line(lead)] + lines.flatMap { ["", line($0)] }
        case .table(let t):
            return ["", "| " + t.columns.map { escape($0.header) }.joined(separator: " | ") + " |",
                    "|" + String(repeating: "---|", count: t.columns.count)]
                + t.rows.map { row in "|" + row.map { $0.isEmpty ? " |" : " \(line($0)) |" }.joined() }
        }
    }

    static func line(_ inlines: [Document.Inline]) -> String {
        inlines.map { i -> String in
            switch i {
            case .text(let s): return escape(s)
            case .strong(let s): return "**\(escape(s))**"
            case .code(let s): return "`\(s.replacingOccurrences(of: "`", with: "'").replacingOccurrences(of: "|", with: "\\|"))`"
            case .aside(let s): return " — \(escape(s))"
            case .checkbox: return "[ ]"
            case .blank(let n): return String(repeating: "_", count: n)
            case .lineBreak: return "<br>"
            }
        }.joined()
    }

    /// Backslash-escapes the characters Markdown would read as markup (emphasis, code,
    /// links, HTML, table cells) and folds line breaks, so a script's text prints as typed.
    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "\\", "`", "*", "_", "[", "]", "<", ">", "|", "#": out.append("\\"); out.append(c)
            case "\n": out.append(" ")
            default: out.append(c)
            }
        }
        return out
    }
}
