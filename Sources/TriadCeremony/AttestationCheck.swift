import Foundation
import TriadCrypto
import TriadJournal

/// The verifier's side of participants' card signatures (docs/ceremony.md §7 "Attestations",
/// §8 item 4): every roll-call proof verifies with the certificate it records; every ACT_END
/// and CLOSED carries a verifying signature by each attesting person present, made with the
/// card recorded for that role at the roll call; an ABORTED entry carries one or names them in
/// `attestations_missing` with a reason. Both verifiers run it after the ceremony key's and the
/// recovery card's signatures, in entry order, so they name the same first bad entry.
enum AttestationCheck {
    static func isRollCallRecord(_ e: JournalEntry) -> Bool { AttestorCardRecord.matches(e) }

    static func fail(_ e: JournalEntry, _ m: String) -> VerifyFailure { VerifyFailure(entry: Int(e.seq), message: m) }

    /// The certificate a roll-call RECORD gives (exactly `kind`, `certificate`,
    /// `certificate_fingerprint`, `signature`; lowercase hex), not yet its signature.
    static func parseRecord(_ e: JournalEntry) throws -> AttestorCertificate { try readRecord(e).0 }

    /// The certificate a roll-call RECORD gives, read through `AttestorCardRecord`, and its
    /// signature, not yet checked (nil when it is not text); a member of the wrong kind
    /// fails as the check of that member does.
    static func readRecord(_ e: JournalEntry) throws -> (AttestorCertificate, signature: String?) {
        let members = Set(try AttestorCardRecord(certificate: "", certificateFingerprint: "", signature: "").members().keys)
        guard let o = e.payload.objectValue, Set(o.keys) == members else {
            throw fail(e, "the \(Attestation.recordKind) record of role \(e.role) does not have exactly kind, certificate, certificate_fingerprint and signature")
        }
        let certificateProblem = "the \(Attestation.recordKind) record of role \(e.role): certificate is not a DER X.509 certificate in lowercase hex"
        let fingerprintProblem = "the \(Attestation.recordKind) record of role \(e.role): certificate_fingerprint is not the SHA-256 of certificate"
        var record = AttestorCardRecord(certificate: "", certificateFingerprint: "", signature: "")
        var signatureIsText = true
        do { record = try e.payload.decode(as: AttestorCardRecord.self) } catch {
            switch (error as? DecodingError)?.memberPath.first {
            case "certificate_fingerprint"?:
                guard let hex = o["certificate"]?.stringValue, let der = lowerHex(hex), (try? Certificate(der: der)) != nil else {
                    throw fail(e, certificateProblem)
                }
                throw fail(e, fingerprintProblem)
            case "signature"? where o["certificate"]?.stringValue != nil && o["certificate_fingerprint"]?.stringValue != nil:
                record = AttestorCardRecord(certificate: o["certificate"]?.stringValue ?? "",
                                            certificateFingerprint: o["certificate_fingerprint"]?.stringValue ?? "", signature: "")
                signatureIsText = false
            default: throw fail(e, certificateProblem)
            }
        }
        guard let der = lowerHex(record.certificate), let cert = try? Certificate(der: der) else { throw fail(e, certificateProblem) }
        let fingerprint = Hex.encode(cert.fingerprint)
        guard record.certificateFingerprint == fingerprint else { throw fail(e, fingerprintProblem) }
        return (AttestorCertificate(role: e.role, certificate: cert, fingerprint: fingerprint, seq: e.seq), signatureIsText ? record.signature : nil)
    }

