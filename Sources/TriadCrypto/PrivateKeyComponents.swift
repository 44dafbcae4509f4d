internal import COpenSSL

extension PrivateKey {
    /// An EC private key from its scalar `d` (big-endian, SEC 1 §2.3.7), with the public
    /// point computed as d·G.
    ///
    /// Why: PIV cards import keys as raw components, not PKCS#8 (the YubiKey IMPORT
    /// ASYMMETRIC KEY instruction carries EC keys as tag `06` = d), so the virtual card
    /// must rebuild a key from them.
    /// - Throws: `CryptoError.invalidKey` when d is not in [1, n-1] for the curve.
    public init(ecPrivateScalar d: SecureBytes, curve: KeyAlgorithm) throws {
        guard curve.isEC, let groupName = curve.groupName else { throw CryptoError.unsupportedAlgorithm(algorithm: "\(curve) is not an EC curve") }
        let nid = curve == .ecP256 ? NID_X9_62_prime256v1 : NID_secp384r1
        guard let group = EC_GROUP_new_by_curve_name(nid) else { throw CryptoError.fromOpenSSL("EC_GROUP_new_by_curve_name") }
        defer { EC_GROUP_free(group) }
        let scalar = try SecretBignum(d)
        let order = BN_dup(EC_GROUP_get0_order(group))
        defer { BN_free(order) }
        guard BN_is_zero(scalar.pointer) == 0, BN_cmp(scalar.pointer, order) < 0 else {
            throw CryptoError.invalidKey(problem: "the EC private scalar is out of range for \(curve)")
        }
        guard let point = EC_POINT_new(group) else { throw CryptoError.fromOpenSSL("EC_POINT_new") }
        defer { EC_POINT_clear_free(point) }
        try check(EC_POINT_mul(group, point, scalar.pointer, nil, nil, nil), "EC_POINT_mul")
        var encoded = [UInt8](repeating: 0, count: curve.ecPointByteCount!)
        guard EC_POINT_point2oct(group, point, POINT_CONVERSION_UNCOMPRESSED, &encoded, encoded.count, nil) == encoded.count else {
            throw CryptoError.fromOpenSSL("EC_POINT_point2oct")
        }
        guard let builder = OSSL_PARAM_BLD_new() else { throw CryptoError.fromOpenSSL("OSSL_PARAM_BLD_new") }
        defer { OSSL_PARAM_BLD_free(builder) }
        // The builder keeps the string and octet pointers until OSSL_PARAM_BLD_to_param, so
        // both buffers must stay alive until the key is made.
        let handle = try groupName.withCString { group in
            try encoded.withUnsafeBufferPointer { point in
                try check(OSSL_PARAM_BLD_push_utf8_string(builder, ParamName.group, group, 0), "EC group")
                try check(OSSL_PARAM_BLD_push_octet_string(builder, ParamName.pub, point.baseAddress, point.count), "EC public point")
                try check(OSSL_PARAM_BLD_push_BN(builder, ParamName.priv, scalar.pointer), "EC private scalar")
                return try Self.keyPair(type: "EC", builder: builder)
            }
        }
        try self.init(handle: handle)
    }

    /// An EC key pair derived deterministically from `seed`: d = (OS2IP(seed) mod (n − 1)) + 1,
    /// FIPS 186-5 Appendix A.2.1 ("key pair generation using extra random bits"), with the
    /// seed in place of the random bits.
    ///
    /// Why: a zone's epoch signing key is derived from that epoch's zone key (docs/zone.md §2),
    /// so every member holding the zone key can sign as the epoch and anyone can verify with the
    /// public key the signed policy carries. The seed must be at least 64 bits longer than the
    /// order (48 bytes for P-256, 56 for P-384) so the reduction's bias is negligible.
    /// - Throws: `CryptoError.invalidKey` when the seed is too short for the curve.
    public init(ecSeed seed: SecureBytes, curve: KeyAlgorithm) throws {
        guard curve.isEC, let size = curve.ecScalarByteCount else { throw CryptoError.unsupportedAlgorithm(algorithm: "\(curve) is not an EC curve") }
        guard seed.count >= size + 8 else {
            throw CryptoError.invalidKey(problem: "a seed of \(seed.count) bytes is too short to derive a \(curve) key (at least \(size + 8))")
        }
        let nid = curve == .ecP256 ? NID_X9_62_prime256v1 : NID_secp384r1
        guard let group = EC_GROUP_new_by_curve_name(nid) else { throw CryptoError.fromOpenSSL("EC_GROUP_new_by_curve_name") }
        defer { EC_GROUP_free(group) }
        guard let ctx = BN_CTX_secure_new() else { throw CryptoError.fromOpenSSL("BN_CTX_new") }
        defer { BN_CTX_free(ctx) }
        let c = try SecretBignum(seed), orderMinusOne = SecretBignum(), d = SecretBignum()
        try check(BN_sub(orderMinusOne.pointer, EC_GROUP_get0_order(group), BN_value_one()), "n - 1")
        try check(BN_nnmod(d.pointer, c.pointer, orderMinusOne.pointer, ctx), "seed mod (n - 1)")
        try check(BN_add_word(d.pointer, 1), "d + 1")
        var scalar = SecureBytes(count: size)
        let written = scalar.withUnsafeMutableBytes {
            BN_bn2binpad(d.pointer, $0.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(size))
        }
        guard written == Int32(size) else { throw CryptoError.fromOpenSSL("BN_bn2binpad") }
        try self.init(ecPrivateScalar: scalar, curve: curve)
    }

