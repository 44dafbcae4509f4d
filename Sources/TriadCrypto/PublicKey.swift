internal import COpenSSL

/// A public key (RSA, EC P-256 or P-384), from a certificate, a PEM/DER SubjectPublicKeyInfo,
/// or the raw components a PIV card returns from GENERATE ASYMMETRIC KEY PAIR
/// (SP 800-73-4 Part 2 §3.3.2: `81` modulus / `82` exponent, or `86` EC point).
public struct PublicKey: Sendable, Equatable, Hashable {
    let handle: KeyHandle
    /// RSA with its size, or the EC curve; anything else is refused when parsed.
    public let algorithm: KeyAlgorithm
    /// DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7): the canonical form, compared and hashed.
    public let spkiDER: [UInt8]

    /// `uncompressedPoint`: the key's point when the caller made the key from it (or generated
    /// it), so the SPKI can be built without OpenSSL's encoder; other keys keep the form they
    /// came in (a compressed point stays compressed, as `openssl pkey` writes it).
    init(handle: KeyHandle, uncompressedPoint: [UInt8]? = nil) throws {
        self.handle = handle
        algorithm = try KeyAlgorithm.of(handle.pointer)
        if let point = uncompressedPoint, let prefix = algorithm.ecSPKIPrefix,
           point.count == algorithm.ecPointByteCount, point.first == 0x04 {
            // RFC 5480 §2: a named-curve EC key's SPKI is a fixed prefix and the point. Built
            // here because OpenSSL 3's i2d_PUBKEY searches its encoder registry on every call
            // (1.5 M instructions, a quarter of encrypting a 4 KiB file when it ran for each
            // ephemeral key). Tests check it equals `openssl pkey -pubout -outform DER`.
            spkiDER = prefix + point
        } else {
            spkiDER = try PublicKey.derViaOpenSSL(handle.pointer)
        }
    }

    static func derViaOpenSSL(_ pkey: OpaquePointer) throws -> [UInt8] {
        let length = i2d_PUBKEY(pkey, nil)
        guard length > 0 else { throw CryptoError.fromOpenSSL("i2d_PUBKEY") }
        var der = [UInt8](repeating: 0, count: Int(length))
        der.withUnsafeMutableBufferPointer { buffer in
            var cursor: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            _ = i2d_PUBKEY(pkey, &cursor)
        }
        return der
    }

