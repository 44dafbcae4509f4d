import ArgumentParser
import Foundation
import TriadCeremony
import TriadJournal
import TriadCLI

/// `ceremony checkpoint`: prints the transcript's C2SP checkpoint (a signed note) for an
/// outside witness to cosign (docs/ceremony.md §7 "Checkpoint").
///
/// The ceremony key no longer exists after the ceremony, so the note was signed at the
/// terminal entry and stored in it; this command verifies the whole transcript first (a
/// note from a transcript that does not verify is never printed) and then prints the note.
struct CheckpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "Print the transcript's checkpoint (C2SP tlog-checkpoint, signed note) for a witness to cosign.",
        discussion: "Verifies the transcript first, as `ceremony verify` does; exit 1 if it does not verify.")
    @Argument(help: "The transcript (.jsonl).") var transcript: String
    @Option(help: "The approved script; the transcript must have been made with exactly this one.") var script: String?
    @OptionGroup var scripts: ScriptsOption

    func run() throws {
        guard let data = FileManager.default.contents(atPath: transcript) else {
            throw CommandFailure("\(transcript): cannot read the transcript")
        }
        let text = String(decoding: data, as: UTF8.self)
        let pinned = try script.map { try scripts.load($0) }
        if case .failure(let f) = Verifier.verify(transcript: text, pinnedScript: pinned) {
            throw CommandFailure("\(transcript): \(f) — the transcript does NOT verify, so it has no checkpoint to give")
        }
        guard let line = Transcript.lines(text).last, let last = try? JournalEntry(parsing: CanonicalValue.parse(line)),
              let note = last.payload[Checkpoint.field]?.stringValue else {
            throw CommandFailure("\(transcript): the terminal entry carries no checkpoint")
        }
        print(note, terminator: "")
    }
}
