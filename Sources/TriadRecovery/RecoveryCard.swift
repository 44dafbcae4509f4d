import Foundation
import TriadCrypto
import TriadPCSC
import TriadPIV

/// What a recovery card says about itself without a PIN: serial, 9D certificate, PIN retry
/// counter, so a card is identified (and logged) before anyone types its PIN.
public struct CardIdentification: Equatable {
    /// The card's serial (GET SERIAL), nil when it has none.
    public var serial: UInt32?
    /// The certificate in slot 9D.
    public var certificate: Certificate
    /// PIN tries left; nil when the PIN is already verified in this card session.
    public var pinTriesLeft: Int?
    /// The PIN retry counter is at 0.
    public var pinBlocked: Bool

    /// SHA-256 of the certificate, in hex, as the enrolment record lists it.
    public var certificateFingerprint: String { Hex.encode(certificate.fingerprint) }
}

/// Recovery-card operations over any `CardTransport` (pcscd, or the in-process applet in
/// unit tests): enrolment, identification, PIN change, and the card as the key that
/// opens the escrow blob.
public enum RecoveryCard {
    /// The PIN and PUK of a new card (YubiKey defaults).
    public static let defaultPIN = SecureBytes(Array("123456".utf8))
    /// The PUK of a new card (YubiKey default); enrolment changes it.
    public static let defaultPUK = SecureBytes(Array("12345678".utf8))
    /// The well-known default 3TDEA management key of a new PIV card (YubiKey default).
    public static let defaultManagementKey = SecureBytes([1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8])

    /// What enrolment produced: the card's serial and the certificate written to 9D.
    public struct Enrolment {
        /// The card's serial, when it reports one.
        public var serial: UInt32?
        /// The certificate enrolment wrote to slot 9D.
        public var certificate: Certificate
        /// The certificate enrolment wrote to slot 9E (card authentication, no PIN), nil
        /// when enrolment was asked to make none (tests of cards enrolled before format 2).
        public var cardAuthCertificate: Certificate?
    }

    /// Enrols a card, all in one PC/SC transaction (docs/recovery.md §2):
    /// SELECT; management-key mutual authentication with the current (default) key;
    /// GENERATE ASYMMETRIC KEY PAIR in 9D (the private key is born on the card); a
    /// certificate for it issued by `issuer` (the recovery key during key generation)
    /// written to 9D; the same for a P-256 card authentication key in 9E with PIN policy
    /// and touch policy "never" (SP 800-73-4 Part 1 §3.1.4; docs/recovery.md §2a), which
    /// later signs each ceremony's nonce to prove the card is in the room; PIN and PUK
    /// changed from the defaults to `pin` and `puk` (typed by the Medical role); finally the management key replaced by 24 random bytes that are
    /// zeroised at once and recorded nowhere.
    ///
    /// Why discard the management key: after enrolment nobody must be able to overwrite
    /// the 9D key or certificate (that would destroy recovery, a denial of service by
    /// whoever holds the card). The card never needs administration again: PIN changes
    /// use the PIN, unblocking uses the PUK, and a broken card is replaced by enrolling a
    /// new card in a card-replacement ceremony.
    public static func enrol(transport: CardTransport, algorithm: PIVAlgorithm = .eccP256, subject: String,
                             issuer: Certificate, issuerKey: PrivateKey, days: Int = 3650,
                             pin: SecureBytes, puk: SecureBytes,
                             currentPIN: SecureBytes = defaultPIN, currentPUK: SecureBytes = defaultPUK,
                             managementKey: SecureBytes = defaultManagementKey,
                             replaceManagementKey: Bool = true, cardAuthentication: Bool = true) throws -> Enrolment {
        let client = PIVClient(transport: transport)
        return try mapped {
            try transport.withTransaction {
                _ = try client.select()
                let serial = try client.serial()
                try client.authenticateManagementKey(managementKey)
                let publicKey = try client.generateKeyPair(slot: .keyManagement, algorithm: algorithm)
                let certificate = try Certificate.issue(subject: subject, publicKey: publicKey, issuer: issuer,
                                                        issuerKey: issuerKey, days: days)
                try client.writeCertificate(certificate, slot: .keyManagement)
                var cardAuth: Certificate?
                if cardAuthentication {
                    let authKey = try client.generateKeyPair(slot: .cardAuthentication, algorithm: .eccP256,
                                                             pinPolicy: .never, touchPolicy: .never)
                    let authCert = try Certificate.issue(subject: subject + " card authentication", publicKey: authKey,
                                                         issuer: issuer, issuerKey: issuerKey, days: days,
                                                         keyUsage: "critical,digitalSignature")
                    try client.writeCertificate(authCert, slot: .cardAuthentication)
                    cardAuth = authCert
                }
                if !(pin == currentPIN) { try client.changePIN(old: currentPIN, new: pin) }
                if !(puk == currentPUK) { try client.changePUK(old: currentPUK, new: puk) }
                if replaceManagementKey {
                    let random = SecureBytes.random(count: 24)
                    try client.setManagementKey(random)
                }
                return Enrolment(serial: serial, certificate: certificate, cardAuthCertificate: cardAuth)
            }
        }
    }

