internal import COpenSSL

extension PrivateKey {
    /// ECDSA over a digest the caller already computed, DER `SEQUENCE { r, s }`.
    ///
    /// Why separate from `sign(_:)`: a PIV card never hashes. The client sends the hash
    /// in GENERAL AUTHENTICATE tag `81` and the card signs it as is (SP 800-73-4 Part 2
    /// §3.2.4, Appendix A.4), so the virtual card needs the prehashed primitive.
    /// - Throws: `CryptoError.invalidKey` for an RSA key (a card signs RSA with the raw
    ///   private operation on a block the client padded), `.openssl` when libcrypto fails.
    public func signDigest(_ digest: [UInt8]) throws -> [UInt8] {
        guard algorithm.isEC else { throw CryptoError.invalidKey(problem: "digest signing is ECDSA; an RSA card key signs with rsaRawPrivate") }
        guard !digest.isEmpty, digest.count <= 64 else { throw CryptoError.invalidKey(problem: "a digest of \(digest.count) bytes cannot be signed") }
        guard let ctx = EVP_PKEY_CTX_new_from_pkey(nil, handle.pointer, nil) else { throw CryptoError.fromOpenSSL("EVP_PKEY_CTX_new") }
        defer { EVP_PKEY_CTX_free(ctx) }
        try check(EVP_PKEY_sign_init(ctx), "ECDSA init")
        var length = 0
        try check(EVP_PKEY_sign(ctx, nil, &length, digest, digest.count), "ECDSA size")
        var signature = [UInt8](repeating: 0, count: length)
        try check(EVP_PKEY_sign(ctx, &signature, &length, digest, digest.count), "ECDSA")
        return Array(signature[0..<length])
    }
}