    /// An RSA private key from its primes p and q and public exponent e (default 65537);
    /// n, d and the CRT values are computed (RFC 8017 §3.2).
    ///
    /// Why: the YubiKey IMPORT ASYMMETRIC KEY instruction sends RSA keys as p, q, dp, dq,
    /// qinv (tags `01`–`05`) and no exponent; YubiKeys assume 65537.
    /// - Throws: `CryptoError.invalidKey` when e is not invertible modulo (p-1)(q-1).
    public init(rsaPrimeP p: SecureBytes, primeQ q: SecureBytes, publicExponent e: [UInt8] = [0x01, 0x00, 0x01]) throws {
        let bp = try SecretBignum(p), bq = try SecretBignum(q)
        let be = BN_bin2bn(e, Int32(e.count), nil)
        defer { BN_free(be) }
        guard let ctx = BN_CTX_secure_new() else { throw CryptoError.fromOpenSSL("BN_CTX_new") }
        defer { BN_CTX_free(ctx) }
        let n = SecretBignum(), p1 = SecretBignum(), q1 = SecretBignum(), phi = SecretBignum()
        let d = SecretBignum(), dp = SecretBignum(), dq = SecretBignum(), qinv = SecretBignum()
        try check(BN_mul(n.pointer, bp.pointer, bq.pointer, ctx), "RSA modulus")
        try check(BN_sub(p1.pointer, bp.pointer, BN_value_one()), "p-1")
        try check(BN_sub(q1.pointer, bq.pointer, BN_value_one()), "q-1")
        try check(BN_mul(phi.pointer, p1.pointer, q1.pointer, ctx), "phi")
        guard BN_mod_inverse(d.pointer, be, phi.pointer, ctx) != nil,
              BN_mod_inverse(qinv.pointer, bq.pointer, bp.pointer, ctx) != nil else {
            triad_ERR_clear()
            throw CryptoError.invalidKey(problem: "the RSA primes do not form a key with exponent \(e)")
        }
        try check(BN_div(nil, dp.pointer, d.pointer, p1.pointer, ctx), "dP")
        try check(BN_div(nil, dq.pointer, d.pointer, q1.pointer, ctx), "dQ")
        guard let builder = OSSL_PARAM_BLD_new() else { throw CryptoError.fromOpenSSL("OSSL_PARAM_BLD_new") }
        defer { OSSL_PARAM_BLD_free(builder) }
        for (name, value) in [(ParamName.n, n.pointer), (ParamName.e, be), (ParamName.d, d.pointer),
                              (ParamName.p, bp.pointer), (ParamName.q, bq.pointer), (ParamName.dp, dp.pointer),
                              (ParamName.dq, dq.pointer), (ParamName.qinv, qinv.pointer)] {
            try check(OSSL_PARAM_BLD_push_BN(builder, name, value), "RSA \(String(cString: name))")
        }
        try self.init(handle: try Self.keyPair(type: "RSA", builder: builder))
    }

    private static func keyPair(type: String, builder: OpaquePointer) throws -> KeyHandle {
        guard let params = OSSL_PARAM_BLD_to_param(builder) else { throw CryptoError.fromOpenSSL("OSSL_PARAM_BLD_to_param") }
        // Secure BIGNUMs are copied into the secure heap, which OSSL_PARAM_free clears.
        defer { OSSL_PARAM_free(params) }
        guard let ctx = EVP_PKEY_CTX_new_from_name(nil, type, nil) else { throw CryptoError.fromOpenSSL("EVP_PKEY_CTX_new_from_name") }
        defer { EVP_PKEY_CTX_free(ctx) }
        try check(EVP_PKEY_fromdata_init(ctx), "EVP_PKEY_fromdata_init")
        var pkey: OpaquePointer? = nil
        let selection = triad_EVP_PKEY_PUBLIC_KEY() | OSSL_KEYMGMT_SELECT_PRIVATE_KEY
        guard EVP_PKEY_fromdata(ctx, &pkey, selection, params) == 1, let pkey else {
            throw CryptoError.invalidKey(problem: "OpenSSL rejected the \(type) key components: \(CryptoError.fromOpenSSL("EVP_PKEY_fromdata"))")
        }
        return KeyHandle(pkey)
    }
}

/// OSSL_PARAM names. The builder keeps the *pointer* to each name until
/// OSSL_PARAM_BLD_to_param, so they must outlive every call: C strings allocated once.
private enum ParamName {
    nonisolated(unsafe) static let group = strdup("group")!
    nonisolated(unsafe) static let pub = strdup("pub")!
    nonisolated(unsafe) static let priv = strdup("priv")!
    nonisolated(unsafe) static let n = strdup("n")!
    nonisolated(unsafe) static let e = strdup("e")!
    nonisolated(unsafe) static let d = strdup("d")!
    nonisolated(unsafe) static let p = strdup("rsa-factor1")!
    nonisolated(unsafe) static let q = strdup("rsa-factor2")!
    nonisolated(unsafe) static let dp = strdup("rsa-exponent1")!
    nonisolated(unsafe) static let dq = strdup("rsa-exponent2")!
    nonisolated(unsafe) static let qinv = strdup("rsa-coefficient1")!
}

/// A BIGNUM in OpenSSL's secure heap, cleared when freed.
private final class SecretBignum {
    let pointer: OpaquePointer

    init() { pointer = BN_secure_new() }

    init(_ bytes: SecureBytes) throws {
        guard let bn = BN_secure_new() else { throw CryptoError.fromOpenSSL("BN_secure_new") }
        pointer = bn
        let ok = bytes.withUnsafeBytes { BN_bin2bn($0.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32($0.count), bn) != nil }
        guard ok else { throw CryptoError.fromOpenSSL("BN_bin2bn") }
    }

    deinit { BN_clear_free(pointer) }
}
