import Foundation
import TriadCrypto
import TriadJournal
import TriadRecovery

/// The recovery card's signature in a transcript (docs/ceremony.md §7 "Card signatures",
/// docs/recovery.md §2a): every STEP_DONE of `identify-recovery-card` carries
/// `result.card_auth`, either the string `not-enrolled` (a card enrolled before card
/// authentication; reported, not refused) or an object
///
///     { "certificate": hex DER of the 9E certificate,
///       "certificate_fingerprint": hex SHA-256 of it,
///       "issuer_certificate": hex DER of the certificate that issued it,
///       "serial": the card's serial or null,
///       "card_certificate_fingerprint": hex SHA-256 of the 9D certificate,
///       "signature": hex DER ECDSA P-256 signature }
///
/// which verifies when the 9E certificate is signed by the issuer and the signature verifies
/// with its key over the message of `CardAuthentication.message` built from BEGIN's `nonce`
/// and `hash`. A missing or malformed `card_auth`, or a signature that does not verify, is
/// refused at that entry. Both verifiers check it after the ceremony key's signatures
/// (§8 item 4), so they name the same first bad entry.
enum CardAuthCheck {
    /// The STEP_DONE result member.
    static let field = "card_auth"
    /// `card_auth` of a card enrolled without a card authentication key.
    static let notEnrolled = "not-enrolled"
    /// The action whose STEP_DONE carries it.
    static let action = IdentifyRecoveryCardAction.name

    /// What STEP_DONE journals for `proof`.
    static func journalValue(_ proof: CardAuthentication) -> CanonicalValue {
        .object([
            "certificate": .string(Hex.encode(proof.certificate.der)),
            "certificate_fingerprint": .string(Hex.encode(proof.certificate.fingerprint)),
            "issuer_certificate": .string(Hex.encode(proof.issuer.der)),
            "serial": proof.serial.map { .int(Int64($0)) } ?? .null,
            "card_certificate_fingerprint": .string(Hex.encode(proof.cardCertificateFingerprint)),
            "signature": .string(Hex.encode(proof.signature)),
        ])
    }

    /// Checks every card signature in `entries` (a chain already verified), and with
    /// `records` (`ceremony verify --record`) that each comes from an enrolled card's enrolled
    /// 9E certificate and issuer, and that no card the records give a 9E key says `not-enrolled`.
    /// - Returns: one line per identification, for the report.
    static func check(_ entries: [JournalEntry], records: [EnrolmentRecord] = []) throws -> [String] {
        guard let begin = entries.first else { return [] }
        let nonce = (try? BeginPayload(begin))?.nonce ?? ""
        var notes: [String] = []
        for e in entries where e.event == EventType.stepDone {
            guard let done = try? StepDonePayload(e), done.action == action else { continue }
            func fail(_ m: String) -> VerifyFailure {
                VerifyFailure(entry: Int(e.seq), message: "the recovery card's signature at step \(e.step): \(m)")
            }
            guard let value = done.result[field] else {
                throw fail("missing (no \(field) in STEP_DONE): card presence is not proven")
            }
            if value.stringValue == notEnrolled {
                let presented = entries.last { $0.seq < e.seq && $0.step == e.step && CardPresentedRecord.matches($0) }
                    .flatMap { try? CardPresentedRecord($0) }?.cardCertificateFingerprint
                if let presented, records.contains(where: { $0.cards.contains { $0.certificateFingerprint.lowercased() == presented && $0.hasCardAuthentication } }) {
                    throw fail("\"\(notEnrolled)\", but the enrolment record gives card \(presented.prefix(16))… a card authentication key")
                }
                notes.append("step \(e.step): card presence NOT proven by signature (card enrolled before card authentication)")
                continue
            }
            let proof: CardAuthentication
            do { proof = try parse(value) } catch { throw fail("\(error)") }
            if let problem = proof.problem(nonce: nonce, beginHash: begin.hash) { throw fail(problem) }
            if !records.isEmpty && !records.contains(where: { $0.cards.contains { enrolled(proof, as: $0) } }) {
                throw fail("the card, its 9E certificate or its issuer is not the one the enrolment record lists")
            }
            notes.append("step \(e.step): card serial \(proof.serial.map(String.init) ?? "unknown") signed this ceremony's nonce; "
                         + "9E certificate \(Hex.encode(proof.certificate.fingerprint).prefix(16))… issued by \(Hex.encode(proof.issuer.fingerprint))")
        }
        return notes
    }

    /// True when `card` is the card of `proof`: 9D and 9E certificates and the 9E issuer as recorded.
    static func enrolled(_ proof: CardAuthentication, as card: EnrolmentRecord.Card) -> Bool {
        guard card.certificateFingerprint.lowercased() == Hex.encode(proof.cardCertificateFingerprint),
              card.cardAuthCertificateFingerprint?.lowercased() == Hex.encode(proof.certificate.fingerprint),
              let issuer = try? card.cardAuthIssuer() else { return false }
        return issuer == proof.issuer
    }

    struct Malformed: Error, CustomStringConvertible { let description: String }

    static func parse(_ value: CanonicalValue) throws -> CardAuthentication {
        guard let o = value.objectValue,
              Set(o.keys) == ["certificate", "certificate_fingerprint", "issuer_certificate", "serial", "card_certificate_fingerprint", "signature"] else {
            throw Malformed(description: "\(field) is neither \"\(notEnrolled)\" nor an object with exactly the six members of docs/ceremony.md §7")
        }
        func bytes(_ k: String) throws -> [UInt8] {
            guard let s = o[k]?.stringValue, s == s.lowercased(), let b = Hex.decode(s), !b.isEmpty else {
                throw Malformed(description: "\(k) is not lowercase hex")
            }
            return b
        }
        let serial: UInt32?
        switch o["serial"] {
        case .some(.null): serial = nil
        case .some(.int(let n)) where n >= 0 && n <= Int64(UInt32.max): serial = UInt32(n)
        default: throw Malformed(description: "serial is neither null nor a 32-bit number")
        }
        guard let cert = try? Certificate(der: try bytes("certificate")), let issuer = try? Certificate(der: try bytes("issuer_certificate")) else {
            throw Malformed(description: "certificate or issuer_certificate is not a DER X.509 certificate")
        }
        guard try bytes("certificate_fingerprint") == cert.fingerprint else {
            throw Malformed(description: "certificate_fingerprint is not the SHA-256 of certificate")
        }
        return CardAuthentication(serial: serial, cardCertificateFingerprint: try bytes("card_certificate_fingerprint"),
                                  certificate: cert, issuer: issuer, signature: try bytes("signature"))
    }
}
