import Foundation

/// A transcript: the entries of one ceremony as JSON Lines, one canonical entry per line
/// (docs/ceremony.md §"Transcript"). Self-contained: the BEGIN entry carries the script
/// text and its SHA-256, so `ceremony verify` needs nothing else.
public enum Transcript {
    /// The transcript text of `entries`: each entry's canonical line and a newline.
    public static func text(_ entries: [JournalEntry]) -> String {
        entries.map { $0.line + "\n" }.joined()
    }

    /// Writes `contents` to `path` with exclusive create: an existing file is never
    /// overwritten (docs/ceremony.md §9, item 17; Let's Encrypt's ceremony tool uses O_EXCL the same
    /// way). The data is fsynced before the call returns.
    public static func writeExclusive(_ contents: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            throw TranscriptError.cannotWrite(path: path, reason: reason)
        }
        defer { close(fd) }
        let bytes = Array(contents.utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw TranscriptError.cannotWrite(path: path, reason: String(cString: strerror(errno)))
            }
            written += n
        }
        guard fsync(fd) == 0 else { throw TranscriptError.cannotWrite(path: path, reason: String(cString: strerror(errno))) }
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
