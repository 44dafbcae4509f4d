internal import COpenSSL

/// XAES-256-GCM (C2SP XAES-256-GCM): AES-256-GCM with a 192-bit nonce. The first 96 bits
/// of the nonce and the key derive a fresh AES-256-GCM key through the NIST SP 800-108r1
/// counter-mode KDF with AES-256-CMAC as the PRF; the last 96 bits are the GCM nonce.
///
/// Why: a segment of a mutable file (docs/format.md §13) is sealed again every time it is
/// rewritten, under the same file key, with a nonce drawn at random. AES-256-GCM's 96-bit
/// random nonces allow only 2^32 seals per key (SP 800-38D §8.3) — a busy database file
/// could reach that. With 192-bit random nonces the collision risk stays negligible for
/// far more seals than any file will see, and the cipher underneath is still AES-GCM.
///
/// One object holds the AES-256 key schedule (for the derivation) and one GCM context; per
/// call it derives the 32-byte key into a stack buffer that is cleansed afterwards.
public final class XAESGCMSegmentCipher {
    /// The 192-bit XAES-256-GCM nonce (C2SP XAES-256-GCM).
    public static let nonceByteCount = 24
    /// Full 128-bit GCM tags.
    public static let tagByteCount = 16

    private let block: OpaquePointer
    private let gcm: OpaquePointer
    private let encrypting: Bool
    /// K1 of the CMAC subkey derivation (L = AES-256_K(0^128), doubled in GF(2^128)).
    private var k1 = [UInt8](repeating: 0, count: 16)
    private let finalBlock = UnsafeMutablePointer<UInt8>.allocate(capacity: 32)

    nonisolated(unsafe) private static let ecb: OpaquePointer = EVP_CIPHER_fetch(nil, "AES-256-ECB", nil)!
    nonisolated(unsafe) private static let gcmCipher: OpaquePointer = EVP_CIPHER_fetch(nil, "AES-256-GCM", nil)!

    /// A cipher with `key` set once, sealing (`encrypting`) or opening; refuses a key that is not 32 bytes.
    public init(key: SecureBytes, encrypting: Bool) throws {
        guard key.count == 32 else { throw CryptoError.invalidKey(problem: "XAES-256-GCM needs a 32-byte key, got \(key.count)") }
        guard let b = EVP_CIPHER_CTX_new() else { throw CryptoError.fromOpenSSL("EVP_CIPHER_CTX_new") }
        guard let g = EVP_CIPHER_CTX_new() else {
            EVP_CIPHER_CTX_free(b)
            throw CryptoError.fromOpenSSL("EVP_CIPHER_CTX_new")
        }
        block = b
        gcm = g
        self.encrypting = encrypting
        let ok = key.withUnsafeBytes { k in
            EVP_CipherInit_ex2(b, Self.ecb, k.baseAddress!.assumingMemoryBound(to: UInt8.self), nil, 1, nil)
        }
        try check(ok, "XAES-256-GCM key setup")
        EVP_CIPHER_CTX_set_padding(b, 0)
        try check(EVP_CipherInit_ex2(g, Self.gcmCipher, nil, nil, encrypting ? 1 : 0, nil), "XAES-256-GCM GCM setup")
        var l = [UInt8](repeating: 0, count: 16)
        try encryptBlock(&l)
        // K1 = L << 1, XOR 0x87 into the last byte when the top bit of L was set (RFC 4493 §2.3).
        let carry = l[0] >> 7
        for i in 0..<16 { k1[i] = (l[i] << 1) | (i < 15 ? l[i + 1] >> 7 : 0) }
        k1[15] ^= carry == 1 ? 0x87 : 0
        wipe(&l)
    }

    deinit {
        wipe(&k1)
        EVP_CIPHER_CTX_free(block)
        EVP_CIPHER_CTX_free(gcm)
        finalBlock.deallocate()
    }

    /// Encrypts `input` into `output` (same length) and writes the 16-byte tag.
    public func seal(_ input: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer,
                     into output: UnsafeMutableRawBufferPointer, tag: UnsafeMutableRawBufferPointer) throws {
        precondition(encrypting && output.count >= input.count && tag.count >= 16)
        try start(nonce: nonce, aad: aad)
        var outLength: Int32 = 0
        if input.count > 0 {
            try check(EVP_CipherUpdate(gcm, output.baseAddress!.assumingMemoryBound(to: UInt8.self), &outLength,
                                       input.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(input.count)), "XAES-GCM encrypt")
        }
        var finalLength: Int32 = 0
        try check(EVP_CipherFinal_ex(gcm, finalBlock, &finalLength), "XAES-GCM encrypt final")
        try check(EVP_CIPHER_CTX_ctrl(gcm, EVP_CTRL_GCM_GET_TAG, 16, tag.baseAddress), "XAES-GCM get tag")
    }

