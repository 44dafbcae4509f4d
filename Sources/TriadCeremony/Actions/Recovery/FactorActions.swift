import Foundation
import TriadCrypto
import TriadJournal
import TriadPCSC
import TriadPIV
import TriadRecovery

/// Factor 1 (IT): the escrow blob. Checked completely — structure, checksum, SHA-256
/// against the enrolment record, blob id and certificate — before any card is touched
/// (docs/escrow.md §3, checks 1–4). Its SHA-256 is shown as words for IT and the witness.
struct LoadEscrowBlobAction: CeremonyAction {
    static let name = "load-escrow-blob"
    static let summary = "IT presents the escrow blob; the tool checks it against the enrolment record before any card is used and shows its fingerprint as words."
    /// The blob's and the record's paths.
    struct Arguments: ActionArguments {
        static let parameters = [
            ParameterSpec("blob", .text, required: true, check: .existingFile, "path of the escrow blob IT presents"),
            ParameterSpec("record", .text, required: true, check: .existingFile, "path of the enrolment record"),
        ]
        var blob: String, record: String
        init(from a: ArgumentReader) throws { blob = try a.requiredText("blob"); record = try a.requiredText("record") }
    }
    static var presents: [RecoveryFactor] { [.escrowBlob] }
    static func produces(_ a: Arguments) -> [String] { ["blob-loaded"] }
    init() {}

    func run(_ a: Arguments, _ context: inout ActionContext) throws -> ActionOutcome {
        let blobPath = a.blob, recordPath = a.record
        return try drillFactor(context, "blob intact") {
            let recordBytes = try readFile(recordPath, what: "enrolment record")
            let record = try factorStep("enrolment record \(recordPath)") { try EnrolmentRecord(json: recordBytes, path: recordPath) }
            let cert = try factorStep("enrolment record \(recordPath)") { try record.recoveryCertificate() }
            updateDrill(context) { $0.addExpiry("recovery certificate", cert) }
            let bytes = try readFile(blobPath, what: "escrow blob")
            let digest = EscrowBlob.digest(bytes)
            try context.record(EscrowBlobPresentedRecord(blob: blobPath, blobSHA256: hex(digest), blobWords: words(digest),
                                                         record: recordPath, recordSHA256: hex(SHA256.hash(recordBytes))))
            let blob = try factorStep("escrow blob \(blobPath)") { try EscrowSeal.check(bytes, against: record) }
            context.secrets.set(Slot.blob, SecureBytes(bytes))
            context.secrets.set(Slot.record, SecureBytes(recordBytes))
            context.secrets.setCertificate(Slot.recoveryCertificate, cert)
            context.show("Escrow blob intact. SHA-256 words: \(words(digest)) — IT and the witness compare them with the key-generation record.")
            updateDrill(context) { $0.set("blob intact", .pass, "SHA-256 \(hex(digest).prefix(16))… matches the enrolment record") }
            return ActionOutcome(["blob_id": .string(hex(blob.blobID)), "blob_sha256": .string(hex(digest)),
                                  "recovery_certificate_fingerprint": .string(hex(blob.recoveryCertificateFingerprint)),
                                  "card_slots": .int(Int64(blob.slots.count))])
        }
    }
}

/// Factor 2 (Management): the recovery card. Serial, 9D certificate and PIN retry counter
/// are read (no PIN) and checked against the enrolment record; all three are journaled.
/// A card enrolled with a card authentication key then signs this ceremony's nonce with it
/// (no PIN; docs/recovery.md §2a), checked against the record's 9E certificate before the
/// signature is journaled in STEP_DONE (`card_auth`); a card that cannot is refused here.
struct IdentifyRecoveryCardAction: CeremonyAction {
    static let name = "identify-recovery-card"
    static let summary = "Management inserts the recovery card; the tool reads its serial, certificate and PIN retry counter and checks them against the enrolment record."
    /// The reader, the record when no blob was loaded, and whether a blocked PIN is accepted.
    struct Arguments: ActionArguments {
        static let parameters = [ParameterSpec("reader", .text, required: true, check: .reader, "reader name (substring)"),
                                 ParameterSpec("record", .text, check: .existingFile, "the enrolment record, when no blob was loaded (PIN change)"),
                                 ParameterSpec("allow-blocked", .flag, "accept a card whose PIN is blocked (PIN change with the PUK)")]
        var reader: String, record: String?, allowBlocked: Bool
        init(from a: ArgumentReader) throws {
            reader = try a.requiredText("reader"); record = try a.text("record"); allowBlocked = try a.flag("allow-blocked")
        }
    }
    static var presents: [RecoveryFactor] { [.recoveryCard] }
    static func produces(_ a: Arguments) -> [String] { ["card-identified"] }
    init() {}

