internal import COpenSSL

/// How a signature is computed and checked: the hash, the signature algorithm and, for RSA,
/// the padding. The raw values name the scheme in files and transcripts.
///
/// - `ecdsa-sha256`, `ecdsa-sha384`: ECDSA (FIPS 186-5 §6) over the SHA-256 / SHA-384 hash
///   of the message; the signature is the DER `Ecdsa-Sig-Value SEQUENCE { r, s }`
///   (RFC 3279 §2.2.3), as OpenSSL, PKCS#11 `CKM_ECDSA` callers and X.509 use it.
/// - `rsa-pss-sha256`: RSASSA-PSS (RFC 8017 §8.1) with SHA-256, MGF1-SHA-256 and a 32-byte
///   salt (the digest length, RFC 8017 §9.1 and RFC 4055 §3.1 defaults for SHA-256).
/// - `rsa-pkcs1v15-sha256`: RSASSA-PKCS1-v1_5 (RFC 8017 §8.2) with SHA-256; deterministic,
///   what `yubico-piv-tool -a test-signature` and most X.509 certificates use.
///
/// The signature of an RSA scheme is the modulus-length big-endian integer (RFC 8017 §5.2.1).
public enum SignatureScheme: String, Sendable, CaseIterable, Codable {
    case ecdsaSHA256 = "ecdsa-sha256"
    case ecdsaSHA384 = "ecdsa-sha384"
    case rsaPSSSHA256 = "rsa-pss-sha256"
    case rsaPKCS1v15SHA256 = "rsa-pkcs1v15-sha256"

    /// The scheme a key signs with when the caller names none: ECDSA with the hash that
    /// matches the curve's strength (SHA-256 on P-256, SHA-384 on P-384, SP 800-57 Part 1
    /// Table 3), and RSA-PSS with SHA-256 on RSA keys. `PublicKey.verify(signature:for:)`
    /// checks exactly this scheme.
    public static func preferred(for algorithm: KeyAlgorithm) -> SignatureScheme {
        switch algorithm {
        case .ecP256: return .ecdsaSHA256
        case .ecP384: return .ecdsaSHA384
        case .rsa: return .rsaPSSSHA256
        }
    }

    /// True when a key of `algorithm` can make or check signatures of this scheme.
    public func isCompatible(with algorithm: KeyAlgorithm) -> Bool {
        switch self {
        case .ecdsaSHA256, .ecdsaSHA384: return algorithm.isEC
        case .rsaPSSSHA256, .rsaPKCS1v15SHA256: return !algorithm.isEC
        }
    }

    /// True for the ECDSA schemes (the signer signs the hash); false for RSA (the signer
    /// applies its private exponent to a padded block built from the hash).
    public var isECDSA: Bool { self == .ecdsaSHA256 || self == .ecdsaSHA384 }

    /// Bytes of the scheme's hash output.
    public var digestByteCount: Int { self == .ecdsaSHA384 ? 48 : 32 }

    /// The scheme's hash of `message` (SHA-256 or SHA-384, FIPS 180-4): what a PIV card's
    /// ECDSA key signs, or what goes into the RSA padding.
    public func digest(_ message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: digestByteCount)
        var length: UInt32 = 0
        let ok = EVP_Digest(message, message.count, &out, &length, evpDigest, nil)
        precondition(ok == 1 && Int(length) == digestByteCount, "EVP_Digest failed")
        return out
    }

    var evpDigest: OpaquePointer { self == .ecdsaSHA384 ? EVP_sha384() : EVP_sha256() }

    /// Refuses a scheme the key cannot use.
    func requireCompatible(with algorithm: KeyAlgorithm) throws {
        guard isCompatible(with: algorithm) else {
            throw CryptoError.unsupportedAlgorithm(algorithm: "signature scheme \(rawValue) with an \(algorithm) key")
        }
    }
}

/// A key that signs: a software key (`PrivateKey`) or a smartcard key (TriadPIV's PIV slot
/// 9C "digital signature" or 9E "card authentication", SP 800-73-4 Part 1 §3.1).
///
/// Callers sign whole messages; the implementation hashes them with the scheme's hash, so a
/// card that only signs digests and a software key give signatures that `PublicKey.verify`
/// checks the same way. Every implementation returns only signatures that verify under
/// `publicKey`.
public protocol SigningKeyOperations {
    /// The key that checks the signatures.
    var publicKey: PublicKey { get }
    /// Signs `message` with `scheme`.
    /// - Throws: `CryptoError.unsupportedAlgorithm` when the scheme does not fit the key;
    ///   the implementation's own errors (a card's PIN or transport errors).
    func sign(_ message: [UInt8], scheme: SignatureScheme) throws -> [UInt8]
}

extension SigningKeyOperations {
    /// Signs with the key's preferred scheme (`SignatureScheme.preferred(for:)`).
    public func sign(_ message: [UInt8]) throws -> [UInt8] {
        try sign(message, scheme: .preferred(for: publicKey.algorithm))
    }

    /// The scheme `sign(_:)` uses for this key.
    public var preferredScheme: SignatureScheme { .preferred(for: publicKey.algorithm) }
}
