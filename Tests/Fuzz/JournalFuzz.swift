import TriadCrypto
@testable import TriadJournal
@testable import TriadCeremony

/// Harness `journal`: journal entries and transcripts (docs/ceremony.md §"Transcript"):
/// each line as canonical JSON and as an entry, then the whole text through the offline
/// verifier behind `ceremony verify` (chain, conformance to the embedded script, anchors).
func fuzzJournal(_ bytes: [UInt8]) {
    let text = String(decoding: bytes, as: UTF8.self)
    for line in Transcript.lines(text).prefix(64) {
        if let value = try? CanonicalValue.parse(line), let entry = try? JournalEntry(parsing: value) {
            _ = entry.line
            _ = entry.computedHash
        }
    }
    _ = Verifier.verify(transcript: text, anchors: ["1:" + AnchorWords.display(AnchorWords.words([1, 2, 3, 4]))])
}