    /// The EC point as OpenSSL encodes it (uncompressed unless the key came compressed).
    static func encodedPoint(_ pkey: OpaquePointer) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 133)
        var length = 0
        guard EVP_PKEY_get_octet_string_param(pkey, "encoded-pub-key", &buffer, buffer.count, &length) == 1 else {
            triad_ERR_clear(); return nil
        }
        return Array(buffer[0..<length])
    }

    /// Parses a DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7); only the algorithms of `KeyAlgorithm` are accepted.
    public init(spkiDER der: [UInt8]) throws {
        let pkey: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_PUBKEY(nil, &cursor, der.count)
        }
        guard let pkey else { throw CryptoError.invalidKey(problem: "not a DER SubjectPublicKeyInfo: \(CryptoError.fromOpenSSL("d2i_PUBKEY"))") }
        try self.init(handle: KeyHandle(pkey))
    }

    /// A `-----BEGIN PUBLIC KEY-----` PEM.
    public init(pem: String) throws {
        let bio = try MemoryBIO(bytes: Array(pem.utf8))
        guard let pkey = PEM_read_bio_PUBKEY(bio.pointer, nil, nil, nil) else {
            throw CryptoError.invalidPEM(problem: "no PUBLIC KEY block: \(CryptoError.fromOpenSSL("PEM_read_bio_PUBKEY"))")
        }
        try self.init(handle: KeyHandle(pkey))
    }

    /// An RSA key from its big-endian modulus and public exponent.
    public init(rsaModulus: [UInt8], exponent: [UInt8]) throws {
        guard !rsaModulus.isEmpty, !exponent.isEmpty, exponent.count <= 8 else { throw CryptoError.invalidKey(problem: "empty or oversized RSA component") }
        guard let pkey = triad_rsa_public_from_components(rsaModulus, rsaModulus.count, exponent, exponent.count) else {
            throw CryptoError.invalidKey(problem: "OpenSSL rejected the RSA public key: \(CryptoError.fromOpenSSL("EVP_PKEY_fromdata"))")
        }
        try self.init(handle: KeyHandle(pkey))
    }

    /// An EC key from an uncompressed point `04 ‖ X ‖ Y` on `curve`.
    public init(ecPoint: [UInt8], curve: KeyAlgorithm) throws {
        guard let group = curve.groupName, ecPoint.count == curve.ecPointByteCount, ecPoint.first == 0x04 else {
            throw CryptoError.invalidKey(problem: "an uncompressed \(curve) point must be \(curve.ecPointByteCount ?? 0) bytes starting with 04")
        }
        guard let pkey = triad_ec_public_from_point(group, ecPoint, ecPoint.count) else {
            throw CryptoError.invalidKey(problem: "the point is not a valid \(curve) public key (\(CryptoError.fromOpenSSL("EVP_PKEY_fromdata")))")
        }
        try self.init(handle: KeyHandle(pkey), uncompressedPoint: ecPoint)
        // EVP_PKEY_fromdata does not check that the point is on the curve; do it here so a
        // hostile card or file cannot feed an invalid-curve point into ECDH. P-256 and P-384
        // have cofactor 1, so "on the curve and not infinity" (the quick check) is the full
        // validation SP 800-56A §5.6.2.3.4 asks for; the full check adds a scalar
        // multiplication by the order that can only confirm it.
        guard let ctx = EVP_PKEY_CTX_new_from_pkey(nil, handle.pointer, nil) else { throw CryptoError.fromOpenSSL("EVP_PKEY_CTX_new") }
        defer { EVP_PKEY_CTX_free(ctx) }
        guard EVP_PKEY_public_check_quick(ctx) == 1 else {
            triad_ERR_clear()
            throw CryptoError.invalidKey(problem: "the EC point is not on \(curve)")
        }
    }

    /// SHA-256 of the SPKI DER: names a key independently of any certificate around it.
    public var fingerprint: [UInt8] { SHA256.hash(spkiDER) }

    /// The uncompressed point (EC keys only).
    public var ecPoint: [UInt8]? {
        guard algorithm.isEC else { return nil }
        return PublicKey.encodedPoint(handle.pointer)
    }

    /// The RSA modulus, big-endian, or nil for an EC key.
    public var rsaModulus: [UInt8]? { bigNumberParameter("n") }
    /// The RSA public exponent, big-endian, or nil for an EC key.
    public var rsaExponent: [UInt8]? { bigNumberParameter("e") }

    private func bigNumberParameter(_ name: String) -> [UInt8]? {
        guard case .rsa = algorithm else { return nil }
        var bn: OpaquePointer? = nil
        guard EVP_PKEY_get_bn_param(handle.pointer, name, &bn) == 1, let bn else { triad_ERR_clear(); return nil }
        defer { BN_free(bn) }
        var out = [UInt8](repeating: 0, count: Int((BN_num_bits(bn) + 7) / 8))
        _ = BN_bn2bin(bn, &out)
        return out
    }

    /// PEM `PUBLIC KEY`.
    public var pem: String {
        let body = Base64PEM.encode(spkiDER)
        return "-----BEGIN PUBLIC KEY-----\n\(body)-----END PUBLIC KEY-----\n"
    }

    /// Verifies a signature of the key's preferred scheme (`SignatureScheme.preferred(for:)`):
    /// ECDSA (SHA-256 on P-256, SHA-384 on P-384; DER signature) or RSA-PSS (SHA-256,
    /// MGF1-SHA-256, salt = digest length) over `message`.
    public func verify(signature: [UInt8], for message: [UInt8]) -> Bool {
        verify(signature: signature, for: message, scheme: .preferred(for: algorithm))
    }

    /// Verifies a signature of `scheme` over `message`; false for a scheme the key cannot
    /// use. ECDSA signatures must be strict DER (OpenSSL re-encodes and compares).
    public func verify(signature: [UInt8], for message: [UInt8], scheme: SignatureScheme) -> Bool {
        guard scheme.isCompatible(with: algorithm), let mdContext = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(mdContext) }
        var pctx: OpaquePointer? = nil
        guard EVP_DigestVerifyInit(mdContext, &pctx, scheme.evpDigest, nil, handle.pointer) == 1,
              (try? scheme.configureRSAPadding(pctx)) != nil else { triad_ERR_clear(); return false }
        let result = EVP_DigestVerify(mdContext, signature, signature.count, message, message.count)
        triad_ERR_clear()
        return result == 1
    }

    /// Two keys are equal when their SubjectPublicKeyInfo DER is.
    public static func == (lhs: PublicKey, rhs: PublicKey) -> Bool { lhs.spkiDER == rhs.spkiDER }
    /// Hashes the SPKI DER, consistent with `==`.
    public func hash(into hasher: inout Hasher) { hasher.combine(spkiDER) }
}

/// Base64 with 64-character lines, the PEM body encoding (RFC 7468 §2).
enum Base64PEM {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ data: [UInt8]) -> String {
        var out = [UInt8]()
        var line = 0
        var i = 0
        while i < data.count {
            let b0 = data[i], b1 = i + 1 < data.count ? data[i + 1] : 0, b2 = i + 2 < data.count ? data[i + 2] : 0
            out.append(alphabet[Int(b0 >> 2)])
            out.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
            out.append(i + 1 < data.count ? alphabet[Int((b1 & 0x0f) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            out.append(i + 2 < data.count ? alphabet[Int(b2 & 0x3f)] : UInt8(ascii: "="))
            i += 3
            line += 4
            if line == 64 { out.append(UInt8(ascii: "\n")); line = 0 }
        }
        if line > 0 { out.append(UInt8(ascii: "\n")) }
        return String(decoding: out, as: UTF8.self)
    }
}
