internal import COpenSSL

/// The one primitive that wraps a symmetric key to a public key (docs/ARCHITECTURE.md "TriadCrypto"): file
/// recovery slots, zone keyring entries and escrow KEK slots all use it.
///
/// - EC (P-256, P-384): ECDH-ES. An ephemeral key on the recipient's curve; the shared
///   secret Z goes through HKDF-SHA256 (salt = ephemeral point ‖ recipient point,
///   info = `"triad/wrap/v1/ecdh-es" ‖ 0x00 ‖ label`) to a 32-byte AES-256-GCM key, which
///   seals the wrapped key with a zero nonce (the key is used once) and `label` as AAD.
///   Body: `ephemeral point (65 | 97 bytes) ‖ ciphertext ‖ tag (16)`.
/// - RSA (2048+): RSAES-OAEP (RFC 8017 §7.1) with SHA-256 and MGF1-SHA-256, the label as
///   the OAEP label. Body: the RSA ciphertext (modulus length). Unwrapping runs the raw
///   private operation and removes OAEP in software, so a PIV card — which returns the
///   padded block (SP 800-73-4 Part 2 Appendix A.3) — and a key file work the same.
///
/// The label binds a wrap to its use (which file, zone epoch or blob), so a wrapped key
/// cannot be moved to another place and opened there.
public enum PublicKeyWrap {
    static let ecdhInfoPrefix = Array("triad/wrap/v1/ecdh-es".utf8) + [0]

    /// Wraps `key` to `recipient`, bound to `label`; the body layout depends on the key's algorithm (above).
    public static func wrap(_ key: SecureBytes, to recipient: PublicKey, label: [UInt8]) throws -> [UInt8] {
        switch recipient.algorithm {
        case .ecP256, .ecP384:
            let (ephemeralPoint, kek) = try ecdhESEncapsulate(to: recipient, info: ecdhInfoPrefix + label)
            let sealed = try AESGCM.seal(key, key: kek, nonce: [UInt8](repeating: 0, count: 12), aad: label)
            return ephemeralPoint + sealed
        case .rsa:
            return try rsaOAEPEncrypt(key, to: recipient, label: label)
        }
    }

    /// - Throws: `CryptoError.unwrapFailed` when `body` was not wrapped for this key (or was
    ///   changed), so callers can try the next slot.
    public static func unwrap(_ body: [UInt8], with identity: any PrivateKeyOperations, label: [UInt8]) throws -> SecureBytes {
        let algorithm = identity.publicKey.algorithm
        switch algorithm {
        case .ecP256, .ecP384:
            let pointLength = algorithm.ecPointByteCount!
            guard body.count > pointLength + AESGCM.tagByteCount else { throw CryptoError.unwrapFailed }
            let kek = try ecdhESDecapsulate(Array(body[0..<pointLength]), with: identity, info: ecdhInfoPrefix + label)
            do {
                return try AESGCM.open(Array(body[pointLength...]), key: kek, nonce: [UInt8](repeating: 0, count: 12), aad: label)
            } catch CryptoError.authenticationFailed {
                throw CryptoError.unwrapFailed
            }
        case let .rsa(bits):
            let size = (bits + 7) / 8
            guard body.count == size else { throw CryptoError.unwrapFailed }
            let encoded = try identity.rsaRawPrivate(body)
            return try oaepDecode(encoded, modulusBytes: size, label: label)
        }
    }

    /// ECDH-ES (SP 800-56A C(1e, 1s)): an ephemeral key on the recipient's curve, the shared
    /// secret Z through HKDF-SHA256 with salt = ephemeral point ‖ recipient point and `info`.
    /// Returns the ephemeral point (the ciphertext) and the 32-byte derived key.
    static func ecdhESEncapsulate(to recipient: PublicKey, info: [UInt8]) throws -> (point: [UInt8], key: SecureBytes) {
        let (ephemeral, ephemeralPoint) = try PrivateKey.ephemeralEC(like: recipient)
        guard let recipientPoint = recipient.ecPoint else { throw CryptoError.invalidKey(problem: "EC point unavailable") }
        let shared = try PrivateKey.ecdh(ephemeral.pointer, recipient.handle.pointer)
        return (ephemeralPoint, HKDF.deriveKey(inputKey: shared, salt: ephemeralPoint + recipientPoint, info: info, outputByteCount: 32))
    }

    /// The recipient's half of `ecdhESEncapsulate`. A point that is not on the identity's
    /// curve is `unwrapFailed`, like any other wrap that is not for this key.
    static func ecdhESDecapsulate(_ ephemeralPoint: [UInt8], with identity: any PrivateKeyOperations,
                                  info: [UInt8]) throws -> SecureBytes {
        guard let ephemeral = try? PublicKey(ecPoint: ephemeralPoint, curve: identity.publicKey.algorithm),
              let recipientPoint = identity.publicKey.ecPoint else { throw CryptoError.unwrapFailed }
        let shared = try identity.ecdh(with: ephemeral)
        return HKDF.deriveKey(inputKey: shared, salt: ephemeralPoint + recipientPoint, info: info, outputByteCount: 32)
    }

    static func rsaOAEPEncrypt(_ key: SecureBytes, to recipient: PublicKey, label: [UInt8]) throws -> [UInt8] {
        guard let ctx = EVP_PKEY_CTX_new_from_pkey(nil, recipient.handle.pointer, nil) else { throw CryptoError.fromOpenSSL("EVP_PKEY_CTX_new") }
        defer { EVP_PKEY_CTX_free(ctx) }
        try check(EVP_PKEY_encrypt_init(ctx), "RSA-OAEP init")
        try check(triad_EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING), "RSA-OAEP padding")
        try check(EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()), "RSA-OAEP digest")
        try check(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()), "RSA-OAEP MGF1 digest")
        if !label.isEmpty {
            try check(triad_set_oaep_label(ctx, label, label.count), "RSA-OAEP label")
        }
        var length = 0
        try key.withUnsafeBytes { k in
            try check(EVP_PKEY_encrypt(ctx, nil, &length, k.baseAddress!.assumingMemoryBound(to: UInt8.self), k.count), "RSA-OAEP size")
        }
        var out = [UInt8](repeating: 0, count: length)
        try key.withUnsafeBytes { k in
            try check(EVP_PKEY_encrypt(ctx, &out, &length, k.baseAddress!.assumingMemoryBound(to: UInt8.self), k.count), "RSA-OAEP encrypt")
        }
        return Array(out[0..<length])
    }

    /// EME-OAEP decoding (RFC 8017 §7.1.2 step 3) with OpenSSL's constant-time routine.
    static func oaepDecode(_ encoded: SecureBytes, modulusBytes: Int, label: [UInt8]) throws -> SecureBytes {
        guard encoded.count == modulusBytes else { throw CryptoError.unwrapFailed }
        var out = SecureBytes(count: modulusBytes)
        let length: Int32 = encoded.withUnsafeBytes { from in
            out.withUnsafeMutableBytes { to in
                RSA_padding_check_PKCS1_OAEP_mgf1(to.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(modulusBytes),
                                                  from.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(modulusBytes),
                                                  Int32(modulusBytes), label, Int32(label.count), EVP_sha256(), EVP_sha256())
            }
        }
        triad_ERR_clear()
        guard length >= 0 else { throw CryptoError.unwrapFailed }
        return out.slice(0..<Int(length))
    }
}