    func run(_ arguments: Arguments, _ context: inout ActionContext) throws -> ActionOutcome {
        try drillFactor(context, "card present and matching") {
            if context.secrets.get(Slot.record) == nil, let path = arguments.record {
                let bytes = try readFile(path, what: "enrolment record")
                _ = try factorStep("enrolment record \(path)") { try EnrolmentRecord(json: bytes, path: path) }
                context.secrets.set(Slot.record, SecureBytes(bytes))
            }
            let record = try loadRecord(context)
            let card = try waitForCard(&context, reader: arguments.reader)
            let id = try factorStep("recovery card in \(card.reader)") { try RecoveryCard.identify(transport: card) }
            updateDrill(context) {
                $0.cardSerial = id.serial; $0.pinTriesLeft = id.pinTriesLeft
                $0.addExpiry("card certificate", id.certificate)
            }
            try context.record(CardPresentedRecord(reader: card.reader, serial: id.serial.map(Int64.init),
                                                   cardCertificateFingerprint: id.certificateFingerprint,
                                                   pinTriesLeft: id.pinTriesLeft.map(Int64.init), pinBlocked: id.pinBlocked))
            do {
                try RecoveryCard.check(id, against: record)
            } catch RecoveryError.cardBlocked where arguments.allowBlocked {
                context.show("The card's PIN is blocked; the next step unblocks it with the PUK.")
            } catch {
                try factorStep("recovery card in \(card.reader)") { () throws -> Void in throw error }
            }
            if let blobBytes = context.secrets.get(Slot.blob) {
                let blob = try factorStep("escrow blob") { try EscrowBlob(parsing: blobBytes.bytes) }
                _ = try factorStep("recovery card in \(card.reader)") { try EscrowSeal.slot(in: blob, for: id.certificate) }
            }
            if id.pinTriesLeft == 1 && !id.pinBlocked && !context.facts.contains(Grant.fact(Grant.lastPINTry)) {
                throw lastTryRefusal("card step: card serial \(id.serial.map(String.init) ?? "unknown")")
            }
            let cardAuth = try proveCardPresence(&context, card: card, record: record, id: id)
            context.secrets.setText(Slot.cardReader, card.reader)
            context.secrets.setCertificate(Slot.cardCertificate, id.certificate)
            context.secrets.setText(Slot.cardTries, id.pinTriesLeft.map(String.init) ?? "")
            context.show("Card serial \(id.serial.map(String.init) ?? "unknown") is enrolled; \(id.pinTriesLeft.map { "\($0) PIN tries left" } ?? "PIN state unknown").")
            updateDrill(context) { $0.set("card present and matching", .pass, "serial \(id.serial.map(String.init) ?? "?"), certificate \(id.certificateFingerprint.prefix(16))… enrolled; "
                + (cardAuth.stringValue == nil ? "presence proven by its 9E signature" : "presence NOT proven by signature (enrolled before card authentication)")) }
            return ActionOutcome(["serial": id.serial.map { .int(Int64($0)) } ?? .null,
                                  "pin_tries_left": id.pinTriesLeft.map { .int(Int64($0)) } ?? .null,
                                  CardAuthCheck.field: cardAuth])
        }
    }