    /// A journal time (`2026-11-29T03:16:22.123Z`) as a date.
    static func parseTime(_ text: String) -> Date? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.date(from: text)
    }

    static func lowerHex(_ s: String) -> [UInt8]? {
        guard s == s.lowercased(), let b = Hex.decode(s), !b.isEmpty else { return nil }
        return b
    }

    static func verifies(_ cert: Certificate, _ signatureHex: String?, _ message: [UInt8]) -> Bool {
        guard let hex = signatureHex, let signature = lowerHex(hex), let scheme = Attestation.scheme(for: cert.publicKey) else { return false }
        return cert.publicKey.verify(signature: signature, for: message, scheme: scheme)
    }

    /// Checks every attestation in `entries` (a chain whose ceremony-key signatures verified).
    /// - Returns: one line per attesting person and per signed entry, for the report.
    static func check(_ entries: [JournalEntry]) throws -> [String] {
        guard let begin = entries.first else { return [] }
        let nonce = (try? BeginPayload(begin))?.nonce ?? ""
        var roster = AttestationRoster()
        var notes: [String] = []
        for e in entries {
            var recorded: AttestorCertificate?
            if isRollCallRecord(e) {
                let (c, signature) = try readRecord(e)
                if let other = roster.certificates.values.first(where: { $0.fingerprint == c.fingerprint && $0.role != c.role }) {
                    throw fail(e, "role \(c.role) presents the card already recorded for role \(other.role): one card, one person")
                }
                guard let message = Attestation.rollCallMessage(nonce: nonce, beginHash: begin.hash,
                                                                 fingerprint: c.certificate.fingerprint, role: c.role),
                      verifies(c.certificate, signature, message) else {
                    throw fail(e, "the roll-call signature of role \(c.role) does not verify with its card's certificate over this ceremony's nonce and BEGIN: the card was not in this ceremony")
                }
                notes.append("role \(c.role): card certificate \(c.fingerprint.prefix(16))… (\(c.certificate.subject)) signed at the roll call")
                recorded = c
            } else if Seal.isSealed(e.event) {
                try checkSealed(e, roster)
            }
            roster.take(e, certificate: recorded)
        }
        return notes
    }

    /// One ACT_END, CLOSED or ABORTED against the roster before it.
    static func checkSealed(_ e: JournalEntry, _ roster: AttestationRoster) throws {
        let present = Set(roster.present)
        let message = Attestation.entryMessage(e)
        var signed = Set<String>()
        let list: [CanonicalValue]
        switch e.payload[Attestation.field] {
        case nil: list = []
        case .some(.array(let a)): list = a
        default: throw fail(e, "\(e.event): \(Attestation.field) is not a list")
        }
        for item in list {
            guard let o = item.objectValue, Set(o.keys) == ["role", "certificate_fingerprint", "signature"],
                  let role = o["role"]?.stringValue else {
                throw fail(e, "\(e.event): an attestation does not have exactly role, certificate_fingerprint and signature")
            }
            guard let card = roster.certificates[role] else { throw fail(e, "\(e.event): role \(role) attests but no card was recorded for it at a roll call") }
            guard present.contains(role) else { throw fail(e, "\(e.event): role \(role) attests although absent since a break") }
            guard signed.insert(role).inserted else { throw fail(e, "\(e.event): role \(role) attests twice") }
            guard o["certificate_fingerprint"]?.stringValue == card.fingerprint else {
                throw fail(e, "\(e.event): role \(role) attests with a card other than the one recorded at the roll call (entry \(card.seq))")
            }
            guard verifies(card.certificate, o["signature"]?.stringValue, message) else {
                throw fail(e, "\(e.event): the signature of role \(role) does not verify with the card recorded at the roll call: the entry is not the one the participants signed")
            }
        }
        var excused = Set<String>()
        if let missing = e.payload[Attestation.missingField] {
            guard e.event == EventType.aborted else { throw fail(e, "\(e.event) may not excuse a missing attestation; only ABORTED may") }
            guard let items = missing.arrayValue else { throw fail(e, "ABORTED: \(Attestation.missingField) is not a list") }
            for item in items {
                guard let o = item.objectValue, Set(o.keys) == ["role", "reason"], let role = o["role"]?.stringValue,
                      let reason = o["reason"]?.stringValue, !reason.isEmpty, present.contains(role), !signed.contains(role) else {
                    throw fail(e, "ABORTED: an entry of \(Attestation.missingField) is not {role, reason} for a present attesting role that did not sign")
                }
                excused.insert(role)
            }
        }
        if let role = present.sorted().first(where: { !signed.contains($0) && !excused.contains($0) }) {
            throw fail(e, "\(e.event) lacks the signature of role \(role), present with its card since entry \(roster.certificates[role].map { String($0.seq) } ?? "?")")
        }
    }

    /// Every role the script declares `attest: card` has its card recorded in each roll call
    /// that admitted it (the replay's share; the second verifier does not read the script).
    static func checkScript(_ entries: [JournalEntry], script: CeremonyScript) throws {
        let attesting = Set(script.roles.filter(\.attestsWithCard).map(\.id))
        guard !attesting.isEmpty else { return }
        var recorded = Set<String>()
        for e in entries {
            if e.event == EventType.stepStart { recorded = [] }
            if isRollCallRecord(e) { recorded.insert(e.role) }
            if e.event == EventType.stepDone, let done = try? StepDonePayload(e), done.action == IdentifyParticipantsAction.name {
                let admitted = done.result["admitted"]?.arrayValue?.compactMap(\.stringValue) ?? []
                if let role = admitted.first(where: { attesting.contains($0) && !recorded.contains($0) }) {
                    throw fail(e, "role \(role) attests with its card (attest: card) but this roll call recorded no card for it")
                }
            }
        }
    }

    /// `ceremony verify --trust`: each participant's certificate is issued by one of `anchors`
    /// (its signature verifies with the CA's key, and its issuer name is the CA's subject), and
    /// both were valid at the roll call's time.
    static func checkTrust(_ entries: [JournalEntry], anchors: [Certificate]) throws -> [String] {
        var notes: [String] = []
        for e in entries where isRollCallRecord(e) {
            let c = try parseRecord(e)
            let when = parseTime(e.time) ?? Date()
            guard let ca = anchors.first(where: { c.certificate.issuer == $0.subject && c.certificate.isSigned(by: $0.publicKey) }) else {
                throw fail(e, "the certificate of role \(c.role) (\(c.certificate.subject), issued by \(c.certificate.issuer)) is not issued by any --trust CA certificate")
            }
            guard c.certificate.isValid(at: when), ca.isValid(at: when) else {
                throw fail(e, "the certificate of role \(c.role) or its CA (\(ca.subject)) was not valid at the roll call (\(e.time))")
            }
            notes.append("role \(c.role): certificate issued by \(ca.subject) (CA SHA-256 \(Hex.encode(ca.fingerprint).prefix(16))…)")
        }
        return notes
    }
}
