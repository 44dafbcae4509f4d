import Foundation
import TriadCrypto
import TriadJournal
import TriadPIV
import TriadRecovery

/// Generates the recovery key pair and its self-signed certificate (and optionally a CSR
/// for the organisation's CA) in memory; writes only the certificate. With `as: new` it
/// makes the *new* key of a recovery-key rotation; with `adopt-record` naming an existing
/// record (a rotation that was interrupted), it takes that record's certificate instead.
struct GenerateRecoveryKeyAction: CeremonyAction {
    static let name = "generate-recovery-key"
    static let summary = "The tool generates the recovery key pair in memory and writes its X.509 certificate (and a CSR if asked)."
    /// Where the certificate goes and how the key is made; `as: new` for a rotation.
    struct Arguments: ActionArguments {
        static let parameters = [
            ParameterSpec("certificate", .text, required: true, "where to write the recovery certificate (PEM, new file)"),
            ParameterSpec("subject", .text, "certificate subject, e.g. CN=Triad recovery,O=Hospital"),
            ParameterSpec("algorithm", .text, "p256 (default), p384 or rsa3072"),
            ParameterSpec("days", .text, "validity in days (default 3650)"),
            ParameterSpec("csr", .text, "also write a PKCS#10 request for the organisation's CA here"),
            ParameterSpec("as", .text, "current (default) or new (rotation)"),
            ParameterSpec("adopt-record", .text, "rotation resume: if this record exists, take its certificate instead of generating"),
        ]
        var certificate: String, subject: String?, algorithm: String?, days: String?, csr: String?, adoptRecord: String?
        /// `as: new`: the rotation's new key, kept apart from the unlocked current one.
        var isNew: Bool
        init(from a: ArgumentReader) throws {
            certificate = try a.requiredText("certificate"); subject = try a.text("subject"); algorithm = try a.text("algorithm")
            days = try a.text("days"); csr = try a.text("csr"); isNew = try a.text("as") == "new"; adoptRecord = try a.text("adopt-record")
        }
    }
    static func produces(_ a: Arguments) -> [String] {
        a.isNew ? ["new-recovery-certificate"] : ["recovery-key-generated", "recovery-key-available"]
    }
    static func mayAlsoProduce(_ a: Arguments) -> [String] { a.adoptRecord == nil ? [] : ["rotation-resumed"] }
    init() {}

    func run(_ a: Arguments, _ context: inout ActionContext) throws -> ActionOutcome {
        let isNew = a.isNew
        let keySlot = isNew ? Slot.newRecoveryKey : Slot.recoveryKey
        let certSlot = isNew ? Slot.newRecoveryCertificate : Slot.recoveryCertificate
        if let adopt = a.adoptRecord, !adopt.isEmpty, FileManager.default.fileExists(atPath: adopt) {
            let record = try factorStep("rotation record") { try EnrolmentRecord.load(path: adopt) }
            let cert = try factorStep("rotation record") { try record.recoveryCertificate() }
            context.secrets.setCertificate(certSlot, cert)
            try context.record(RecoveryCertificateAdoptedRecord(record: adopt, fingerprint: hex(cert.fingerprint)))
            return ActionOutcome(["adopted": .bool(true), "certificate_fingerprint": .string(hex(cert.fingerprint))], facts: ["rotation-resumed"])
        }
        let algorithm: KeyAlgorithm
        switch a.algorithm ?? "p256" {
        case "p256": algorithm = .ecP256
        case "p384": algorithm = .ecP384
        case "rsa3072": algorithm = .rsa(bits: 3072)
        case let other: throw ActionError("algorithm \(other) is not p256, p384 or rsa3072", fatal: true)
        }
        let subject = a.subject ?? "CN=Triad recovery key"
        let material = try factorStep("key generation") {
            try RecoveryKeyMaterial.generate(algorithm: algorithm, subject: subject, days: Int(a.days ?? "") ?? 3650,
                                             withSigningRequest: a.csr != nil)
        }
        let certPath = context.outputPath(a.certificate)
        try writeNew(certPath, Array(material.certificate.pem.utf8))
        if !isNew { context.discardIfAborted(certPath) }
        if let csr = a.csr.map(context.outputPath), let pem = material.signingRequestPEM {
            try writeNew(csr, Array(pem.utf8))
            if !isNew { context.discardIfAborted(csr) }
        }
        context.secrets.set(keySlot, try material.key.pkcs8DER())
        context.secrets.setCertificate(certSlot, material.certificate)
        let fp = material.certificate.fingerprint
        try context.record(RecoveryKeyGeneratedRecord(
            certificate: certPath, certificateFingerprint: hex(fp), words: words(fp), subject: subject,
            notAfter: ISO8601DateFormatter().string(from: material.certificate.notAfter),
            publicKeyFingerprint: hex(material.key.publicKey.fingerprint)))
        context.show("Recovery certificate \(certPath)\n  SHA-256 \(hex(fp))\n  words: \(words(fp))")
        return ActionOutcome(["certificate_fingerprint": .string(hex(fp))])
    }
}

