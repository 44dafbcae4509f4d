/// A list of paths in one ceremony parameter (`--set paths=…`, `--set zones=…`): separated by
/// spaces, as the shipped scripts describe them, with the shell's two ways to keep a space in a
/// name — quotes ('…' or "…") and a backslash before the character — because hospital folders
/// are named "Radiology Reports" (docs/ceremony.md §2, "Parameters").
///
/// Only the action reads the list this way; the journal keeps the parameter's text as given,
/// so a verifier compares exactly what was typed.
public enum PathList {
    /// The paths in `text`; empty words are dropped. An unclosed quote runs to the end.
    public static func split(_ text: String) -> [String] {
        var paths: [String] = []
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
                if inWord && !word.isEmpty { paths.append(word) }
                word = ""; inWord = false
            } else {
                word.append(c); inWord = true
            }
        }
        if inWord && !word.isEmpty { paths.append(word) }
        return paths
    }
}

extension StepArguments {
    /// A path-list argument (`PathList`): each text of the argument split into its paths.
    public func paths(_ name: String) -> [String] {
        textList(name).flatMap(PathList.split)
    }
}
