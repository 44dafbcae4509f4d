import Foundation
import TriadCrypto
import TriadJournal

/// Hashes evidence files into the journal — scans of the signed paper script, video files,
/// photographs of seals — so the "audit bundle" is bound to the transcript (docs/ceremony.md
/// §9, item 26; the root KSK ceremonies publish such bundles).
public struct RecordEvidenceAction: CeremonyAction {
    /// The name scripts give in `action:`.
    public static let name = "record-evidence"
    /// What `ceremony show` prints for a step running this action.
    public static let summary = "The tool records the SHA-256 of each evidence file (video, scans, photos) in the journal."
    /// The evidence step's `with:` arguments.
    public struct Arguments: ActionArguments {
        /// `paths`, an optional YAML list.
        public static let parameters = [
            ParameterSpec("paths", .textList, "files to hash; when absent, the acting person types one path per line, an empty line ends"),
        ]
        /// The files to hash; empty asks for them.
        public var paths: [String]
        /// Reads `paths`.
        public init(from arguments: ArgumentReader) throws { paths = try arguments.list("paths") }
    }

    /// `evidence-recorded`, which later steps may require.
    public static func produces(_ arguments: Arguments) -> [String] { ["evidence-recorded"] }

    /// Actions hold no state; the engine makes one for each step.
    public init() {}

    /// Hashes each evidence file and journals name, size and SHA-256; a missing file fails the step.
    public func run(_ arguments: Arguments, _ context: inout ActionContext) throws -> ActionOutcome {
        var paths = arguments.paths.filter { !$0.isEmpty }
        if paths.isEmpty {
            while true {
                let p = try context.ask("path", "Evidence file path (empty line when done)", default: "")
                if p.isEmpty { break }
                paths.append(p)
            }
        }
        guard !paths.isEmpty else { throw ActionError("no evidence file was named") }
        var files: [CanonicalValue] = []
        for path in paths {
            guard let handle = FileHandle(forReadingAtPath: path) else {
                throw ActionError("cannot read evidence file \(path); check the path and that the medium is mounted")
            }
            defer { try? handle.close() }
            let hasher = SHA256Hasher()
            var size: Int64 = 0
            while let chunk = try? handle.read(upToCount: 1 << 20), !chunk.isEmpty {
                hasher.update(Array(chunk)); size += Int64(chunk.count)
            }
            let hash = Hex.encode(hasher.finalize())
            try context.record(EvidenceRecord(path: path, sha256: hash, bytes: size))
            context.show("  \(path): \(size) bytes, SHA-256 \(hash)\n    words: \(AnchorWords.display(AnchorWords.anchor(hexHash: hash)))")
            files.append(.string(path))
        }
        return ActionOutcome(["files": .array(files)])
    }
}