/// Enrols one recovery card (docs/recovery.md §2): Management inserts the blank card, the
/// tool generates 9D on the card and certifies it with the recovery key, the Medical role
/// types the new PIN (twice) and PUK (twice) at the terminal, the default management key
/// is replaced by a random one that is discarded.
struct EnrolRecoveryCardAction: CeremonyAction {
    static let name = "enrol-recovery-card"
    static let summary = "The tool generates a key in slot 9D of the inserted card and a card authentication key in 9E (no PIN), certifies both, sets the PIN and PUK typed by the Medical custodian and locks the card's management key."
    /// The reader with the blank card, its label, who types the PIN and which key certifies it.
    struct Arguments: ActionArguments {
        static let parameters = [
            ParameterSpec("reader", .text, required: true, check: .reader, "reader name (substring) holding the blank card"),
            ParameterSpec("label", .text, "card label, e.g. primary or backup"),
            ParameterSpec("pin-role", .text, "role that types the PIN (default medical)"),
            ParameterSpec("with-key", .text, "current (default) or new: which recovery key certifies the card"),
        ]
        var reader: String, label: String?, pinRole: String?, useNew: Bool
        init(from a: ArgumentReader) throws {
            reader = try a.requiredText("reader"); label = try a.text("label"); pinRole = try a.text("pin-role")
            useNew = try a.text("with-key") == "new"
        }
    }
    static func requires(_ a: Arguments) -> [String] { ["recovery-key-available"] }
    static func produces(_ a: Arguments) -> [String] { ["card-enrolled"] }
    init() {}

    func run(_ a: Arguments, _ context: inout ActionContext) throws -> ActionOutcome {
        let useNew = a.useNew
        guard let issuerKey = try context.secrets.privateKey(useNew ? Slot.newRecoveryKey : Slot.recoveryKey),
              let issuer = context.secrets.certificate(useNew ? Slot.newRecoveryCertificate : Slot.recoveryCertificate) else {
            throw ActionError("no recovery key in memory: generate or unlock it first", fatal: true)
        }
        let label = a.label ?? "card"
        let card = try waitForCard(&context, reader: a.reader)
        let pinRole = context.roleTitles[a.pinRole ?? "medical"] ?? "Medical custodian"
        context.show("\(pinRole): choose the recovery card's PIN (6–8 digits) and PUK (8 digits). Management looks away.")
        // Two different entries are a slip, not a failure: nothing has touched the card yet,
        // and the witness may allow the step to run again.
        let pin = try context.readSecret(prompt: "New PIN: ")
        let pin2 = try context.readSecret(prompt: "New PIN again: ")
        guard pin == pin2 else {
            try context.record(NewPINEntriesDifferRecord(what: "PIN"))
            throw ActionError("the two PIN entries differ; nothing was written to the card. The witness may allow a retry.")
        }
        let puk = try context.readSecret(prompt: "New PUK: ")
        let puk2 = try context.readSecret(prompt: "New PUK again: ")
        guard puk == puk2 else {
            try context.record(NewPINEntriesDifferRecord(what: "PUK"))
            throw ActionError("the two PUK entries differ; nothing was written to the card. The witness may allow a retry.")
        }
        let enrolment = try factorStep("card enrolment") {
            try RecoveryCard.enrol(transport: card, subject: "CN=Triad recovery card \(label)", issuer: issuer, issuerKey: issuerKey,
                                   pin: pin, puk: puk)
        }
        var cards = (context.secrets.get(Slot.enrolledCards).flatMap { try? JSONDecoder().decode([EnrolmentRecord.Card].self, from: Data($0.bytes)) }) ?? []
        cards.append(EnrolmentRecord.Card(serial: enrolment.serial, certificate: enrolment.certificate,
                                          cardAuthCertificate: enrolment.cardAuthCertificate, cardAuthIssuer: issuer))
        context.secrets.set(Slot.enrolledCards, SecureBytes(Array(try JSONEncoder().encode(cards))))
        let fp = enrolment.certificate.fingerprint
        try context.record(CardEnrolledRecord(
            label: label, reader: card.reader, serial: enrolment.serial.map(Int64.init),
            cardCertificateFingerprint: hex(fp), words: words(fp),
            cardAuthCertificateFingerprint: enrolment.cardAuthCertificate.map { hex($0.fingerprint) },
            managementKey: "replaced by a random key, discarded", pinSetBy: a.pinRole ?? "medical"))
        context.show("✓ Card \(label) enrolled: serial \(enrolment.serial.map(String.init) ?? "unknown"), certificate words \(words(fp)); PIN and PUK set, management key locked.")
        return ActionOutcome(["serial": enrolment.serial.map { .int(Int64($0)) } ?? .null, "card_certificate_fingerprint": .string(hex(fp))])
    }
}