    /// Reads serial, 9D certificate and PIN retry counter. Asks for no PIN.
    public static func identify(transport: CardTransport) throws -> CardIdentification {
        let client = PIVClient(transport: transport)
        return try mapped {
            try transport.withTransaction {
                _ = try client.select()
                let serial = try client.serial()
                let cert = try client.readCertificate(slot: .keyManagement)
                let status = try client.pinStatus()
                switch status {
                case .verified: return CardIdentification(serial: serial, certificate: cert, pinTriesLeft: nil, pinBlocked: false)
                case .triesLeft(let n): return CardIdentification(serial: serial, certificate: cert, pinTriesLeft: n, pinBlocked: false)
                case .blocked: return CardIdentification(serial: serial, certificate: cert, pinTriesLeft: 0, pinBlocked: true)
                }
            }
        }
    }

    /// Identifies the card and checks it against the enrolment record: certificate enrolled,
    /// serial the enrolled one, PIN not blocked. Asks for no PIN.
    public static func identify(transport: CardTransport, against record: EnrolmentRecord) throws -> CardIdentification {
        let id = try identify(transport: transport)
        try check(id, against: record)
        return id
    }

    /// Checks an identification against the record: enrolled certificate, its serial, PIN not blocked.
    public static func check(_ id: CardIdentification, against record: EnrolmentRecord) throws {
        guard let enrolled = record.card(withFingerprint: id.certificate.fingerprint) else {
            throw RecoveryError.cardNotEnrolled(certificateFingerprint: id.certificateFingerprint)
        }
        if let expected = enrolled.serial, expected != id.serial {
            throw RecoveryError.cardSerialMismatch(expected: expected, found: id.serial)
        }
        if id.pinBlocked { throw RecoveryError.cardBlocked }
    }

    /// The card's 9D key as `PrivateKeyOperations`; `pin` is called once, at the first key
    /// operation, after the retry counter was read (and refused if blocked, or if one try is
    /// left without `allowLastPinTry`).
    public static func key(transport: CardTransport, allowLastPinTry: Bool = false,
                           pin: @escaping (_ triesLeft: Int?) throws -> SecureBytes) throws -> PIVKeyOperations {
        try mapped { try PIVKeyOperations(transport: transport, slot: .keyManagement, allowLastPinTry: allowLastPinTry, askPIN: pin) }
    }

    /// Unlocks the recovery key: card (9D ECDH / RSA) + PIN open the blob's KEK slot.
    public static func unlock(_ blob: EscrowBlob, card: PIVKeyOperations, recoveryCertificate: Certificate) throws -> PrivateKey {
        try mapped { try EscrowSeal.unlock(blob, card: card, cardCertificate: card.certificate, recoveryCertificate: recoveryCertificate) }
    }

    /// CHANGE REFERENCE DATA for the PIN (SP 800-73-4 Part 2 §3.2.2), or RESET RETRY
    /// COUNTER with the PUK (§3.2.3) when `puk` is given (a blocked PIN).
    public static func changePIN(transport: CardTransport, old: SecureBytes?, puk: SecureBytes? = nil, new: SecureBytes) throws {
        let client = PIVClient(transport: transport)
        try mapped {
            try transport.withTransaction {
                _ = try client.select()
                if let puk { try client.unblockPIN(puk: puk, newPIN: new) } else if let old { try client.changePIN(old: old, new: new) }
            }
        }
    }

    /// Maps the card layer's errors to the recovery factor they concern.
    static func mapped<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as PIVError {
            switch e {
            case .pinIncorrect(let n): throw RecoveryError.pinIncorrect(triesLeft: n)
            case .pinBlocked: throw RecoveryError.cardBlocked
            case .lastPinTryRefused: throw RecoveryError.pinRefusedLastTry
            default: throw RecoveryError.card(problem: String(describing: e))
            }
        }
    }

    /// Connects to the first reader whose name contains `readerSubstring` and holds a card
    /// (`CardReader.connect`, the reader selection every command uses).
    public static func connect(readerSubstring: String) throws -> any CardTransport {
        do {
            return try CardReader.connect(matching: readerSubstring)
        } catch let error as CardSelectionError {
            switch error {
            case .service(let e): throw RecoveryError.card(problem: "the smartcard service: \(e): check that pcscd runs")
            case .noReader, .noMatchingReader, .noCard, .noCardInAnyReader:
                throw RecoveryError.card(problem: "no card in a reader matching \"\(readerSubstring)\": insert the recovery card")
            case .connectFailed, .refused: throw RecoveryError.card(problem: String(describing: error))
            }
        }
    }
}
