/// A printable page as data: the printed script (`ceremony show`) and the ceremony
/// summary are each built once as a `Document` and handed to a renderer (`HTMLRender`,
/// `MarkdownRender`, `PlainTextRender`), so every format prints the same lines and only
/// the renderers know about escaping (docs/ceremony.md §1 `ceremony show`, §10).
struct Document {
    /// The page title: the `<title>` and the first heading.
    var title: String
    /// The HTML style sheet; the other formats ignore it.
    var style: String
    /// The content, top to bottom.
    var blocks: [Block]

    /// One piece of the page's layout.
    indirect enum Block {
        /// A section heading (the title is the only first-level heading).
        case heading(String)
        /// A paragraph of running text; `note` prints it smaller (HTML) or in italics (Markdown).
        case paragraph([Inline], note: Bool = false)
        /// A grid with a header row: the step table, the roles, the exception sheet.
        case table(Table)
        /// A bulleted list, one line per item.
        case list([String])
        /// Labelled values (a certificate's header); `aligned` pads the labels in plain text.
        case fields([(label: String, value: String)], aligned: Bool)
        /// A group that starts on a new page when printed (an act, the exception sheet).
        case page([Block])
        /// A framed box whose lead text is followed by ruled lines to write on (the anchor words).
        case box(lead: [Inline], lines: [[Inline]])
    }

    /// Running text inside a block.
    enum Inline {
        /// Ordinary text, escaped by the renderer.
        case text(String)
        /// Emphasised text (a name, the words to compare).
        case strong(String)
        /// Literal text in a fixed-width font (ids, hashes, commands).
        case code(String)
        /// A smaller remark set off from what precedes it (a default, "confirms exceptions").
        case aside(String)
        /// A box to tick by hand.
        case checkbox
        /// A blank of `width` characters to write on.
        case blank(Int)
        /// A line break inside a paragraph or a cell.
        case lineBreak
    }

    /// A table: its columns and rows of cells.
    struct Table {
        /// The columns, left to right.
        var columns: [Column]
        /// Each row has one cell per column; an empty cell is a place to write by hand.
        var rows: [[[Inline]]]
        /// How tall an empty row is when printed, in points (HTML only); 0 for the default.
        var blankHeight = 0
    }

    /// A column's header and how the HTML page sizes it.
    struct Column {
        /// The header text.
        var header: String
        /// The HTML class of the column's cells (width, font), or empty.
        var style = ""

        init(_ header: String, _ style: String = "") { self.header = header; self.style = style }
    }
}

extension Document.Inline: ExpressibleByStringInterpolation {
    /// A string literal (interpolated or not) is plain text.
    init(stringLiteral value: String) { self = .text(value) }
}
