internal import COpenSSL

/// A software private key (RSA 2048+, EC P-256, EC P-384) held by OpenSSL.
///
/// It implements `PrivateKeyOperations`, the two operations every unwrap needs, and
/// `SigningKeyOperations`, so a key file and a PIV card are interchangeable above this layer.
public struct PrivateKey: PrivateKeyOperations, SigningKeyOperations, @unchecked Sendable {
    let handle: KeyHandle
    /// The matching public key.
    public let publicKey: PublicKey
    /// The key's algorithm.
    public var algorithm: KeyAlgorithm { publicKey.algorithm }

    init(handle: KeyHandle) throws {
        self.handle = handle
        publicKey = try PublicKey(handle: handle)
    }

    /// A fresh key pair from OpenSSL's CSPRNG.
    public static func generate(_ algorithm: KeyAlgorithm) throws -> PrivateKey {
        let type: String
        switch algorithm {
        case .rsa: type = "RSA"
        case .ecP256, .ecP384: type = "EC"
        }
        guard let ctx = EVP_PKEY_CTX_new_from_name(nil, type, nil) else { throw CryptoError.fromOpenSSL("EVP_PKEY_CTX_new_from_name") }
        defer { EVP_PKEY_CTX_free(ctx) }
        try check(EVP_PKEY_keygen_init(ctx), "key generation init")
        switch algorithm {
        case let .rsa(bits):
            guard bits >= 2048 else { throw CryptoError.unsupportedAlgorithm(algorithm: "RSA-\(bits)") }
            try check(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, Int32(bits)), "RSA key size")
        case .ecP256, .ecP384:
            try check(EVP_PKEY_CTX_set_group_name(ctx, algorithm.groupName!), "EC group")
        }
        var pkey: OpaquePointer? = nil
        guard EVP_PKEY_generate(ctx, &pkey) == 1, let pkey else { throw CryptoError.fromOpenSSL("key generation") }
        return try PrivateKey(handle: KeyHandle(pkey))
    }

    /// A PEM private key: PKCS#8 (`PRIVATE KEY`), encrypted PKCS#8 (`ENCRYPTED PRIVATE KEY`,
    /// needs `passphrase`) or the traditional RSA/EC forms `openssl` writes.
    public init(pem: SecureBytes, passphrase: SecureBytes? = nil) throws {
        let bio = try MemoryBIO(secret: pem)
        // The default password callback reads `u` as a NUL-terminated passphrase.
        var terminated = SecureBytes(count: (passphrase?.count ?? 0) + 1)
        if let passphrase {
            terminated.withUnsafeMutableBytes { target in
                passphrase.withUnsafeBytes { source in
                    if source.count > 0 { target.baseAddress!.copyMemory(from: source.baseAddress!, byteCount: source.count) }
                }
            }
        }
        let pkey: OpaquePointer? = terminated.withUnsafeMutableBytes { pass in
            PEM_read_bio_PrivateKey(bio.pointer, nil, nil, passphrase == nil ? nil : pass.baseAddress)
        }
        guard let pkey else {
            let error = CryptoError.fromOpenSSL("PEM_read_bio_PrivateKey")
            let text = pem.withUnsafeBytes { String(decoding: $0.prefix(64), as: UTF8.self) }
            if text.contains("ENCRYPTED") || String(describing: error).contains("bad decrypt") { throw CryptoError.wrongPassphrase }
            throw CryptoError.invalidPEM(problem: "no private key could be read (\(error))")
        }
        try self.init(handle: KeyHandle(pkey))
    }

    /// A DER PKCS#8 PrivateKeyInfo (RFC 5208), e.g. the plaintext inside the escrow blob.
    public init(pkcs8DER der: SecureBytes) throws {
        let pkey: OpaquePointer? = der.withUnsafeBytes { buffer in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self)
            return d2i_AutoPrivateKey(nil, &cursor, buffer.count)
        }
        guard let pkey else { throw CryptoError.invalidKey(problem: "not a DER private key: \(CryptoError.fromOpenSSL("d2i_AutoPrivateKey"))") }
        try self.init(handle: KeyHandle(pkey))
    }

    /// DER PKCS#8, in secret storage.
    public func pkcs8DER() throws -> SecureBytes {
        guard let info = EVP_PKEY2PKCS8(handle.pointer) else { throw CryptoError.fromOpenSSL("EVP_PKEY2PKCS8") }
        defer { PKCS8_PRIV_KEY_INFO_free(info) }
        let length = i2d_PKCS8_PRIV_KEY_INFO(info, nil)
        guard length > 0 else { throw CryptoError.fromOpenSSL("i2d_PKCS8_PRIV_KEY_INFO") }
        var out = SecureBytes(count: Int(length))
        out.withUnsafeMutableBytes { buffer in
            var cursor: UnsafeMutablePointer<UInt8>? = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
            _ = i2d_PKCS8_PRIV_KEY_INFO(info, &cursor)
        }
        return out
    }

    /// PEM PKCS#8 (`-----BEGIN PRIVATE KEY-----`), written through a cleansed BIO.
    public func pkcs8PEM() throws -> SecureBytes {
        let bio = try MemoryBIO(secure: true)
        try check(PEM_write_bio_PKCS8PrivateKey(bio.pointer, handle.pointer, nil, nil, 0, nil, nil), "PEM_write_bio_PKCS8PrivateKey")
        return bio.secretContents
    }

    /// Signs `message` with `scheme` (hashing it first); see `SignatureScheme` for the
    /// exact algorithms and encodings, and `PublicKey.verify(signature:for:scheme:)`.
    public func sign(_ message: [UInt8], scheme: SignatureScheme) throws -> [UInt8] {
        try scheme.requireCompatible(with: algorithm)
        guard let mdContext = EVP_MD_CTX_new() else { throw CryptoError.fromOpenSSL("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(mdContext) }
        var pctx: OpaquePointer? = nil
        try check(EVP_DigestSignInit(mdContext, &pctx, scheme.evpDigest, nil, handle.pointer), "signature init")
        try scheme.configureRSAPadding(pctx)
        var length = 0
        try check(EVP_DigestSign(mdContext, nil, &length, message, message.count), "signature size")
        var signature = [UInt8](repeating: 0, count: length)
        try check(EVP_DigestSign(mdContext, &signature, &length, message, message.count), "signature")
        return Array(signature[0..<length])
    }

    /// Signs with the key's preferred scheme: ECDSA (DER) with SHA-256 on P-256 and SHA-384
    /// on P-384, RSA-PSS with SHA-256 on RSA (`SignatureScheme.preferred(for:)`).
    public func sign(_ message: [UInt8]) throws -> [UInt8] {
        try sign(message, scheme: .preferred(for: algorithm))
    }

    /// ECDH: the x-coordinate of d·Q (SP 800-56A §5.7.1.2), as a PIV card's GENERAL
    /// AUTHENTICATE with tag 85 returns it.
    public func ecdh(with peer: PublicKey) throws -> SecureBytes {
        guard algorithm.isEC, peer.algorithm == algorithm else {
            throw CryptoError.invalidKey(problem: "ECDH needs two keys on the same curve (\(algorithm) and \(peer.algorithm))")
        }
        return try PrivateKey.ecdh(handle.pointer, peer.handle.pointer)
    }

    /// ECDH between two `EVP_PKEY`s on the same curve.
    ///
    /// The peer is not validated again here (`EVP_PKEY_derive_set_peer_ex(…, 0)`): every EC
    /// `PublicKey` is on its curve by construction — OpenSSL's point decoding refuses
    /// off-curve points in DER, PEM and certificates, and `PublicKey(ecPoint:curve:)` checks
    /// explicitly — and the full check OpenSSL would repeat costs a scalar multiplication.
    static func ecdh(_ privateKey: OpaquePointer, _ peer: OpaquePointer) throws -> SecureBytes {
        guard let ctx = EVP_PKEY_CTX_new_from_pkey(nil, privateKey, nil) else { throw CryptoError.fromOpenSSL("EVP_PKEY_CTX_new") }
        defer { EVP_PKEY_CTX_free(ctx) }
        try check(EVP_PKEY_derive_init(ctx), "ECDH init")
        try check(EVP_PKEY_derive_set_peer_ex(ctx, peer, 0), "ECDH peer")
        var length = 0
        try check(EVP_PKEY_derive(ctx, nil, &length), "ECDH size")
        var secret = SecureBytes(count: length)
        try secret.withUnsafeMutableBytes { buffer in
            try check(EVP_PKEY_derive(ctx, buffer.baseAddress!.assumingMemoryBound(to: UInt8.self), &length), "ECDH")
        }
        return secret
    }

    /// A fresh EC key on `peer`'s curve, for one ECDH-ES wrap: only the handle and its point.
    ///
    /// Why not `generate(_:)`: that builds a full `PrivateKey` (a `PublicKey` with its SPKI)
    /// and looks the key type up by name; an ephemeral key needs neither, and generating from
    /// the recipient's own key context reuses its already-fetched key management.
    static func ephemeralEC(like peer: PublicKey) throws -> (handle: KeyHandle, point: [UInt8]) {
        guard let ctx = EVP_PKEY_CTX_new_from_pkey(nil, peer.handle.pointer, nil) else { throw CryptoError.fromOpenSSL("EVP_PKEY_CTX_new") }
        defer { EVP_PKEY_CTX_free(ctx) }
        try check(EVP_PKEY_keygen_init(ctx), "ephemeral key init")
        var pkey: OpaquePointer? = nil
        guard EVP_PKEY_generate(ctx, &pkey) == 1, let pkey else { throw CryptoError.fromOpenSSL("ephemeral key generation") }
        let handle = KeyHandle(pkey)
        guard let point = PublicKey.encodedPoint(pkey), point.count == peer.algorithm.ecPointByteCount else {
            throw CryptoError.invalidKey(problem: "the ephemeral key is not on \(peer.algorithm)")
        }
        return (handle, point)
    }

    /// The raw RSA private operation `input^d mod n` with no padding removed: what a PIV
    /// card's RSA GENERAL AUTHENTICATE returns (SP 800-73-4 Part 2 §3.2.4, Appendix A.3).
    public func rsaRawPrivate(_ input: [UInt8]) throws -> SecureBytes {
        guard case let .rsa(bits) = algorithm else { throw CryptoError.invalidKey(problem: "raw RSA needs an RSA key, this is \(algorithm)") }
        let size = (bits + 7) / 8
        guard input.count <= size else { throw CryptoError.invalidKey(problem: "RSA input longer than the modulus") }
        let padded = [UInt8](repeating: 0, count: size - input.count) + input
        guard let ctx = EVP_PKEY_CTX_new_from_pkey(nil, handle.pointer, nil) else { throw CryptoError.fromOpenSSL("EVP_PKEY_CTX_new") }
        defer { EVP_PKEY_CTX_free(ctx) }
        try check(EVP_PKEY_decrypt_init(ctx), "RSA init")
        try check(triad_EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING), "RSA no padding")
        var length = size
        var out = SecureBytes(count: size)
        try out.withUnsafeMutableBytes { buffer in
            try check(EVP_PKEY_decrypt(ctx, buffer.baseAddress!.assumingMemoryBound(to: UInt8.self), &length, padded, padded.count), "raw RSA private operation")
        }
        guard length == size else { return SecureBytes([UInt8](repeating: 0, count: size - length)) + out.slice(0..<length) }
        return out
    }
}
