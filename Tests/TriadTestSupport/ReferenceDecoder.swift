import Foundation

/// Fixtures/format/reference-decoder.py: the second reader of docs/format.md and docs/escrow.md,
/// written in Python with `cryptography` (Debian: python3-cryptography), that the format and
/// escrow tests compare the Swift code with.
public enum ReferenceDecoder {
    public static let script = Products.source("Fixtures/format/reference-decoder.py")

    /// Runs `python3 reference-decoder.py ARGUMENTS FILES…` and returns one line per file:
    /// "ok …" or "fail REASON detail".
    /// - Throws: `TestSupportError.toolFailed` when the decoder does not exit 0 or prints
    ///   another number of lines (python3 or its `cryptography` missing: see scripts/setup).
    public static func run(_ arguments: [String], files: [String]) throws -> [String] {
        let result = try Command("python3", [script] + arguments + files).run()
        let lines = result.out.split(separator: "\n").map(String.init)
        guard result.succeeded, lines.count == files.count else { throw TestSupportError.toolFailed(result) }
        return lines
    }

    /// "ok …" lines as they are; for "fail REASON detail", the REASON (the error name the
    /// vectors expect).
    public static func outcome(_ line: String) -> String {
        let words = line.split(separator: " ").map(String.init)
        return words.first == "fail" && words.count > 1 ? words[1] : line
    }
}
