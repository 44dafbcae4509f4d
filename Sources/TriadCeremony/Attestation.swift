import Foundation
import TriadCrypto
import TriadJournal

/// What participants who attest with their own cards sign, and how a transcript carries it
/// (docs/ceremony.md §7 "Attestations").
///
/// A role declared `attest: card` proves its presence with its own PIV card's digital
/// signature key (slot 9C, SP 800-73-4 Part 1 §3.1.2, PIN always): at the roll call the card
/// signs the ceremony's nonce and BEGIN's hash (RECORD `attestor-card`, with the certificate);
/// at every ACT_END and at the terminal entry each attesting person present signs the entry
/// itself (`payload.attestations`), before the ceremony key signs it. A transcript rewritten
/// with a new ceremony key, or cut and closed by someone else, then lacks signatures that
/// only the participants' cards can make — no words from the room are needed to see it.
public enum Attestation {
    /// The RECORD kind of a roll-call proof.
    public static let recordKind = "attestor-card"
    /// Tag of the roll-call message.
    static let rollCallTag = Array("triad-ceremony-attestor-v1\n".utf8)
    /// Tag of the message a participant signs at an act end or the terminal entry.
    static let entryTag = Array("triad-ceremony-attest-v1\n".utf8)
    /// Payload member of a sealed entry listing the participants' signatures.
    public static let field = "attestations"
    /// ABORTED only: the present attesting people who could not sign, and why.
    public static let missingField = "attestations_missing"
    /// Wrong PINs at signing that the witness allowed to retry (part of the signed payload).
    public static let retriesField = "attestation_retries"

    /// The roll-call message: tag ‖ nonce (16 bytes) ‖ BEGIN hash (32) ‖ SHA-256 of the 9C
    /// certificate (32) ‖ the role id in UTF-8.
    static func rollCallMessage(nonce: String, beginHash: String, fingerprint: [UInt8], role: String) -> [UInt8]? {
        guard let n = Hex.decode(nonce), n.count == 16, let h = Hex.decode(beginHash), h.count == 32, fingerprint.count == 32 else { return nil }
        return rollCallTag + n + h + fingerprint + Array(role.utf8)
    }

    /// The message a participant signs for a sealed entry: tag ‖ canonical(entry without
    /// `hash`, and without `payload.signature`, `payload.checkpoint`, `payload.attestations`
    /// and `payload.attestations_missing`).
    public static func entryMessage(_ entry: JournalEntry) -> [UInt8] {
        var unsigned = entry
        if case .object(var members) = entry.payload {
            for k in [Seal.signatureField, Checkpoint.field, field, missingField] { members[k] = nil }
            unsigned.payload = .object(members)
        }
        return entryTag + unsigned.unhashedObject.canonicalBytes
    }

    /// The signature scheme for a 9C key: ECDSA with SHA-256 on P-256, with SHA-384 on
    /// P-384, RSASSA-PKCS1-v1_5 with SHA-256 on RSA (RFC 8017 §8.2); nil for anything else.
    public static func scheme(for key: PublicKey) -> SignatureScheme? {
        switch key.algorithm {
        case .ecP256: return .ecdsaSHA256
        case .ecP384: return .ecdsaSHA384
        case .rsa: return .rsaPKCS1v15SHA256
        default: return nil
        }
    }

    /// Script problems for `ceremony lint`: an attesting role must be called by a roll call,
    /// where its card is first read.
    static func lint(_ script: CeremonyScript, registry: ActionRegistry, reading: ArgumentReading = .current) -> [String] {
        var called = Set<String>()
        for (_, step) in script.allSteps {
            // Lint reports arguments that do not decode on their own; such a step calls no one.
            guard let action = registry.action(named: step.action), let bound = try? action.bind(StepArguments(step.arguments), reading: reading) else { continue }
            called.formUnion(bound.admittedRoles)
        }
        return script.roles.filter { $0.attestsWithCard && !called.contains($0.id) }.map {
            "role \($0.id) attests with its card (attest: card) but no identify-participants step calls it, so its card is never read"
        }
    }
}

/// One attesting person's card as the roll call recorded it.
struct AttestorCertificate {
    var role: String
    var certificate: Certificate
    var fingerprint: String
    /// The entry (RECORD `attestor-card`) that recorded it.
    var seq: Int64
}

/// Who attests, and who of them is present, at any point of a transcript — the one rule the
/// engine (before it signs) and both verifiers (when they check) apply to the journal:
/// a role attests from its RECORD `attestor-card` on, is absent from a RESUME listing it in
/// `absent`, and present again at its next `attestor-card` RECORD.
struct AttestationRoster {
    private(set) var certificates: [String: AttestorCertificate] = [:]
    private(set) var absent: Set<String> = []

    /// The attesting roles present now, sorted.
    var present: [String] { certificates.keys.filter { !absent.contains($0) }.sorted() }

    /// Takes one entry into account (after it was checked).
    mutating func take(_ e: JournalEntry, certificate: AttestorCertificate?) {
        if let certificate { certificates[certificate.role] = certificate; absent.remove(certificate.role) }
        if e.event == EventType.resume {
            for role in (try? ResumePayload(e))?.absent ?? [] { absent.insert(role) }
        }
    }

    /// The roster after `entries`, trusting their roll-call records (the engine's view of its own journal).
    static func of(_ entries: [JournalEntry]) -> AttestationRoster {
        var roster = AttestationRoster()
        for e in entries {
            roster.take(e, certificate: AttestationCheck.isRollCallRecord(e) ? try? AttestationCheck.parseRecord(e) : nil)
        }
        return roster
    }
}
