import Foundation
import TriadCrypto
import TriadJournal
import TriadPIV

/// The roll call's share of attestation (docs/ceremony.md §7 "Attestations"): a person whose
/// role says `attest: card` inserts their own PIV card once their name and number are taken;
/// the tool reads its 9C certificate, checks that it may sign (digitalSignature, in its validity
/// period), has the card sign this ceremony's nonce and BEGIN hash after VERIFY of their PIN
/// (proof of possession, one card transaction), and journals RECORD `attestor-card` with the
/// certificate, its SHA-256 and the signature.
///
/// When several cards are in readers, the one whose certificate's common name is the name the
/// person gave is taken first; otherwise any card not yet claimed, with a note naming the
/// certificate's holder, so the witness checks it before confirming the roll call.
extension IdentifyParticipantsAction {
    static func takeCard(_ context: inout ActionContext, role: String, holder: String, name: String) throws {
        let claimed = context.claimedCards.filter { $0.key != role }
        let input = context.attestationSecretInput ?? context.secretInput
        let allowLast = context.facts.contains(Grant.fact(Grant.lastPINTry))
        let card: PIVKeyOperations
        let askPIN: (Int?) throws -> SecureBytes = { tries in
            try input.read(prompt: "\(holder): the PIN of your card, to sign the roll call\(tries.map { " (\($0) tries left)" } ?? ""): ")
        }
        let unclaimed: (Certificate) -> Bool = { cert in !claimed.values.contains(Hex.encode(cert.fingerprint)) }
        do {
            if let named = AttestorCards.find(allowLastTry: allowLast, askPIN: askPIN, accept: {
                unclaimed($0) && $0.commonName.caseInsensitiveCompare(name) == .orderedSame
            }) {
                card = named
            } else {
                card = try AttestorCards.await(holder, prompter: context.prompter, key: "\(context.step.id).\(role).card",
                                               allowLastTry: allowLast, askPIN: askPIN, accept: unclaimed)
                context.show("  ! \(holder): the card found names \(card.certificate.subject), not \(name): witness, check it is their own card")
            }
        } catch let problem as AttestorCards.Problem {
            throw ActionError("\(problem.reason): each attesting person signs with their own card; insert it and retry, or abort")
        }
        let certificate = card.certificate
        do { try CertificatePolicy.check(certificate, for: .officer) } catch {
            throw ActionError("\(holder): the certificate in slot 9C of your card (\(certificate.subject)) \(error); it cannot attest this ceremony")
        }
        guard let message = Attestation.rollCallMessage(nonce: context.nonce, beginHash: context.beginHash,
                                                         fingerprint: certificate.fingerprint, role: role) else {
            throw ActionError("the ceremony nonce or BEGIN hash is malformed")
        }
        let signature: [UInt8]
        do {
            signature = try AttestorCards.sign(card, message)
        } catch let error as PIVError {
            switch error {
            case .pinIncorrect(let left): throw wrongPIN("\(holder): your card", left: left)
            case .lastPinTryRefused: throw lastTryRefusal("\(holder): your card")
            case .pinBlocked: throw ActionError("\(holder): the PIN of your card is blocked; unblock it with its PUK and run the ceremony again", fatal: true)
            default: throw ActionError("\(holder): your card did not sign: \(error)")
            }
        }
        let fingerprint = Hex.encode(certificate.fingerprint)
        try context.record(AttestorCardRecord(certificate: Hex.encode(certificate.der), certificateFingerprint: fingerprint,
                                              signature: Hex.encode(signature)), role: role)
        context.claimedCards[role] = fingerprint
        context.show("  ✓ \(holder): card certificate \(fingerprint.prefix(16))… (\(certificate.subject)) signed the roll call")
    }
}
