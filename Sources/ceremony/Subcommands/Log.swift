import ArgumentParser
import TriadCLI
import Foundation
import TriadCeremony
import TriadJournal

struct Log: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the ceremonies in a journal, or the entries of one.")
    @Option(help: "The journal database.") var journal: String
    @Option(help: "Show this ceremony's entries.") var ceremony: String?

    func run() throws {
        guard FileManager.default.fileExists(atPath: journal) else { throw CommandFailure("\(journal): no such journal") }
        let db = try Journal(path: journal)
        guard let id = ceremony else {
            for c in try db.ceremonies() {
                print("\(c.id)\t\(c.scriptName)\t\(c.practice ? "practice" : "production")\t\(c.createdAt)\t\(c.entries) entries\t\(c.state)")
            }
            return
        }
        for e in try db.entries(ceremony: id) {
            var payload = e.payload
            if case .object(var m) = payload, case .object(var script)? = m["script"] {
                script["text"] = .string("(\(script["text"]?.stringValue?.count ?? 0) characters)")
                m["script"] = .object(script)
                payload = .object(m)
            }
            let place = [e.act, e.step].filter { !$0.isEmpty }.joined(separator: "/")
            print("\(e.seq)\t\(e.time)\t\(place.isEmpty ? "-" : place)\t\(e.role.isEmpty ? "-" : e.role)\t\(e.event)\t\(payload.canonicalText)")
        }
    }
}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write a ceremony's transcript and summary from the journal (never overwriting).")
    @Option(help: "The journal database.") var journal: String
    @Option(help: "The ceremony id.") var ceremony: String
    @Option(help: "Folder to write into.") var output: String = "."

    func run() throws {
        let db = try Journal(path: journal)
        let entries = try db.entries(ceremony: ceremony)
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        let t = "\(output)/\(ceremony).jsonl", s = "\(output)/\(ceremony)-summary.txt"
        try Transcript.writeExclusive(Transcript.text(entries), to: t)
        try Transcript.writeExclusive(Summary.text(entries, transcriptName: "\(ceremony).jsonl"), to: s)
        try Transcript.writeExclusive(Summary.html(entries, transcriptName: "\(ceremony).jsonl"), to: "\(output)/\(ceremony)-summary.html")
        print("Transcript: \(t)\nSummary:    \(s)")
        if let last = entries.last, !last.isTerminal {
            print("Note: the ceremony has no terminal entry yet; this transcript will not verify.")
        }
    }
}

struct AbortCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "abort",
        abstract: "Close a ceremony left without a terminal entry (process died, journal was unwritable) as ABORTED.")
    @Option(help: "The journal database.") var journal: String
    @Option(help: "The ceremony id.") var ceremony: String
    @Option(help: "Why it is closed.") var reason: String

    func run() throws {
        if let holder = RunningLock.holder(journal: journal, ceremony: ceremony) {
            throw CommandFailure("ceremony \(ceremony) is still running (\(holder)); end it at its own terminal (abort, or Ctrl-C twice). `ceremony abort` closes only a ceremony whose process is gone")
        }
        let db = try Journal(path: journal)
        let entry = try db.append(ceremony: ceremony, act: "", step: "", role: "", event: EventType.aborted,
                                  payload: ["reason": .string(reason), "at_step": "", "closed_by": "ceremony abort"])
        print("Ceremony \(ceremony) closed as ABORTED at entry \(entry.seq): \(AnchorWords.display(AnchorWords.anchor(hexHash: entry.hash)))")
    }
}
