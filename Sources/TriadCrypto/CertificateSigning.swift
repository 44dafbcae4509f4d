internal import COpenSSL
import Foundation

extension Certificate {
    /// A certificate for `publicKey` signed by `issuerKey` under `issuer`'s name.
    ///
    /// Why: a PIV card's 9D key is generated on the card and cannot sign its own
    /// certificate (9D is a key-management key, SP 800-73-4 Part 1 §3.1.4), so the
    /// enrolment ceremony has the recovery key — in memory at that moment — certify it
    /// (TriadRecovery, docs/recovery.md). Also used to issue member certificates for cards.
    public static func issue(subject: String, publicKey: PublicKey, issuer: Certificate, issuerKey: PrivateKey, days: Int,
                             keyUsage: String = "critical,keyEncipherment,keyAgreement") throws -> Certificate {
        guard issuerKey.publicKey == issuer.publicKey else { throw CryptoError.invalidKey(problem: "the issuer key is not the issuer certificate's key") }
        return try build(subject: subject, publicKey: publicKey, issuer: issuer, signingKey: issuerKey, days: days, keyUsage: keyUsage)
    }
}
