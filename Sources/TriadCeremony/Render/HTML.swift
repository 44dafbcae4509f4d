import TriadJournal

/// `ceremony show --format html` and the summary's `-summary.html`: a `Document` as a
/// printable A4 page. Only this file knows HTML, so every text it prints is escaped here.
public enum HTMLRender {
    /// The script as a printable HTML page: blanks for names, initials and times, the values table and the anchor boxes.
    public static func render(_ script: CeremonyScript, registry: ActionRegistry = .standard) -> String {
        page(ScriptPage.document(script, registry: registry))
    }

    /// Any document as one HTML page.
    static func page(_ d: Document) -> String {
        var o = ["<!DOCTYPE html>", "<html lang=\"en\"><head><meta charset=\"utf-8\"><title>\(e(d.title))</title>",
                 "<style>", d.style, "</style></head><body>", "<h1>\(e(d.title))</h1>"]
        for block in d.blocks { o += self.block(block) }
        o.append("</body></html>")
        return o.joined(separator: "\n") + "\n"
    }

    static func block(_ b: Document.Block) -> [String] {
        switch b {
        case .heading(let text): return ["<h2>\(e(text))</h2>"]
        case .paragraph(let inlines, let note): return ["<p\(note ? " class=\"note\"" : "")>\(line(inlines))</p>"]
        case .list(let items): return ["<ul>"] + items.map { "<li>\(e($0))</li>" } + ["</ul>"]
        case .fields(let rows, _):
            return ["<table>"] + rows.map { "<tr><th>\(e($0.label))</th><td class=\"mono\">\(e($0.value))</td></tr>" } + ["</table>"]
        case .page(let blocks): return ["<section class=\"page\">"] + blocks.flatMap(block) + ["</section>"]
        case .box(let lead, let lines):
            return ["<div class=\"box\">\(line(lead))" + lines.map { "<div class=\"line\">\(line($0))</div>" }.joined()
                    + "<div class=\"line\"></div></div>"]
        case .table(let t):
            var o = ["<table><thead><tr>" + t.columns.map { "<th>\(e($0.header))</th>" }.joined() + "</tr></thead>"]
            for row in t.rows {
                let height = t.blankHeight > 0 && row.allSatisfy(\.isEmpty) ? " style=\"height:\(t.blankHeight)pt\"" : ""
                o.append("<tr\(height)>" + zip(t.columns, row).map { column, cell in
                    let style = [column.style, cell.isEmpty ? "blank" : ""].filter { !$0.isEmpty }.joined(separator: " ")
                    return "<td\(style.isEmpty ? "" : " class=\"\(style)\"")>\(line(cell))</td>"
                }.joined() + "</tr>")
            }
            return o + ["</table>"]
        }
    }

    static func line(_ inlines: [Document.Inline]) -> String {
        inlines.map { i -> String in
            switch i {
            case .text(let s): return e(s)
            case .strong(let s): return "<b>\(e(s))</b>"
            case .code(let s): return "<span class=\"mono\">\(e(s))</span>"
            case .aside(let s): return "<small>\(e(s))</small>"
            case .checkbox: return "☐"
            case .blank(let n): return String(repeating: "_", count: n)
            case .lineBreak: return "<br>"
            }
        }.joined()
    }

    /// Escapes the five characters that could end a text or an attribute.
    static func e(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "'", with: "&#39;")
    }
}
