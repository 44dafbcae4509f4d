import ArgumentParser
import TriadCLI
import Foundation
import TriadCeremony
import TriadCrypto
import TriadJournal
import TriadRecovery

/// `ceremony verify`: exit 0 for a verified CLOSED ceremony, 3 for a verified ABORTED one,
/// 1 for anything that does not verify, 2 for a usage error (docs/ceremony.md §8).
struct Verify: ParsableCommand {
    /// The exit status of a transcript that verifies and ends ABORTED: the record is intact,
    /// but the ceremony did not do what it was for.
    static let abortedStatus: Int32 = 3

    static let configuration = CommandConfiguration(
        abstract: "Verify a transcript offline: chain, terminal entry, order against the script, anchor words.",
        discussion: """
            Exit status: 0 the transcript verifies and the ceremony ended CLOSED; 3 it verifies and \
            ended ABORTED; 1 it does not verify (the first bad entry is named); 2 usage error.
            """)
    @Argument(help: "The transcript (.jsonl).") var transcript: String
    @Option(help: "The approved script; the transcript must have been made with exactly this one.") var script: String?
    @Option(help: "Words written down in the room: \"ENTRY: word word …\" (repeatable).") var anchor: [String] = []
    @Option(help: "An enrolment record the ceremony's card must be enrolled in, with its card authentication key (repeatable; docs/ceremony.md §7 \"Card signatures\").")
    var record: [String] = []
    @Option(help: "PEM file of the organisation's CA certificate(s): every participant's card certificate must be issued by one (repeatable; docs/ceremony.md §8).")
    var trust: [String] = []
    @OptionGroup var scripts: ScriptsOption

    func run() throws {
        guard let data = FileManager.default.contents(atPath: transcript) else {
            throw CommandFailure("\(transcript): cannot read the transcript")
        }
        let pinned = try script.map { try scripts.load($0) }
        let records: [EnrolmentRecord]
        do { records = try record.map { try EnrolmentRecord.load(path: $0) } } catch { throw CommandFailure("\(error)") }
        var anchors: [Certificate]?
        for path in trust {
            guard let pem = FileManager.default.contents(atPath: path),
                  let certificates = try? Certificate.all(pem: String(decoding: pem, as: UTF8.self)), !certificates.isEmpty else {
                throw CommandFailure("\(path): cannot read a PEM CA certificate from it (--trust)")
            }
            anchors = (anchors ?? []) + certificates
        }
        switch Verifier.verify(transcript: String(decoding: data, as: UTF8.self), pinnedScript: pinned, anchors: anchor, records: records,
                               trust: anchors) {
        case .failure(let f):
            throw CommandFailure("\(transcript): \(f) — the transcript does NOT verify")
        case .success(let r):
            let aborted = r.terminal == EventType.aborted
            print("\(aborted ? "VERIFIED, ABORTED" : "OK") \(transcript): ceremony \(r.ceremonyID)\(r.practice ? " (PRACTICE)" : "")")
            print("   script \(r.scriptName) v\(r.scriptVersion), SHA-256 \(r.scriptSHA256)\(pinned == nil ? " (embedded; no --script compared)" : " (= --script)")")
            print("   \(r.entries) entries, \(r.started) – \(r.ended), run \(r.mode), ended \(r.terminal)\(r.terminalReason.isEmpty ? "" : ": \(r.terminalReason)")")
            if r.readAsVersion1 {
                print("   script read as version 1: a text where a list argument is now a YAML list was split at spaces, as the tool that ran it did (docs/ceremony.md §8); today's tool would refuse to run this script")
            }
            for p in r.participants { print("   present: \(p)") }
            print("   exceptions: \(r.exceptions.count)")
            for x in r.exceptions { print("     - \(x)") }
            if !r.disagreements.isEmpty {
                print("   disagreements: \(r.disagreements.count)")
                for d in r.disagreements { print("     - \(d)") }
            }
            print("   signed: every act end and the terminal entry by the ceremony key of BEGIN (SPKI SHA-256 \(r.ceremonyKeySHA256)); checkpoint verified")
            for line in r.cardSignatures { print("   recovery card: \(line)") }
            if !r.attestations.isEmpty {
                print("   attested: every act end and the terminal entry by each attesting participant present, with the card of the roll call")
                for line in r.attestations { print("   participant card: \(line)") }
                if let trusted = r.trusted {
                    for line in trusted { print("   trusted: \(line)") }
                } else {
                    print("   participant certificates were NOT checked against a CA (no --trust): compare their SHA-256 with the organisation's records, or give --trust CA.pem")
                }
            }
            if !r.cardSignatures.isEmpty && r.trusted != nil {
                print("   the recovery card's 9E certificate is not checked against --trust: it is issued by the recovery certificate (compare the SHA-256 above with the trust file)")
            }
            for a in r.anchorsChecked { print("   anchor \(a)") }
            if anchor.isEmpty {
                print("""
                   NO PAPER ANCHOR COMPARED: without --anchor, a transcript whose chain was recomputed from \
                some entry on cannot be told from the one made in the room. Give the words written down \
                there: --anchor "ENTRY: word word …".
                """)
            }
            if aborted {
                print("   The ceremony did NOT complete (exit status \(Self.abortedStatus)).")
                throw ExitCode(Self.abortedStatus)
            }
        }
    }
}
