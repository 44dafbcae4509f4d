import Foundation

/// A summary page as data — a title, labelled fields and headed lists — so the text and the
/// HTML print exactly the same lines (docs/ceremony.md §10).
struct SummaryDocument {
    var title: String
    var fields: [(label: String, value: String)] = []
    var sections: [(heading: String, lines: [String])] = []

    init(title: String) { self.title = title }

    mutating func field(_ label: String, _ value: String) { fields.append((label, value)) }

    mutating func section(_ heading: String, _ lines: [String], empty: String) {
        sections.append((heading, lines.isEmpty && !empty.isEmpty ? [empty] : lines))
    }

    var text: String {
        var out = [title, String(repeating: "=", count: 72)]
        let head = fields.prefix(while: { $0.label != "Entries" })
        for f in head { out.append("\(f.label):".padding(toLength: 16, withPad: " ", startingAt: 0) + f.value) }
        for s in sections {
            out.append("")
            out.append("\(s.heading):")
            out += s.lines.map { "  - \($0)" }
        }
        out.append("")
        for f in fields.dropFirst(head.count) { out.append("\(f.label): \(f.value)") }
        return out.joined(separator: "\n") + "\n"
    }

    var html: String {
        func e(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        }
        var o = ["<!DOCTYPE html>", "<html lang=\"en\"><head><meta charset=\"utf-8\"><title>\(e(title))</title>",
                 "<style>@page { size: A4; margin: 14mm 12mm; } body { font-family: \"DejaVu Sans\", Arial, sans-serif; font-size: 10.5pt; max-width: 190mm; margin: 0 auto; }",
                 "h1 { font-size: 16pt; } h2 { font-size: 12pt; border-bottom: 1px solid #000; margin-top: 12pt; } table { border-collapse: collapse; width: 100%; }",
                 "th, td { border: 1px solid #000; padding: 2pt 4pt; text-align: left; vertical-align: top; } th { width: 22%; background: #eee; }",
                 ".mono { font-family: \"DejaVu Sans Mono\", monospace; word-break: break-all; }</style></head><body>",
                 "<h1>\(e(title))</h1>", "<table>"]
        for f in fields { o.append("<tr><th>\(e(f.label))</th><td class=\"mono\">\(e(f.value))</td></tr>") }
        o.append("</table>")
        for s in sections {
            o.append("<h2>\(e(s.heading))</h2><ul>")
            o += s.lines.map { "<li>\(e($0))</li>" }
            o.append("</ul>")
        }
        o.append("<p>Signed (witness): ______________________ Date: ____________</p></body></html>")
        return o.joined(separator: "\n") + "\n"
    }
}
