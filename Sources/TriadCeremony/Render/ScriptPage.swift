import TriadJournal

/// The printable script as one `Document`, the paper copy of a key ceremony (as the root
/// KSK scripts: Step | Activity | Initial | Time, acts, sign-off). Everything a
/// participant must write is a blank on the page: names, initials, times, the anchor
/// words at each act's end, exceptions. `ceremony show` renders it as HTML or Markdown.
enum ScriptPage {
    /// The page for `script`; `registry` says what each step's action does.
    static func document(_ script: CeremonyScript, registry: ActionRegistry) -> Document {
        let words = AnchorWords.anchor(hexHash: script.sha256)
        var blocks: [Document.Block] = [
            .paragraph(["Script ", .code(script.name), " version \(script.version)", .lineBreak, "SHA-256 ", .code(script.sha256), .lineBreak,
                        "Script words: ", .strong(AnchorWords.display(words)), " — the tool prints these at the start; they must match."], note: true),
            .paragraph([.text(script.purpose.trimmingCharacters(in: .whitespacesAndNewlines))]),
            .paragraph([.checkbox, " Practice run   ", .checkbox, " Production ceremony   Date: ", .blank(12), "   Place: ", .blank(22)]),
            .paragraph(["Ceremony id (printed by the tool): ", .blank(46)]),
            .heading("Roles"),
            .table(.init(columns: [.init("Role", "w-role20"), .init("Holds", "w-role"), .init("Name", "w-name22"),
                                   .init("Staff no.", "w-staff"), .init("Signature")],
                         rows: script.roles.map { r in
                             [[.strong(r.title)] + (r.witness ? [.aside("confirms exceptions")] : []),
                              [.text(r.holds)] + (r.attestsWithCard ? [.aside("and their own staff card")] : []), [], [], []]
                         })),
            .paragraph(["One person fills one role: the tool refuses the same name or staff number twice."], note: true),
        ]
        if script.roles.contains(where: \.attestsWithCard) {
            blocks.append(.paragraph(["Roles with their own staff card sign with it, and their PIN, at the roll call, at the end of every act ",
                                      "and at the end of the ceremony; keep the card in a reader while present."], note: true))
        }
        if !script.parameters.isEmpty {
            blocks.append(.heading("Values given when the ceremony starts (--set NAME=VALUE)"))
            blocks.append(.table(.init(columns: [.init("Name", "w-param"), .init("Meaning", "w-meaning"), .init("Value used")],
                                       rows: script.parameters.map { p in
                                           var aside: [Document.Inline] = p.required ? [.aside("required")]
                                               : p.defaultValue.map { [.aside("default: \($0.display)")] } ?? []
                                           if p.list { aside.append(.aside("a list: --set \(p.name)=… once per item")) }
                                           return [[.code(p.name)] + aside, [.text(p.description)], []]
                                       })))
        }
        var number = 0
        for (index, act) in script.acts.enumerated() {
            let columns: [Document.Column] = [.init("Step", "num"), .init("Who acts", "who"), .init("Read aloud", "say"),
                                              .init("The tool does", "tool"), .init("Confirms", "conf"),
                                              .init("Initials", "box"), .init("Time", "box time")]
            let rows: [[[Document.Inline]]] = act.steps.map { step in
                number += 1
                let who = script.role(step.role)?.title ?? step.role
                let confirm = step.confirm.map { script.role($0)?.title ?? $0 }.joined(separator: ", ")
                return [[.strong("\(number)"), .lineBreak, .code(step.id)], [.strong(who)],
                        [.text(step.say.trimmingCharacters(in: .whitespacesAndNewlines))],
                        [.text(ShowText.toolDoes(step, registry, script))], [.text(confirm.isEmpty ? "—" : confirm)], [], []]
            }
            blocks.append(.page([
                .heading("Act \(index + 1) of \(script.acts.count): \(act.title)"),
                .table(.init(columns: columns, rows: rows)),
                .box(lead: [.strong("End of act \(index + 1)."), " The tool prints the journal head. Everyone writes it down:"],
                     lines: [["Entry no. ", .blank(8), "   Words: ", .blank(60)]]),
            ]))
        }
        let sheetColumns: [Document.Column] = [.init("Time", "w-narrow"), .init("Step", "w-narrow"), .init("What was expected"),
                                               .init("What happened instead"), .init("What was decided"), .init("Witness initials")]
        blocks.append(.page([
            .heading("Exception sheet"),
            .paragraph(["Any deviation from this script is recorded in the tool and here, and confirmed by the witness."]),
            .table(.init(columns: sheetColumns, rows: Array(repeating: Array(repeating: [], count: 6), count: 4), blankHeight: 48)),
            .heading("Sign-off"),
            .paragraph(["I was present throughout, the steps above were followed as initialled, and the exception sheet is complete. ",
                        "If you do not agree, write “do not agree” and why."]),
            .box(lead: [.strong("End of the ceremony."), " The tool prints the final entry (CLOSED or ABORTED). Everyone writes it down:"],
                 lines: [["Entry no. ", .blank(8), "   ", .checkbox, " CLOSED   ", .checkbox, " ABORTED   Words: ", .blank(44)]]),
            .table(.init(columns: [.init("Role", "w-role"), .init("Name", "w-name"), .init("Signature", "w-sig"), .init("Date, time (UTC)")],
                         rows: script.roles.map { [[.text($0.title)], [], [], []] })),
            .paragraph(["Check afterwards, on any machine: ", .code("ceremony verify TRANSCRIPT.jsonl --anchor \"ENTRY: word word …\""),
                        " for each set of words written above."], note: true),
        ]))
        return Document(title: script.title, style: style, blocks: blocks)
    }

