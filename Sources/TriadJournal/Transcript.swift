import DurableFile
import Foundation
import SystemPackage

/// A transcript: the entries of one ceremony as JSON Lines, one canonical entry per line
/// (docs/ceremony.md §"Transcript"). Self-contained: the BEGIN entry carries the script
/// text and its SHA-256, so `ceremony verify` needs nothing else.
public enum Transcript {
    /// The transcript text of `entries`: each entry's canonical line and a newline.
    public static func text(_ entries: [JournalEntry]) -> String {
        entries.map { $0.line + "\n" }.joined()
    }

    /// Writes `contents` to `path`, never over an existing file (docs/ceremony.md §9, item 17):
    /// through the durable-write module (docs/format.md §7.1) the text goes to a temporary in
    /// the folder, is made durable, and takes the name only if the name is free
    /// (renameat2 RENAME_NOREPLACE, or link(2)), so a reader never sees a partial transcript
    /// and a crash leaves none. Mode 0644: transcripts are public records.
    public static func writeExclusive(_ contents: String, to path: String) throws {
        do {
            try Durable.write(Array(contents.utf8), to: FilePath(path), mode: 0o644, publication: .noReplace)
        } catch let error as DurableError {
            throw TranscriptError.cannotWrite(path: path, reason: error.reason)
        }
    }

    /// Splits transcript text into lines. A final newline is expected; a last line without
    /// one is still returned (the verifier judges it like any other).
    public static func lines(_ text: String) -> [String] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        return lines
    }
}

/// Why a transcript could not be written or read; names the path.
public enum TranscriptError: Error, Equatable, CustomStringConvertible {
    case cannotWrite(path: String, reason: String)
    case cannotRead(path: String, reason: String)

    /// One sentence naming the path and what to do.
    public var description: String {
        switch self {
        case .cannotWrite(let path, let reason):
            return "cannot write \(path): \(reason). Outputs are never overwritten: write to another folder or move the old file"
        case .cannotRead(let path, let reason):
            return "cannot read \(path): \(reason)."
        }
    }
}
