internal import COpenSSL

extension SignatureScheme {
    /// Sets the RSA padding of a signing or verifying context; nothing for ECDSA.
    func configureRSAPadding(_ context: OpaquePointer?) throws {
        switch self {
        case .ecdsaSHA256, .ecdsaSHA384:
            return
        case .rsaPSSSHA256:
            try check(triad_EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_PSS_PADDING), "RSA-PSS padding")
            try check(triad_EVP_PKEY_CTX_set_rsa_pss_saltlen(context, RSA_PSS_SALTLEN_DIGEST), "RSA-PSS salt length")
        case .rsaPKCS1v15SHA256:
            try check(triad_EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_PADDING), "RSA PKCS#1 v1.5 padding")
        }
    }

    /// DER `DigestInfo` prefix for SHA-256 (RFC 8017 §9.2, Note 1): the bytes before the hash.
    static let sha256DigestInfoPrefix: [UInt8] = [
        0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
    ]
}

extension PublicKey {
    /// The block an RSA private key raises to its private exponent to sign `digest` with
    /// `scheme` (the encoded message EM of RFC 8017 §9, as a modulus-length integer):
    /// EMSA-PSS-ENCODE (§9.1.1, a fresh random salt of the digest's length, MGF1 with the
    /// same hash) or EMSA-PKCS1-v1_5-ENCODE (§9.2, `00 01 FF… 00 DigestInfo`).
    ///
    /// Why: a PIV card's RSA key performs only the raw operation (SP 800-73-4 Part 2 §3.2.4,
    /// Appendix A.2), so the host pads. The padding is OpenSSL's own code.
    /// - Throws: `CryptoError.unsupportedAlgorithm` for an EC key or an ECDSA scheme;
    ///   `.invalidKey` for a digest of the wrong length.
    public func rsaSignatureBlock(digest: [UInt8], scheme: SignatureScheme) throws -> [UInt8] {
        try scheme.requireCompatible(with: algorithm)
        guard case let .rsa(bits) = algorithm, !scheme.isECDSA else {
            throw CryptoError.unsupportedAlgorithm(algorithm: "an RSA signature block for \(algorithm)")
        }
        guard digest.count == scheme.digestByteCount else {
            throw CryptoError.invalidKey(problem: "a \(scheme.rawValue) digest has \(scheme.digestByteCount) bytes, not \(digest.count)")
        }
        let size = (bits + 7) / 8
        var block = [UInt8](repeating: 0, count: size)
        switch scheme {
        case .rsaPSSSHA256:
            // EVP_PKEY_get0_RSA gives the key's legacy RSA view, which the PSS encoder needs
            // only for the modulus length; it stays owned by the EVP_PKEY.
            guard let rsa = EVP_PKEY_get0_RSA(handle.pointer) else { throw CryptoError.fromOpenSSL("EVP_PKEY_get0_RSA") }
            try check(RSA_padding_add_PKCS1_PSS_mgf1(rsa, &block, digest, scheme.evpDigest, scheme.evpDigest,
                                                     Int32(digest.count)), "EMSA-PSS encoding")
        case .rsaPKCS1v15SHA256:
            let info = SignatureScheme.sha256DigestInfoPrefix + digest
            try check(RSA_padding_add_PKCS1_type_1(&block, Int32(size), info, Int32(info.count)), "EMSA-PKCS1-v1_5 encoding")
        case .ecdsaSHA256, .ecdsaSHA384:
            throw CryptoError.unsupportedAlgorithm(algorithm: "an RSA signature block for \(scheme.rawValue)")
        }
        return block
    }
}