    /// The A4 style sheet of the printed script: large type, boxes to initial.
    static let style = """
        @page { size: A4; margin: 14mm 12mm; }
        body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 11pt; color: #000; max-width: 190mm; margin: 0 auto; }
        h1 { font-size: 18pt; margin: 0 0 4pt 0; }
        h2 { font-size: 14pt; margin: 16pt 0 6pt 0; border-bottom: 2px solid #000; page-break-after: avoid; }
        p.note { font-size: 9.5pt; }
        .mono { font-family: "DejaVu Sans Mono", monospace; font-size: 8.5pt; word-break: break-all; }
        small { display: block; font-weight: normal; font-size: 7pt; color: #333; overflow-wrap: break-word; }
        table { width: 100%; border-collapse: collapse; margin: 4pt 0; }
        th, td { border: 1px solid #000; padding: 3pt 4pt; vertical-align: top; text-align: left; }
        th { background: #e8e8e8; font-size: 9.5pt; }
        tr { page-break-inside: avoid; }
        td.num { width: 11%; }
        td.who { width: 11%; }
        td.say { width: 29%; font-size: 11pt; }
        td.tool { width: 24%; font-size: 9pt; }
        td.conf { width: 10%; font-size: 9pt; }
        td.blank { height: 22pt; }
        td.box { width: 7%; height: 34pt; }
        td.time { width: 8%; }
        section.page { break-before: page; }
        thead { display: table-header-group; }
        .w-role20 { width: 20%; } .w-role { width: 28%; } .w-name22 { width: 22%; } .w-staff { width: 12%; }
        .w-name { width: 28%; } .w-sig { width: 24%; } .w-param { width: 24%; } .w-meaning { width: 44%; }
        .w-narrow { width: 10%; }
        .box { border: 2px solid #000; padding: 6pt; margin: 8pt 0 4pt 0; page-break-inside: avoid; }
        .box .line { border-bottom: 1px solid #000; height: 20pt; margin-top: 6pt; }
        """
}

/// Words shared by every rendering of a step.
enum ShowText {
    /// The action's one-line summary, plus its notable arguments and preconditions.
    static func toolDoes(_ step: Step, _ registry: ActionRegistry, _ script: CeremonyScript) -> String {
        var parts = [registry.action(named: step.action)?.summary ?? "(unknown action \(step.action))"]
        for key in step.arguments.keys.sorted(by: { order($0) < order($1) }) {
            guard let label = labels[key], let value = step.arguments[key] else { continue }
            switch value {
            case .string(let s): parts.append("\(label): \(sentence(plain(s)))")
            case .int(let i): parts.append("\(label): \(i).")
            case .bool(let b): if b { parts.append("\(label).") }
            case .array(let a):
                let items = a.compactMap(\.stringValue).map { key == "roles" ? (script.role($0)?.title ?? $0) : $0 }
                parts.append("\(label): \(items.joined(separator: ", ")).")
            default: break
            }
        }
        if let action = registry.action(named: step.action), !action.combines.isEmpty {
            parts.append("Needs, presented earlier in this same ceremony: " + action.combines.map(\.displayName).joined(separator: ", ") + ".")
        }
        if !step.after.isEmpty { parts.append("Only after step " + step.after.joined(separator: ", ") + ".") }
        if !step.requires.isEmpty { parts.append("Only if earlier steps established: " + step.requires.joined(separator: ", ") + ".") }
        return parts.joined(separator: " ")
    }

    /// How arguments read on paper; arguments not listed (e.g. `fact`) are for the tool only.
    static let labels = ["question": "Asks", "prompt": "Asks", "roles": "Roles called", "name": "Records",
                         "expect": "Must equal", "twice": "Typed twice"]

    static func order(_ key: String) -> Int { ["roles", "name", "question", "prompt", "expect", "pattern", "twice"].firstIndex(of: key) ?? 99 }

    static func sentence(_ s: String) -> String {
        let t = s.trimmingCharacters(in: .whitespacesAndNewlines)
        return [".", "?", "!"].contains(t.last.map(String.init) ?? "") ? t : t + "."
    }

    /// `${bag_serial}` reads as "the bag_serial value given at the start".
    static func plain(_ s: String) -> String {
        var out = s
        for ref in Substitution.references(in: s) { out = out.replacingOccurrences(of: "${\(ref)}", with: "the \(ref) value given at the start") }
        return out
    }
}
