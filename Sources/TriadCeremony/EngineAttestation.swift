import Foundation
import TriadCrypto
import TriadJournal
import TriadPIV

/// The engine's share of attestation (docs/ceremony.md §7 "Attestations"): before an ACT_END,
/// CLOSED or ABORTED is written, every attesting person present (by `AttestationRoster`, the
/// verifiers' rule) finds their card and types their PIN, which is verified there and then;
/// inside the journal's write transaction, once `seq`, `time` and `prev_hash` are fixed, each
/// card signs the entry, then the ceremony key signs it with their signatures in it.
///
/// Nobody present is skipped silently. At an ACT_END or CLOSED a wrong PIN while two or more
/// tries remain is retried if the witness allows it (the entry lists it in
/// `attestation_retries`); a card that does not come back, a blocked PIN or a last try ends the
/// ceremony ABORTED. At ABORTED each present person is asked once; whoever cannot sign (no card,
/// no PIN, a wrong one) is listed with the reason in `attestations_missing`.
extension Engine {
    /// Gives a roll call the script's attesting roles and the cards recorded so far.
    func prepareAttestation(_ context: inout ActionContext) throws {
        let attesting = Set(script.roles.filter(\.attestsWithCard).map(\.id))
        guard !attesting.isEmpty else { return }
        context.attestingRoles = attesting
        context.attestationSecretInput = options.attestationSecretInput
        context.claimedCards = AttestationRoster.of(try journal.entries(ceremony: ceremonyID)).certificates.mapValues(\.fingerprint)
    }

    /// Appends sealed `event` with the present attesting people's signatures; nil when nobody
    /// attests at this point (the caller seals as usual).
    func appendAttested(_ event: EventType, _ base: [String: CanonicalValue], role: String, key: CeremonyKey) throws -> JournalEntry? {
        let roster = AttestationRoster.of(try journal.entries(ceremony: ceremonyID))
        let roles = roster.present
        guard !roles.isEmpty else { return nil }
        let terminal = event == EventType.aborted
        let what = event == EventType.actEnd ? "the end of act \(position.act)" : "the \(event) entry"
        var payload = base
        var retries: [CanonicalValue] = []
        var missing: [String: String] = [:]
        var cards: [String: PIVKeyOperations] = [:]
        var failures = 0
        while true {
            for r in roles where cards[r] == nil && missing[r] == nil {
                guard let certificate = roster.certificates[r] else { continue }  // `present` lists only roles with one
                do {
                    cards[r] = try readyCard(r, certificate, what: what, terminal: terminal, retries: &retries)
                } catch let problem as AttestorCards.Problem {
                    if terminal { missing[r] = problem.reason } else { throw Stop.aborted(step: position.step, reason: problem.reason) }
                }
            }
            if !retries.isEmpty { payload[Attestation.retriesField] = .array(retries) }
            if !missing.isEmpty {
                payload[Attestation.missingField] = .array(missing.sorted { $0.key < $1.key }.map { ["role": .string($0.key), "reason": .string($0.value)] })
            }
            var failed: (role: String, error: Error)?
            do {
                return try journal.append(ceremony: ceremonyID, act: position.act, step: position.step, role: role, event: event,
                                          payload: .object(payload), seal: { entry in
                    let message = Attestation.entryMessage(entry)
                    var list: [CanonicalValue] = []
                    for r in roles {
                        guard let card = cards[r], let certificate = roster.certificates[r] else { continue }
                        do {
                            let signature = try AttestorCards.sign(card, message)
                            list.append(["role": .string(r), "certificate_fingerprint": .string(certificate.fingerprint),
                                         "signature": .string(Hex.encode(signature))])
                        } catch {
                            failed = (r, error)
                            throw error
                        }
                    }
                    var signed = entry
                    var members = entry.payload.objectValue ?? [:]
                    members[Attestation.field] = .array(list)
                    signed.payload = .object(members)
                    return try key.seal(signed)
                })
            } catch let error as JournalError {
                // Only a card that failed inside the transaction is handled here; the entry was not written.
                guard let (r, cause) = failed else { throw error }
                cards[r] = nil
                failures += 1
                let who = participants.person(for: r)?.display ?? r
                if terminal { missing[r] = "the card did not sign: \(cause)"; continue }
                guard failures < 3 else { throw Stop.aborted(step: position.step, reason: "\(who)'s card did not sign \(what): \(cause)") }
                prompter.show("✗ \(who)'s card did not sign \(what) (\(cause)); it is asked again.")
            }
        }
    }

    /// The card of `role`, found in a reader, with its PIN typed and verified. A wrong PIN
    /// while two or more tries remain is asked again if the witness allows it.
    private func readyCard(_ r: String, _ recorded: AttestorCertificate, what: String, terminal: Bool,
                           retries: inout [CanonicalValue]) throws -> PIVKeyOperations {
        let person = participants.person(for: r)
        let holder = "\(script.role(r)?.title ?? r) \(person?.name ?? "")"
        if terminal && Interruption.final { throw AttestorCards.Problem(reason: "the ceremony was interrupted") }
        let input = options.attestationSecretInput
        let key = "\(position.act.isEmpty ? event(for: what) : position.act).attest.\(r)"
        while true {
            let card: PIVKeyOperations
            if terminal {
                guard let found = AttestorCards.find(askPIN: { _ in try input.read(prompt: "\(holder): the PIN of your card, to sign \(what) (Enter to decline): ") },
                                                     accept: { $0.fingerprint == recorded.certificate.fingerprint }) else {
                    throw AttestorCards.Problem(reason: "\(holder): the card recorded at the roll call is in no reader")
                }
                card = found
            } else {
                card = try AttestorCards.await(holder, prompter: prompter, key: "\(key).card",
                    askPIN: { tries in
                        try input.read(prompt: "\(holder): the PIN of your card, to sign \(what)\(tries.map { " (\($0) tries left)" } ?? ""): ")
                    },
                    accept: { $0.fingerprint == recorded.certificate.fingerprint })
            }
            do {
                try card.verifyPIN()
                return card
            } catch {
                if terminal { throw AttestorCards.Problem(reason: "\(holder): \(error)") }
                guard let left = AttestorCards.wrongPINTriesLeft(error), left >= 2 else {
                    throw AttestorCards.Problem(reason: "\(holder): the card cannot sign \(what): \(error)")
                }
                prompter.show("✗ \(holder): the card refused the PIN; \(left) tries left.")
                guard let witnessRole = script.witnessRole, participants.isPresent(witnessRole.id),
                      let witness = participants.person(for: witnessRole.id) else {
                    throw AttestorCards.Problem(reason: "\(holder): wrong PIN, and no witness present to allow another try")
                }
                guard try yesNo("\(key).retry", "\(witness.display), \(witnessRole.title): may \(holder) type the PIN again?") else {
                    throw AttestorCards.Problem(reason: "\(holder): wrong PIN; the witness did not allow another try")
                }
                retries.append(["role": .string(r), "tries_left": .int(Int64(left)), "witness": .string(witness.display)])
            }
        }
    }

    private func event(for what: String) -> String { what.contains("CLOSED") ? "closed" : "aborted" }
}
