/// The summary's `-summary.txt`: a `Document` as plain text for the printer beside the
/// transcript — the title underlined, aligned labels, headings ending in a colon, two-space
/// bullets. Plain text needs no escaping; line breaks inside a value are kept.
enum PlainTextRender {
    /// Any document as plain text, blocks separated by blank lines and a list kept under its heading.
    static func page(_ d: Document) -> String {
        var o = [d.title, String(repeating: "=", count: 72)]
        for (index, block) in d.blocks.enumerated() {
            if index > 0, !isList(block) { o.append("") }
            o += self.block(block)
        }
        return o.joined(separator: "\n") + "\n"
    }

    static func isList(_ b: Document.Block) -> Bool { if case .list = b { return true }; return false }

    static func block(_ b: Document.Block) -> [String] {
        switch b {
        case .heading(let text): return ["\(text):"]
        case .paragraph(let inlines, _): return [line(inlines)]
        case .list(let items): return items.map { "  - \($0)" }
        case .fields(let rows, let aligned):
            return rows.map { aligned ? "\($0.label):".padding(toLength: 16, withPad: " ", startingAt: 0) + $0.value : "\($0.label): \($0.value)" }
        case .page(let blocks): return blocks.flatMap(block)
        case .box(let lead, let lines): return [line(lead)] + lines.map(line)
        case .table(let t):
            return [t.columns.map(\.header).joined(separator: " | ")] + t.rows.map { $0.map(line).joined(separator: " | ") }
        }
    }

    static func line(_ inlines: [Document.Inline]) -> String {
        inlines.map { i -> String in
            switch i {
            case .text(let s), .strong(let s), .code(let s): return s
            case .aside(let s): return " (\(s))"
            case .checkbox: return "[ ]"
            case .blank(let n): return String(repeating: "_", count: n)
            case .lineBreak: return "\n"
            }
        }.joined()
    }
}
