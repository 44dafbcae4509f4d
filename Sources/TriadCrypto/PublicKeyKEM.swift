/// A key-encapsulation mechanism on the project's recipient keys: one public-key operation
/// yields a 32-byte secret that the caller then stretches into as many keys as it needs.
///
/// Why beside `PublicKeyWrap`: a wrap spends one public-key operation per wrapped key. A run
/// that writes thousands of files for one recovery certificate spends one encapsulation and
/// derives a key per file from its secret (docs/format.md §3.4), so the cost per file no
/// longer depends on the certificate's algorithm.
///
/// - EC (P-256, P-384): ECDH-ES exactly as `PublicKeyWrap` does it (SP 800-56A C(1e, 1s)):
///   an ephemeral key on the recipient's curve; secret = HKDF-SHA256(Z, salt = ephemeral
///   point ‖ recipient point, info = `"triad/kem/v1/ecdh-es" ‖ 0x00 ‖ label`).
///   Ciphertext: the uncompressed ephemeral point (65 or 97 bytes).
/// - RSA (2048+): 32 random bytes encrypted with RSAES-OAEP-SHA256/MGF1-SHA256 (RFC 8017
///   §7.1) with `label` as the OAEP label; the secret is those 32 bytes. Ciphertext: modulus
///   length. Decapsulation uses the raw private operation, so a PIV card (SP 800-73-4 Part 2
///   Appendix A.3) and a key file work the same.
public enum PublicKeyKEM {
    static let ecdhInfoPrefix = Array("triad/kem/v1/ecdh-es".utf8) + [0]
    /// Bytes of every secret this KEM yields.
    public static let secretByteCount = 32

    /// One encapsulation: the public ciphertext and the secret only its recipient recovers.
    public struct Encapsulation: Sendable {
        /// What goes to the recipient (public): the ephemeral point or the RSA ciphertext.
        public let ciphertext: [UInt8]
        /// The 32-byte shared secret; never written anywhere.
        public let secret: SecureBytes
    }

    /// The ciphertext length an encapsulation to a key of `algorithm` has.
    public static func ciphertextByteCount(for algorithm: KeyAlgorithm) -> Int {
        switch algorithm {
        case .ecP256, .ecP384: return algorithm.ecPointByteCount!
        case let .rsa(bits): return (bits + 7) / 8
        }
    }

    /// A fresh secret for `recipient`. The ephemeral EC key is dropped on return: nothing
    /// but the recipient's private key recovers the secret afterwards.
    public static func encapsulate(to recipient: PublicKey, label: [UInt8]) throws -> Encapsulation {
        switch recipient.algorithm {
        case .ecP256, .ecP384:
            let (point, secret) = try PublicKeyWrap.ecdhESEncapsulate(to: recipient, info: ecdhInfoPrefix + label)
            return Encapsulation(ciphertext: point, secret: secret)
        case .rsa:
            let secret = SecureBytes.random(count: secretByteCount)
            return Encapsulation(ciphertext: try PublicKeyWrap.rsaOAEPEncrypt(secret, to: recipient, label: label), secret: secret)
        }
    }

    /// The recipient's side.
    ///
    /// - Throws: `CryptoError.unwrapFailed` when `ciphertext` has the wrong length for this
    ///   key, is not a point on its curve, or (RSA) fails OAEP decoding; errors of the key
    ///   itself (a card that fails) propagate as they are.
    public static func decapsulate(_ ciphertext: [UInt8], with identity: any PrivateKeyOperations,
                                   label: [UInt8]) throws -> SecureBytes {
        let algorithm = identity.publicKey.algorithm
        guard ciphertext.count == ciphertextByteCount(for: algorithm) else { throw CryptoError.unwrapFailed }
        switch algorithm {
        case .ecP256, .ecP384:
            return try PublicKeyWrap.ecdhESDecapsulate(ciphertext, with: identity, info: ecdhInfoPrefix + label)
        case .rsa:
            let encoded = try identity.rsaRawPrivate(ciphertext)
            let secret = try PublicKeyWrap.oaepDecode(encoded, modulusBytes: ciphertext.count, label: label)
            guard secret.count == secretByteCount else { throw CryptoError.unwrapFailed }
            return secret
        }
    }
}
