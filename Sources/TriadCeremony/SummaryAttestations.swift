import TriadJournal

/// The summary's lines on the participants' card signatures (docs/ceremony.md §7
/// "Attestations", §10): whose card, by certificate fingerprint, signed the roll call and each
/// act end and terminal entry, who could not, and how to check them against the CA.
enum SummaryAttestations {
    /// Empty when nobody attests in this transcript.
    static func lines(_ entries: [JournalEntry], who: (String) -> String) -> [String] {
        var lines: [String] = []
        for e in entries where AttestationCheck.isRollCallRecord(e) {
            guard let c = try? AttestationCheck.parseRecord(e) else { continue }
            lines.append("entry \(e.seq), roll call: \(who(c.role)) — card certificate SHA-256 \(c.fingerprint) (\(c.certificate.subject), issued by \(c.certificate.issuer))")
        }
        guard !lines.isEmpty else { return [] }
        for e in entries where Seal.isSealed(e.event) {
            let signed = e.payload[Attestation.field]?.arrayValue?.compactMap { item in
                item["role"]?.stringValue.map { "\(who($0)) (\(item["certificate_fingerprint"]?.stringValue?.prefix(16) ?? "")…)" }
            } ?? []
            let missing = e.payload[Attestation.missingField]?.arrayValue?.compactMap { item in
                item["role"]?.stringValue.map { "\(who($0)): \(item["reason"]?.stringValue ?? "")" }
            } ?? []
            let what = e.event == .actEnd ? "end of act \(e.act)" : e.event.rawValue
            lines.append("entry \(e.seq) (\(what)): signed by \(signed.isEmpty ? "nobody" : signed.joined(separator: ", "))"
                         + (missing.isEmpty ? "" : "; did not sign: \(missing.joined(separator: "; "))"))
        }
        lines.append("check them: ceremony verify TRANSCRIPT --trust CA.pem (the organisation's CA certificate) verifies every one of these signatures and that each card certificate was issued by that CA")
        return lines
    }
}