    /// The card's 9E key signs this ceremony's message; the result is what STEP_DONE carries
    /// as `card_auth` (docs/ceremony.md §7 "Card signatures"): the signature with what checks
    /// it, or `not-enrolled` for a card enrolled before card authentication existed.
    func proveCardPresence(_ context: inout ActionContext, card: any CardTransport, record: EnrolmentRecord,
                           id: CardIdentification) throws -> CanonicalValue {
        let serialText = id.serial.map(String.init) ?? "unknown"
        guard let enrolled = record.card(withFingerprint: id.certificate.fingerprint), enrolled.hasCardAuthentication else {
            try context.record(CardPresenceNotProvenRecord(serial: id.serial.map(Int64.init),
                                                           reason: "card enrolled without a card authentication key"))
            context.show("⚠ Card serial \(serialText) was enrolled before card authentication: its presence is NOT proven by a signature. Replace it in a card-replacement ceremony.")
            return .string(CardAuthCheck.notEnrolled)
        }
        let proof = try factorStep("card step (\(context.step.id)): recovery card in \(card.reader)") {
            try CardAuthentication.prove(transport: card, nonce: context.nonce, beginHash: context.beginHash, enrolled: enrolled)
        }
        let value = CardAuthCheck.journalValue(proof)
        try context.record(CardAuthenticatedRecord(serial: proof.serial.map(Int64.init),
                                                   cardAuthCertificateFingerprint: hex(proof.certificate.fingerprint)))
        context.show("✓ Card serial \(serialText) signed this ceremony's nonce with its enrolled card authentication key (9E, no PIN).")
        return value
    }
}

/// Factor 3 (Medical): the PIN, read from the terminal (echo off) or `--pin-fd`, never from
/// an answers file, and verified on the card at this step, in one card transaction, so that a
/// mistyped PIN is found here and can be retried (witnessed) while two or more tries remain.
/// The tries left before and after are shown and journaled; the PIN stays in memory for the
/// unlock step, which verifies it again in the transaction that uses the key.
struct TakePINAction: CeremonyAction {
    static let name = "take-pin"
    static let summary = "The Medical custodian types the recovery card's PIN (not echoed, never logged); the card checks it at once and the tool shows the tries left before and after."
    /// Whether the last PIN try may be spent without a witnessed exception.
    struct Arguments: ActionArguments {
        static let parameters = [ParameterSpec("allow-last-try", .flag, "spend the last PIN try (otherwise only a witnessed exception allows it)")]
        var allowLastTry: Bool
        init(from a: ArgumentReader) throws { allowLastTry = try a.flag("allow-last-try") }
    }
    static var presents: [RecoveryFactor] { [.cardPIN] }
    static func requires(_ a: Arguments) -> [String] { ["card-identified"] }
    init() {}

    func run(_ arguments: Arguments, _ context: inout ActionContext) throws -> ActionOutcome {
        let allowLast = arguments.allowLastTry || context.facts.contains(Grant.fact(Grant.lastPINTry))
        guard let identified = context.secrets.certificate(Slot.cardCertificate) else {
            throw ActionError("no card was identified in this ceremony: run the card step first", fatal: true)
        }
        let card = try waitForCard(&context, reader: nil)
        var before: Int?
        var typed: SecureBytes?
        let asking = context
        let ops = try factorStep("recovery card") {
            try RecoveryCard.key(transport: card, allowLastPinTry: allowLast) { tries in
                before = tries
                asking.show("PIN tries left: \(tries.map(String.init) ?? "unknown"). The tool never retries by itself.")
                let pin = try asking.readSecret(prompt: "Recovery card PIN: ")
                typed = pin
                return pin
            }
        }
        guard ops.certificate == identified else {
            throw ActionError("the card in the reader is not the one identified earlier in this ceremony", fatal: true)
        }
        do {
            try ops.verifyPIN()
        } catch PIVError.lastPinTryRefused {
            updateDrill(context) { $0.pinTriesLeft = 1 }
            throw lastTryRefusal("PIN step")
        } catch PIVError.pinIncorrect(let left) {
            context.secrets.setText(Slot.cardTries, String(left))
            updateDrill(context) { $0.pinTriesLeft = left; $0.set("PIN known", left >= 1 ? .notReached : .fail, "the card refused a PIN; \(left) tries left") }
            try context.record(PINRefusedRecord(during: .pinStep(triesLeftBefore: before.map(Int64.init)), triesLeftAfter: Int64(left)))
            throw wrongPIN("PIN step", left: left)
        } catch PIVError.pinBlocked {
            updateDrill(context) { $0.pinTriesLeft = 0; $0.set("PIN known", .fail, "the card's PIN is blocked") }
            throw wrongPIN("PIN step", left: 0)
        } catch {
            throw ActionError("PIN step: \(error)", fatal: true)
        }
        guard let pin = typed else { throw ActionError("PIN step: the card did not ask for a PIN", fatal: true) }
        context.secrets.set(Slot.pin, pin)
        // Clear the verified state again (the unlock step verifies in its own transaction) and
        // read the counter the correct PIN reset.
        let client = PIVClient(transport: card)
        let after: Int? = (try? card.withTransaction { () -> Int? in
            _ = try client.select()
            try? client.logout()
            if case .triesLeft(let n) = try client.pinStatus() { return n }
            return nil
        }) ?? nil
        let shown = after.map { "\($0) tries left" } ?? "the counter is back to its maximum"
        try context.record(PINVerifiedRecord(triesLeftBefore: before.map(Int64.init), triesLeftAfter: after.map(Int64.init)))
        context.show("✓ The card accepted the PIN (checked now, in one card transaction); \(shown).")
        updateDrill(context) { $0.pinTriesLeft = after ?? $0.pinTriesLeft }
        return ActionOutcome(["pin_verified": .bool(true), "tries_left_before": before.map { .int(Int64($0)) } ?? .null])
    }
}

