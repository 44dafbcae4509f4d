import Foundation
import TriadCrypto

/// The recovery key pair and its X.509 certificate (docs/recovery.md §1), made in the
/// key-generation ceremony. The private key never leaves memory except sealed into the
/// escrow blob (`EscrowSeal.create`).
public struct RecoveryKeyMaterial {
    /// The recovery private key; sealed into the blob, never written in clear.
    public let key: PrivateKey
    /// The self-signed recovery certificate zones pin.
    public let certificate: Certificate
    /// A PKCS#10 request for the organisation's CA, when one was asked for. The ceremony
    /// writes it next to the self-signed certificate; once the CA's certificate for the
    /// same key is back, a recovery-key rotation is *not* needed — zones pin whichever
    /// certificate the trust file lists, and the escrow blob is bound to that one.
    public let signingRequestPEM: String?

    /// - Parameters:
    ///   - algorithm: P-256 (default), P-384, or RSA ≥ 3072 (docs/recovery.md §1).
    ///   - days: validity of the self-signed certificate; the drill reports its expiry.
    public static func generate(algorithm: KeyAlgorithm = .ecP256, subject: String, days: Int = 3650,
                                withSigningRequest: Bool = false) throws -> RecoveryKeyMaterial {
        if case let .rsa(bits) = algorithm, bits < 3072 {
            throw RecoveryError.blobMalformed(problem: "a recovery RSA key needs at least 3072 bits, not \(bits)")
        }
        let key = try PrivateKey.generate(algorithm)
        // keyCertSign lets the recovery key certify the enrolled cards' 9D keys; digitalSignature
        // lets it sign re-grant records (docs/zone.md §7).
        let cert = try Certificate.selfSigned(subject: subject, key: key, days: days,
                                              keyUsage: "critical,digitalSignature,keyEncipherment,keyAgreement,keyCertSign")
        let csr = withSigningRequest ? try Certificate.signingRequestPEM(subject: subject, key: key) : nil
        return RecoveryKeyMaterial(key: key, certificate: cert, signingRequestPEM: csr)
    }

    /// Material made elsewhere (tests, or a CA-signed certificate).
    public init(key: PrivateKey, certificate: Certificate, signingRequestPEM: String? = nil) {
        self.key = key
        self.certificate = certificate
        self.signingRequestPEM = signingRequestPEM
    }
}
