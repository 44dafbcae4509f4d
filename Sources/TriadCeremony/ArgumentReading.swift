import TriadJournal

/// How a step's list arguments are read (docs/ceremony.md §8, "Transcripts of scripts with
/// text lists").
///
/// Today a list argument (`paths`, `zones`, `roles`) is a YAML sequence and a text there is
/// refused. The tool before that change (version 1 of the argument reading, until
/// 2026-12-03) took a text there, and the shipped scripts of then passed `paths: ${paths}`
/// with a text parameter split at spaces (`--set zones="/srv/a /srv/b"`). Such a script is
/// refused by lint and never runs again, but its transcripts must still verify years
/// later: the replay reads them with `version1`, and says so in its report.
enum ArgumentReading: Sendable {
    /// A list argument must be a YAML sequence (lint, the engine, the dry run, the replay).
    case current
    /// A text where a list argument is declared is read as version 1 read it: split into
    /// items at spaces, tabs and line breaks, with quotes ('…' or "…") or a backslash keeping
    /// a space inside an item. Only the verifier's replay reads this way.
    case version1

    /// `values` as `ArgumentReader.decode` checks them: unchanged today; with `version1`
    /// each text given for a list argument of `specs` becomes the list version 1 made of it.
    func values(_ values: [String: CanonicalValue], specs: [ParameterSpec]) -> [String: CanonicalValue] {
        guard self == .version1 else { return values }
        var read = values
        for spec in specs where spec.kind == .textList {
            if case .string(let text)? = values[spec.name] { read[spec.name] = .array(Self.split(text).map { .string($0) }) }
        }
        return read
    }

    /// The items of a version-1 text list: words separated by spaces, tabs or line breaks,
    /// where quotes ('…' or "…") and a backslash before a character keep a space in an item,
    /// as a shell does (so "Radiology Reports" was one folder); empty words are dropped and an
    /// unclosed quote runs to the end. This is the splitting the tool did before list
    /// arguments, kept exactly.
    static func split(_ text: String) -> [String] {
        var items: [String] = []
        var word = ""
        var inWord = false
        var quote: Character?
        var escaped = false
        for c in text {
            if escaped {
                word.append(c); escaped = false; inWord = true
            } else if let q = quote {
                if c == q { quote = nil } else if c == "\\" && q == "\"" { escaped = true } else { word.append(c) }
            } else if c == "\\" {
                escaped = true
            } else if c == "'" || c == "\"" {
                quote = c; inWord = true
            } else if c == " " || c == "\t" || c == "\n" {
                if inWord && !word.isEmpty { items.append(word) }
                word = ""; inWord = false
            } else {
                word.append(c); inWord = true
            }
        }
        if inWord && !word.isEmpty { items.append(word) }
        return items
    }
}
