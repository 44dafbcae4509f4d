import ArgumentParser
import TriadCLI
import Foundation
import TriadCeremony
import TriadJournal

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify a transcript offline: chain, terminal entry, order against the script, anchor words.",
        discussion: "Exits 0 only for an intact, complete transcript; otherwise 1, naming the first bad entry.")
    @Argument(help: "The transcript (.jsonl).") var transcript: String
    @Option(help: "The approved script; the transcript must have been made with exactly this one.") var script: String?
    @Option(help: "Words written down in the room: \"ENTRY: word word …\" (repeatable).") var anchor: [String] = []
    @OptionGroup var scripts: ScriptsOption

    func run() throws {
        guard let data = FileManager.default.contents(atPath: transcript) else {
            throw CommandFailure("\(transcript): cannot read the transcript")
        }
        let pinned = try script.map { try scripts.load($0) }
        switch Verifier.verify(transcript: String(decoding: data, as: UTF8.self), pinnedScript: pinned, anchors: anchor) {
        case .failure(let f):
            throw CommandFailure("\(transcript): \(f) — the transcript does NOT verify")
        case .success(let r):
            print("OK \(transcript): ceremony \(r.ceremonyID)\(r.practice ? " (PRACTICE)" : "")")
            print("   script \(r.scriptName) v\(r.scriptVersion), SHA-256 \(r.scriptSHA256)")
            print("   \(r.entries) entries, \(r.started) – \(r.ended), run \(r.mode), ended \(r.terminal)\(r.terminalReason.isEmpty ? "" : ": \(r.terminalReason)")")
            for p in r.participants { print("   present: \(p)") }
            print("   exceptions: \(r.exceptions.count)")
            for x in r.exceptions { print("     - \(x)") }
            if !r.disagreements.isEmpty {
                print("   disagreements: \(r.disagreements.count)")
                for d in r.disagreements { print("     - \(d)") }
            }
            for a in r.anchorsChecked { print("   anchor \(a)") }
            if anchor.isEmpty { print("   (no --anchor given: compare the words written down in the room to be sure the transcript is the one made there)") }
        }
    }
}
