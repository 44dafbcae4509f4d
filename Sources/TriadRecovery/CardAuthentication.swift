import Foundation
import TriadCrypto
import TriadPCSC
import TriadPIV

/// The recovery card proves it was in the room (docs/recovery.md §2a): its card
/// authentication key (slot 9E, SP 800-73-4 Part 1 §3.1.4 — usable without the PIN), made
/// and certified at enrolment, signs a message bound to the running ceremony and to the card.
///
/// The message (docs/recovery.md §2a gives the same bytes):
///
///     "triad-recovery-card-auth-v1\n"   28 ASCII bytes
///     ‖ nonce                           16 bytes: BEGIN's `nonce` (32 hex digits) decoded
///     ‖ BEGIN hash                      32 bytes: entry 1's `hash` decoded
///     ‖ serial                          4 bytes big-endian; 0 when the card reports none
///     ‖ SHA-256(9D certificate DER)     32 bytes
///
/// signed with ECDSA P-256 / SHA-256, DER signature (RFC 3279). The BEGIN hash covers the
/// ceremony key, so a transcript rewritten from BEGIN with a key of the forger's cannot keep
/// the card's signature.
public struct CardAuthentication: Equatable, Sendable {
    /// Domain separation tag, first bytes of every message.
    public static let tag = Array("triad-recovery-card-auth-v1\n".utf8)

    /// The card's serial as read in the signing transaction.
    public var serial: UInt32?
    /// SHA-256 of the 9D certificate read in the signing transaction.
    public var cardCertificateFingerprint: [UInt8]
    /// The enrolled 9E certificate the signature verified with.
    public var certificate: Certificate
    /// The certificate that issued `certificate` (the recovery certificate at enrolment).
    public var issuer: Certificate
    /// The DER ECDSA signature by the card's 9E key.
    public var signature: [UInt8]

    /// A proof as read back from a transcript (the verifier's side).
    public init(serial: UInt32?, cardCertificateFingerprint: [UInt8], certificate: Certificate, issuer: Certificate, signature: [UInt8]) {
        self.serial = serial
        self.cardCertificateFingerprint = cardCertificateFingerprint
        self.certificate = certificate
        self.issuer = issuer
        self.signature = signature
    }

    /// The signed bytes for a ceremony (`nonce`, `beginHash` in hex, as journaled) and a card.
    public static func message(nonce: String, beginHash: String, serial: UInt32?, cardCertificateFingerprint: [UInt8]) throws -> [UInt8] {
        guard let n = Hex.decode(nonce), n.count == 16 else {
            throw RecoveryError.card(problem: "card authentication: the ceremony nonce is not 32 hex digits")
        }
        guard let h = Hex.decode(beginHash), h.count == 32 else {
            throw RecoveryError.card(problem: "card authentication: the BEGIN hash is not 64 hex digits")
        }
        guard cardCertificateFingerprint.count == 32 else {
            throw RecoveryError.card(problem: "card authentication: the 9D certificate fingerprint is not a SHA-256")
        }
        let s = serial ?? 0
        return tag + n + h + [UInt8(s >> 24), UInt8(s >> 16 & 0xFF), UInt8(s >> 8 & 0xFF), UInt8(s & 0xFF)] + cardCertificateFingerprint
    }

    /// Asks the card's 9E key to sign this ceremony's message and checks the signature with
    /// the *enrolled* 9E certificate, not the one on the card: a second card carrying a copy
    /// of the enrolled certificates is refused here. One PC/SC transaction: SELECT, GET
    /// SERIAL, the 9D certificate, GENERAL AUTHENTICATE with 9E (SP 800-73-4 Part 2 §3.2.4,
    /// Appendix A.4). No PIN.
    /// - Throws: `RecoveryError.cardNotPresenceProven` for a card whose 9E key is not the
    ///   enrolled one (or has none); `.cardNotEnrolled` / `.cardSerialMismatch` for a card
    ///   that changed since identification.
    public static func prove(transport: CardTransport, nonce: String, beginHash: String,
                             enrolled: EnrolmentRecord.Card) throws -> CardAuthentication {
        guard let certificate = try enrolled.cardAuthCertificate(), let issuer = try enrolled.cardAuthIssuer() else {
            throw RecoveryError.card(problem: "the enrolment record has no card authentication key for this card")
        }
        let client = PIVClient(transport: transport)
        let (serial, cardCert, signature): (UInt32?, Certificate, [UInt8]?) = try RecoveryCard.mapped {
            try transport.withTransaction {
                _ = try client.select()
                let serial = try client.serial()
                let cardCert = try client.readCertificate(slot: .keyManagement)
                let message = try Self.message(nonce: nonce, beginHash: beginHash, serial: serial,
                                               cardCertificateFingerprint: cardCert.fingerprint)
                // A card that refuses or answers nonsense (no 9E key, a PIN asked for it, a
                // malformed reply) is not the enrolled card; a removed card is just that.
                var signature: [UInt8]?
                do {
                    signature = try client.signDigest(SHA256.hash(message), slot: .cardAuthentication, algorithm: .eccP256)
                } catch let error as PIVError {
                    switch error {
                    case .cardRemoved, .cardReset, .transport: throw error
                    default: signature = nil
                    }
                }
                return (serial, cardCert, signature)
            }
        }
        guard Hex.encode(cardCert.fingerprint) == enrolled.certificateFingerprint.lowercased() else {
            throw RecoveryError.cardNotEnrolled(certificateFingerprint: Hex.encode(cardCert.fingerprint))
        }
        if let expected = enrolled.serial, expected != serial { throw RecoveryError.cardSerialMismatch(expected: expected, found: serial) }
        let result = CardAuthentication(serial: serial, cardCertificateFingerprint: cardCert.fingerprint,
                                        certificate: certificate, issuer: issuer, signature: signature ?? [])
        guard signature != nil, result.problem(nonce: nonce, beginHash: beginHash) == nil else {
            throw RecoveryError.cardNotPresenceProven(serial: serial)
        }
        return result
    }

    /// Why this proof does not hold for the ceremony (`nonce`, `beginHash`), or nil: the 9E
    /// certificate issued by `issuer`, a P-256 key, and the signature over the message.
    public func problem(nonce: String, beginHash: String) -> String? {
        guard certificate.isSigned(by: issuer.publicKey) else {
            return "the card authentication certificate is not signed by the certificate named as its issuer"
        }
        guard certificate.publicKey.algorithm == .ecP256 else { return "the card authentication key is not EC P-256" }
        guard let message = try? Self.message(nonce: nonce, beginHash: beginHash, serial: serial,
                                              cardCertificateFingerprint: cardCertificateFingerprint) else {
            return "the ceremony nonce or BEGIN hash is malformed"
        }
        guard certificate.publicKey.verify(signature: signature, for: message, scheme: .ecdsaSHA256) else {
            return "the card authentication signature does not verify with the enrolled 9E key"
        }
        return nil
    }
}