    /// Decrypts `input` into `output` and verifies `tag`; on failure the output is wiped and
    /// `CryptoError.authenticationFailed` is thrown.
    public func open(_ input: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer,
                     tag: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws {
        precondition(!encrypting && output.count >= input.count)
        guard tag.count == 16 else { throw CryptoError.authenticationFailed }
        try start(nonce: nonce, aad: aad)
        var outLength: Int32 = 0
        if input.count > 0 {
            try check(EVP_CipherUpdate(gcm, output.baseAddress!.assumingMemoryBound(to: UInt8.self), &outLength,
                                       input.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(input.count)), "XAES-GCM decrypt")
        }
        try check(EVP_CIPHER_CTX_ctrl(gcm, EVP_CTRL_GCM_SET_TAG, 16, UnsafeMutableRawPointer(mutating: tag.baseAddress)), "XAES-GCM set tag")
        var finalLength: Int32 = 0
        if EVP_CipherFinal_ex(gcm, finalBlock, &finalLength) != 1 {
            ERR_clear_error()
            if input.count > 0 { OPENSSL_cleanse(output.baseAddress, input.count) }
            throw CryptoError.authenticationFailed
        }
    }

    /// Array convenience (tests, vectors): returns ciphertext ‖ tag.
    public func seal(_ plaintext: [UInt8], nonce: [UInt8], aad: [UInt8] = []) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: plaintext.count + 16)
        try plaintext.withUnsafeBytes { p in
            try nonce.withUnsafeBytes { n in
                try aad.withUnsafeBytes { a in
                    try out.withUnsafeMutableBytes { o in
                        try seal(p, nonce: n, aad: a, into: UnsafeMutableRawBufferPointer(rebasing: o[0..<plaintext.count]),
                                 tag: UnsafeMutableRawBufferPointer(rebasing: o[plaintext.count...]))
                    }
                }
            }
        }
        return out
    }

    /// Array convenience (tests, vectors): opens ciphertext ‖ tag.
    public func open(_ sealed: [UInt8], nonce: [UInt8], aad: [UInt8] = []) throws -> [UInt8] {
        guard sealed.count >= 16 else { throw CryptoError.authenticationFailed }
        let body = sealed.count - 16
        var out = [UInt8](repeating: 0, count: body)
        try sealed.withUnsafeBytes { s in
            try nonce.withUnsafeBytes { n in
                try aad.withUnsafeBytes { a in
                    try out.withUnsafeMutableBytes { o in
                        try open(UnsafeRawBufferPointer(rebasing: s[0..<body]), nonce: n, aad: a,
                                 tag: UnsafeRawBufferPointer(rebasing: s[body...]), into: o)
                    }
                }
            }
        }
        return out
    }

    /// Derives K_X from the first 12 nonce bytes and keys the GCM context with it and the
    /// last 12 bytes as the GCM nonce (C2SP XAES-256-GCM, "Encryption").
    private func start(nonce: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer) throws {
        guard nonce.count == Self.nonceByteCount else { throw CryptoError.invalidKey(problem: "XAES-256-GCM nonce must be 24 bytes") }
        // M1 = 0x00 0x01 'X' 0x00 ‖ N[0:12], M2 = 0x00 0x02 'X' 0x00 ‖ N[0:12]; K_X = AES(M1 ⊕ K1) ‖ AES(M2 ⊕ K1).
        var derived = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        defer { withUnsafeMutableBytes(of: &derived) { OPENSSL_cleanse($0.baseAddress, 32) } }
        try withUnsafeMutableBytes(of: &derived) { kx in
            for half in 0..<2 {
                let m = UnsafeMutableRawBufferPointer(rebasing: kx[(16 * half)..<(16 * half + 16)])
                m[0] = 0x00; m[1] = UInt8(half + 1); m[2] = 0x58; m[3] = 0x00
                for i in 0..<12 { m[4 + i] = nonce[i] }
                for i in 0..<16 { m[i] ^= k1[i] }
                var outLength: Int32 = 0
                let p = m.baseAddress!.assumingMemoryBound(to: UInt8.self)
                try check(EVP_CipherUpdate(block, p, &outLength, p, 16), "XAES-256-GCM key derivation")
            }
            let gcmNonce = nonce.baseAddress!.assumingMemoryBound(to: UInt8.self) + 12
            try check(EVP_CipherInit_ex2(gcm, nil, kx.baseAddress!.assumingMemoryBound(to: UInt8.self), gcmNonce,
                                         encrypting ? 1 : 0, nil), "XAES-256-GCM key and nonce setup")
        }
        if aad.count > 0 {
            var ignored: Int32 = 0
            try check(EVP_CipherUpdate(gcm, nil, &ignored, aad.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(aad.count)),
                      "XAES-256-GCM associated data")
        }
    }

    private func encryptBlock(_ bytes: inout [UInt8]) throws {
        var outLength: Int32 = 0
        try bytes.withUnsafeMutableBufferPointer { b in
            try check(EVP_CipherUpdate(block, b.baseAddress, &outLength, b.baseAddress, 16), "XAES-256-GCM key derivation")
        }
    }
}
