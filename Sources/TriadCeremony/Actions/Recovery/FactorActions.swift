import Foundation
import TriadCrypto
import TriadJournal
import TriadPIV
import TriadRecovery

/// Factor 1 (IT): the escrow blob. Checked completely — structure, checksum, SHA-256
/// against the enrolment record, blob id and certificate — before any card is touched
/// (docs/escrow.md §3, checks 1–4). Its SHA-256 is shown as words for IT and the witness.
struct LoadEscrowBlobAction: CeremonyAction {
    static let name = "load-escrow-blob"
    static let summary = "IT presents the escrow blob; the tool checks it against the enrolment record before any card is used and shows its fingerprint as words."
    static let parameters = [
        ParameterSpec("blob", .text, required: true, "path of the escrow blob IT presents"),
        ParameterSpec("record", .text, required: true, "path of the enrolment record"),
    ]
    static var presents: [RecoveryFactor] { [.escrowBlob] }
    static func produces(_ a: StepArguments) -> [String] { ["blob-loaded"] }
    init() {}

    func run(_ context: inout ActionContext) throws -> ActionOutcome {
        let a = context.arguments
        let blobPath = a.text("blob")!, recordPath = a.text("record")!
        return try drillFactor(context, "blob intact") {
            let recordBytes = try readFile(recordPath, what: "enrolment record")
            let record = try factorStep("enrolment record \(recordPath)") { try EnrolmentRecord(json: recordBytes, path: recordPath) }
            let cert = try factorStep("enrolment record \(recordPath)") { try record.recoveryCertificate() }
            updateDrill(context) { $0.addExpiry("recovery certificate", cert) }
            let bytes = try readFile(blobPath, what: "escrow blob")
            let digest = EscrowBlob.digest(bytes)
            try context.record("escrow-blob-presented", [
                "blob": .string(blobPath), "blob_sha256": .string(hex(digest)), "blob_words": .string(words(digest)),
                "record": .string(recordPath), "record_sha256": .string(hex(SHA256.hash(recordBytes))),
            ])
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
struct IdentifyRecoveryCardAction: CeremonyAction {
    static let name = "identify-recovery-card"
    static let summary = "Management inserts the recovery card; the tool reads its serial, certificate and PIN retry counter and checks them against the enrolment record."
    static let parameters = [ParameterSpec("reader", .text, required: true, "reader name (substring)"),
                             ParameterSpec("record", .text, "the enrolment record, when no blob was loaded (PIN change)")]
    static var presents: [RecoveryFactor] { [.recoveryCard] }
    static func produces(_ a: StepArguments) -> [String] { ["card-identified"] }
    init() {}

    func run(_ context: inout ActionContext) throws -> ActionOutcome {
        try drillFactor(context, "card present and matching") {
            if context.secrets.get(Slot.record) == nil, let path = context.arguments.text("record") {
                let bytes = try readFile(path, what: "enrolment record")
                _ = try factorStep("enrolment record \(path)") { try EnrolmentRecord(json: bytes, path: path) }
                context.secrets.set(Slot.record, SecureBytes(bytes))
            }
            let record = try loadRecord(context)
            let card = try connectCard(context, reader: context.arguments.text("reader"))
            let id = try factorStep("recovery card in \(card.reader)") { try RecoveryCard.identify(transport: card) }
            updateDrill(context) {
                $0.cardSerial = id.serial; $0.pinTriesLeft = id.pinTriesLeft
                $0.addExpiry("card certificate", id.certificate)
            }
            try context.record("card-presented", [
                "reader": .string(card.reader), "serial": id.serial.map { .int(Int64($0)) } ?? .null,
                "card_certificate_fingerprint": .string(id.certificateFingerprint),
                "pin_tries_left": id.pinTriesLeft.map { .int(Int64($0)) } ?? .null, "pin_blocked": .bool(id.pinBlocked),
            ])
            try factorStep("recovery card in \(card.reader)") { try RecoveryCard.check(id, against: record) }
            if let blobBytes = context.secrets.get(Slot.blob) {
                let blob = try factorStep("escrow blob") { try EscrowBlob(parsing: blobBytes.bytes) }
                _ = try factorStep("recovery card in \(card.reader)") { try EscrowSeal.slot(in: blob, for: id.certificate) }
            }
            context.secrets.setText(Slot.cardReader, card.reader)
            context.secrets.setCertificate(Slot.cardCertificate, id.certificate)
            context.secrets.setText(Slot.cardTries, id.pinTriesLeft.map(String.init) ?? "")
            context.show("Card serial \(id.serial.map(String.init) ?? "unknown") is enrolled; \(id.pinTriesLeft.map { "\($0) PIN tries left" } ?? "PIN state unknown").")
            updateDrill(context) { $0.set("card present and matching", .pass, "serial \(id.serial.map(String.init) ?? "?"), certificate \(id.certificateFingerprint.prefix(16))… enrolled") }
            return ActionOutcome(["serial": id.serial.map { .int(Int64($0)) } ?? .null,
                                  "pin_tries_left": id.pinTriesLeft.map { .int(Int64($0)) } ?? .null])
        }
    }
}

/// Factor 3 (Medical): the PIN, read from the terminal (echo off) or `--pin-fd`, never from
/// an answers file; kept in memory until the unlock step, which verifies it on the card.
struct TakePINAction: CeremonyAction {
    static let name = "take-pin"
    static let summary = "The Medical custodian types the recovery card's PIN (not echoed, never logged); the tool shows the tries left first."
    static let parameters = [ParameterSpec("allow-last-try", .flag, "spend the last PIN try (otherwise refused)")]
    static var presents: [RecoveryFactor] { [.cardPIN] }
    static func requires(_ a: StepArguments) -> [String] { ["card-identified"] }
    init() {}

    func run(_ context: inout ActionContext) throws -> ActionOutcome {
        let tries = context.secrets.text(Slot.cardTries).flatMap { Int($0) }
        if tries == 1 && context.arguments.flag("allow-last-try") != true {
            updateDrill(context) { $0.set("PIN known", .fail, "only one PIN try left; not spent") }
            throw ActionError("PIN: only one try is left on the card; refused without allow-last-try. Check the PIN and run a ceremony that allows the last try.", fatal: true)
        }
        context.show("PIN tries left: \(tries.map(String.init) ?? "unknown"). The tool never retries by itself.")
        let pin = try factorStep("PIN") { try context.readSecret(prompt: "Recovery card PIN: ") }
        context.secrets.set(Slot.pin, pin)
        try context.record("pin-entered", ["tries_left_before": tries.map { .int(Int64($0)) } ?? .null])
        return ActionOutcome()
    }
}

/// Combines the three factors: the card (VERIFY with the PIN, then GENERAL AUTHENTICATE, in
/// one transaction) unwraps the blob's KEK, which opens the recovery key, which must match
/// the recovery certificate. The key stays in this process's memory only.
struct UnlockRecoveryKeyAction: CeremonyAction {
    static let name = "unlock-recovery-key"
    static let summary = "The card, with the PIN, unwraps the escrow blob's key; the recovery key is unlocked in memory only and checked against the recovery certificate."
    static let parameters: [ParameterSpec] = []
    static var combines: [RecoveryFactor] { [.escrowBlob, .recoveryCard, .cardPIN] }
    static func produces(_ a: StepArguments) -> [String] { ["recovery-key-unlocked", "recovery-key-available"] }
    init() {}

    func run(_ context: inout ActionContext) throws -> ActionOutcome {
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
                        throw RecoveryError.card("the card in the reader is not the one identified earlier in this ceremony")
                    }
                    let blob = try EscrowBlob(parsing: blobBytes.bytes)
                    return try RecoveryCard.unlock(blob, card: ops, recoveryCertificate: cert)
                }
            }
        }
        updateDrill(context) { $0.set("PIN known", .pass, "the card accepted the PIN and unwrapped the blob's key") }
        secrets.set(Slot.recoveryKey, try key.pkcs8DER())
        let kcv = key.publicKey.fingerprint
        try context.record("recovery-key-unlocked", [
            "public_key_fingerprint": .string(hex(kcv)), "matches_certificate": .bool(key.publicKey == cert.publicKey),
            "recovery_certificate_fingerprint": .string(hex(cert.fingerprint)),
        ])
        return ActionOutcome(["public_key_fingerprint": .string(hex(kcv))])
    }
}