/// Combines the three factors: the card (VERIFY with the PIN, then GENERAL AUTHENTICATE, in
/// one transaction) unwraps the blob's KEK, which opens the recovery key, which must match
/// the recovery certificate. The key stays in this process's memory only.
struct UnlockRecoveryKeyAction: CeremonyAction {
    static let name = "unlock-recovery-key"
    static let summary = "The card, with the PIN, unwraps the escrow blob's key; the recovery key is unlocked in memory only and checked against the recovery certificate."
    static var combines: [RecoveryFactor] { [.escrowBlob, .recoveryCard, .cardPIN] }
    static func produces(_ a: NoArguments) -> [String] { ["recovery-key-unlocked", "recovery-key-available"] }
    init() {}

    func run(_ arguments: NoArguments, _ context: inout ActionContext) throws -> ActionOutcome {
        let secrets = context.secrets
        defer { secrets.remove(Slot.pin) }
        guard let pin = secrets.get(Slot.pin), let blobBytes = secrets.get(Slot.blob),
              let identified = secrets.certificate(Slot.cardCertificate), let cert = secrets.certificate(Slot.recoveryCertificate) else {
            throw ActionError("a factor is missing: present the blob, the card and the PIN in this ceremony", fatal: true)
        }
        let card = try connectCard(context, reader: nil)
        let key: PrivateKey
        do {
            key = try drillFactor(context, "PIN known") {
                try factorStep("unlock") {
                    let ops = try RecoveryCard.key(transport: card, allowLastPinTry: true) { _ in pin }
                    guard ops.certificate == identified else {
                        throw RecoveryError.card(problem: "the card in the reader is not the one identified earlier in this ceremony")
                    }
                    let blob = try EscrowBlob(parsing: blobBytes.bytes)
                    return try RecoveryCard.unlock(blob, card: ops, recoveryCertificate: cert)
                }
            }
        }
        updateDrill(context) { $0.set("PIN known", .pass, "the card accepted the PIN and unwrapped the blob's key") }
        secrets.set(Slot.recoveryKey, try key.pkcs8DER())
        let kcv = key.publicKey.fingerprint
        try context.record(RecoveryKeyUnlockedRecord(publicKeyFingerprint: hex(kcv), matchesCertificate: key.publicKey == cert.publicKey,
                                                     recoveryCertificateFingerprint: hex(cert.fingerprint)))
        context.show("✓ Recovery key unlocked in memory only; it matches the recovery certificate (public key words \(words(kcv))).")
        return ActionOutcome(["public_key_fingerprint": .string(hex(kcv))])
    }
}
