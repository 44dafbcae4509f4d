import TriadJournal

/// `ceremony show`: the printable script, as the paper copy of a key ceremony looks
/// (as the root KSK scripts: Step | Activity | Initial | Time, acts, sign-off).
/// Everything a participant must write is a blank on the page: names, initials, times,
/// the anchor words at each act's end, exceptions.
public enum MarkdownRender {
    /// The script as Markdown with the same content as the HTML page, for review in a text editor or a pull request.
    public static func render(_ script: CeremonyScript, registry: ActionRegistry = .standard) -> String {
        var o: [String] = []
        let words = AnchorWords.anchor(hexHash: script.sha256)
        o.append("# \(script.title)")
        o.append("")
        o.append("Script `\(script.name)` version \(script.version)  ")
        o.append("SHA-256 `\(script.sha256)`  ")
        o.append("Script words: \(AnchorWords.display(words))")
        o.append("")
        o.append(script.purpose.trimmingCharacters(in: .whitespacesAndNewlines))
        o.append("")
        o.append("[ ] Practice run   [ ] Production ceremony      Date: ____________   Place: ______________________")
        o.append("")
        o.append("Ceremony id (printed by the tool): ______________________________________________")
        o.append("")
        o.append("## Roles")
        o.append("")
        o.append("| Role | Holds | Name | Staff no. | Signature |")
        o.append("|---|---|---|---|---|")
        for r in script.roles {
            o.append("| \(r.title)\(r.witness ? " — confirms exceptions" : "") | \(cell(r.holds)) | | | |")
        }
        o.append("")
        o.append("One person fills one role. The tool refuses the same name or staff number twice.")
        if !script.parameters.isEmpty {
            o.append("")
            o.append("## Values given when the ceremony starts (`--set NAME=VALUE`)")
            o.append("")
            for p in script.parameters {
                o.append("- `\(p.name)`\(p.required ? " (required)" : "")\(p.defaultValue.map { " (default \($0))" } ?? ""): \(p.description) — value used: ____________")
            }
        }
        var number = 0
        for (index, act) in script.acts.enumerated() {
            o.append("")
            o.append("## Act \(index + 1) of \(script.acts.count): \(act.title)")
            o.append("")
            o.append("| # | Who acts | Read aloud | The tool does | Confirms | Initials | Time |")
            o.append("|---|---|---|---|---|---|---|")
            for step in act.steps {
                number += 1
                let role = script.role(step.role)?.title ?? step.role
                let confirm = step.confirm.map { script.role($0)?.title ?? $0 }.joined(separator: ", ")
                o.append("| \(number) `\(step.id)` | \(cell(role)) | \(cell(step.say)) | \(cell(ShowText.toolDoes(step, registry, script))) | \(cell(confirm.isEmpty ? "—" : confirm)) | | |")
            }
            o.append("")
            o.append("**End of act \(index + 1).** The tool prints the journal head. Everyone writes it down:")
            o.append("")
            o.append("Entry no. ______  Words: ____________________________________________________________")
        }
        o.append("")
        o.append("## Exception sheet")
        o.append("")
        o.append("Any deviation from this script is recorded in the tool and here, and confirmed by the witness.")
        o.append("")
        o.append("| Time | Step | What was expected | What happened instead | What was decided | Witness initials |")
        o.append("|---|---|---|---|---|---|")
        o.append("| | | | | | |")
        o.append("| | | | | | |")
        o.append("")
        o.append("## Sign-off")
        o.append("")
        o.append("I was present throughout, the steps above were followed as initialled, and the exception sheet is complete.")
        o.append("If you do not agree, write \"do not agree\" and why.")
        o.append("")
        o.append("**End of the ceremony.** The tool prints the final entry (CLOSED or ABORTED). Everyone writes it down:")
        o.append("")
        o.append("Entry no. ______  [ ] CLOSED  [ ] ABORTED  Words: ____________________________________________")
        o.append("")
        o.append("| Role | Name | Signature | Date, time (UTC) |")
        o.append("|---|---|---|---|")
        for r in script.roles { o.append("| \(r.title) | | | |") }
        o.append("")
        o.append("Check afterwards: `ceremony verify TRANSCRIPT.jsonl --anchor \"ENTRY: word word …\"` for each line of words above.")
        return o.joined(separator: "\n") + "\n"
    }

    static func cell(_ s: String) -> String {
        s.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }
}

/// Words shared by both renderings.
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