/// Writes the escrow blob for the enrolled cards, the drill canary and the enrolment
/// record (all new files), and journals their SHA-256 as hex and words.
struct WriteEscrowBlobAction: CeremonyAction {
    static let name = "write-escrow-blob"
    static let summary = "The tool seals the recovery key for the enrolled cards into the escrow blob and writes the blob, the drill canary and the enrolment record."
    /// Where the blob, record and canary go, which key is sealed, and which old cards stay.
    struct Arguments: ActionArguments {
        static let parameters = [
            ParameterSpec("blob", .text, required: true, "path of the new escrow blob"),
            ParameterSpec("record", .text, required: true, "path of the new enrolment record"),
            ParameterSpec("canary", .text, "path of the new drill canary (default: next to the record)"),
            ParameterSpec("key", .text, "current (default) or new: which recovery key to seal"),
            ParameterSpec("keep-cards", .text, "card replacement: also keep these enrolled cards of the loaded record (all, or none)"),
            ParameterSpec("retire-serial", .text, "card replacement: drop the card with this serial"),
        ]
        var blob: String, record: String, canary: String?, useNew: Bool, keepCards: String?, retireSerial: String?
        init(from a: ArgumentReader) throws {
            blob = try a.requiredText("blob"); record = try a.requiredText("record"); canary = try a.text("canary")
            useNew = try a.text("key") == "new"; keepCards = try a.text("keep-cards"); retireSerial = try a.text("retire-serial")
        }
    }
    static func requires(_ a: Arguments) -> [String] { a.useNew ? ["new-recovery-certificate"] : ["recovery-key-available"] }
    static func produces(_ a: Arguments) -> [String] { ["escrow-blob-written"] }
    init() {}

    func run(_ a: Arguments, _ context: inout ActionContext) throws -> ActionOutcome {
        let useNew = a.useNew
        if useNew, context.facts.contains("rotation-resumed"), case let existing = a.record, FileManager.default.fileExists(atPath: existing) {
            try context.record(EscrowBlobAlreadyWrittenRecord(record: existing))
            return ActionOutcome(["resumed": .bool(true)])
        }
        guard let key = try context.secrets.privateKey(useNew ? Slot.newRecoveryKey : Slot.recoveryKey),
              let cert = context.secrets.certificate(useNew ? Slot.newRecoveryCertificate : Slot.recoveryCertificate) else {
            throw ActionError("no recovery key in memory", fatal: true)
        }
        var cards = (context.secrets.get(Slot.enrolledCards).flatMap { try? JSONDecoder().decode([EnrolmentRecord.Card].self, from: Data($0.bytes)) }) ?? []
        if a.keepCards == "all", let old = try? loadRecord(context) {
            let retire = a.retireSerial.flatMap(UInt32.init)
            cards = old.cards.filter { retire == nil || $0.serial != retire } + cards
        }
        let certs = try factorStep("escrow blob") { try cards.map { try $0.certificate() } }
        let blob = try factorStep("escrow blob") { try EscrowSeal.create(recoveryKey: key, recoveryCertificate: cert, cards: certs) }
        let bytes = blob.encoded
        let blobPath = context.outputPath(a.blob), recordPath = context.outputPath(a.record)
        let recordArgument = a.record
        let canaryPath = context.outputPath(a.canary ?? ((recordArgument as NSString).deletingLastPathComponent + "/canary.triad"))
        // A first key generation that aborts leaves nothing behind; a rotation or card
        // replacement keeps what it wrote (it resumes from it).
        let fresh = !useNew && a.keepCards == nil
        try writeNew(blobPath, bytes, mode: 0o600)
        if fresh { context.discardIfAborted(blobPath) }
        let canary = try factorStep("canary") { try Canary.create(at: canaryPath, recoveryCertificate: cert) }
        if fresh { context.discardIfAborted(canaryPath) }
        let record = EnrolmentRecord(recoveryCertificate: cert, blob: bytes, parsed: blob, cards: cards, canary: canary)
        let recordBytes = try record.encoded()
        try writeNew(recordPath, recordBytes)
        if fresh { context.discardIfAborted(recordPath) }
        let blobDigest = EscrowBlob.digest(bytes), recordDigest = SHA256.hash(recordBytes)
        try context.record(EscrowBlobWrittenRecord(
            blob: blobPath, blobID: hex(blob.blobID), blobSHA256: hex(blobDigest), blobWords: words(blobDigest),
            record: recordPath, recordSHA256: hex(recordDigest), recordWords: words(recordDigest), canary: canaryPath,
            cards: cards.map(\.certificateFingerprint), recoveryCertificateFingerprint: hex(cert.fingerprint)))
        context.show("Escrow blob \(blobPath)\n  SHA-256 \(hex(blobDigest))\n  words: \(words(blobDigest))\nEnrolment record \(recordPath)\n  words: \(words(recordDigest))")
        return ActionOutcome(["blob_sha256": .string(hex(blobDigest)), "record_sha256": .string(hex(recordDigest))])
    }
}
