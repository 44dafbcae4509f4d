internal import COpenSSL

/// AES-256-GCM (SP 800-38D) with 96-bit nonces and 128-bit tags.
public enum AESGCM {
    /// AES-256: the only key size Triad uses (docs/format.md §11).
    public static let keyByteCount = 32
    /// 96-bit nonces, the size SP 800-38D recommends for GCM.
    public static let nonceByteCount = 12
    /// Full 128-bit tags; shorter ones are never written or accepted.
    public static let tagByteCount = 16

    /// Returns ciphertext ‖ tag.
    public static func seal(_ plaintext: [UInt8], key: SecureBytes, nonce: [UInt8], aad: [UInt8] = []) throws -> [UInt8] {
        try plaintext.withUnsafeBytes { try seal($0, key: key, nonce: nonce, aad: aad) }
    }

    /// Seals a secret (e.g. a key being wrapped) without copying it into an ordinary array.
    public static func seal(_ plaintext: SecureBytes, key: SecureBytes, nonce: [UInt8], aad: [UInt8] = []) throws -> [UInt8] {
        try plaintext.withUnsafeBytes { try seal($0, key: key, nonce: nonce, aad: aad) }
    }

    private static func seal(_ input: UnsafeRawBufferPointer, key: SecureBytes, nonce: [UInt8], aad: [UInt8]) throws -> [UInt8] {
        let cipher = try AESGCMSegmentCipher(key: key, encrypting: true)
        var out = [UInt8](repeating: 0, count: input.count + tagByteCount)
        try out.withUnsafeMutableBytes { output in
            try cipher.seal(input, nonce: nonce, aad: aad,
                            into: UnsafeMutableRawBufferPointer(rebasing: output[0..<input.count]),
                            tag: UnsafeMutableRawBufferPointer(rebasing: output[input.count...]))
        }
        return out
    }

    /// Opens ciphertext ‖ tag into secret storage (the result is usually a key).
    /// - Throws: `CryptoError.authenticationFailed` when the tag does not verify.
    public static func open(_ sealed: [UInt8], key: SecureBytes, nonce: [UInt8], aad: [UInt8] = []) throws -> SecureBytes {
        guard sealed.count >= tagByteCount else { throw CryptoError.authenticationFailed }
        let cipher = try AESGCMSegmentCipher(key: key, encrypting: false)
        let bodyCount = sealed.count - tagByteCount
        var out = SecureBytes(count: bodyCount)
        try sealed.withUnsafeBytes { input in
            try out.withUnsafeMutableBytes { output in
                try cipher.open(UnsafeRawBufferPointer(rebasing: input[0..<bodyCount]), nonce: nonce, aad: aad,
                                tag: UnsafeRawBufferPointer(rebasing: input[bodyCount...]), into: output)
            }
        }
        return out
    }
}

/// One AES-256-GCM context with the key schedule set once and a fresh nonce per call:
/// the per-segment loop of the file format runs with no allocation and no key setup
/// (docs/format.md §7.3: EVP_CipherInit_ex2 once per file, then per chunk only the IV).
public final class AESGCMSegmentCipher {
    private let context: OpaquePointer
    private let encrypting: Bool
    /// Output of `EVP_CipherFinal_ex` (GCM writes nothing there, but the API wants a block),
    /// allocated once with the context so `seal`/`open` allocate nothing per segment.
    private let finalBlock = UnsafeMutablePointer<UInt8>.allocate(capacity: 32)

    /// The cipher is fetched once per process (OpenSSL 3 provider fetches are not free).
    nonisolated(unsafe) private static let cipher: OpaquePointer = EVP_CIPHER_fetch(nil, "AES-256-GCM", nil)!

    /// A cipher with `key` set once, sealing (`encrypting`) or opening; refuses a key that is not 32 bytes.
    public init(key: SecureBytes, encrypting: Bool) throws {
        guard key.count == 32 else { throw CryptoError.invalidKey(problem: "AES-256-GCM needs a 32-byte key, got \(key.count)") }
        guard let ctx = EVP_CIPHER_CTX_new() else { throw CryptoError.fromOpenSSL("EVP_CIPHER_CTX_new") }
        context = ctx
        self.encrypting = encrypting
        let ok = key.withUnsafeBytes { k in
            EVP_CipherInit_ex2(ctx, Self.cipher, k.baseAddress!.assumingMemoryBound(to: UInt8.self), nil, encrypting ? 1 : 0, nil)
        }
        try check(ok, "AES-256-GCM key setup")
    }

    deinit {
        EVP_CIPHER_CTX_free(context)   // frees and cleanses the key schedule
        finalBlock.deallocate()
    }

    /// Encrypts `input` into `output` (same length) and writes the 16-byte tag.
    public func seal(_ input: UnsafeRawBufferPointer, nonce: [UInt8], aad: [UInt8] = [],
                     into output: UnsafeMutableRawBufferPointer, tag: UnsafeMutableRawBufferPointer) throws {
        precondition(encrypting && output.count >= input.count && tag.count >= 16)
        try start(nonce: nonce, aad: aad)
        var outLength: Int32 = 0
        if input.count > 0 {
            try check(EVP_CipherUpdate(context, output.baseAddress!.assumingMemoryBound(to: UInt8.self), &outLength,
                                       input.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(input.count)), "AES-GCM encrypt")
        }
        var finalLength: Int32 = 0
        try check(EVP_CipherFinal_ex(context, finalBlock, &finalLength), "AES-GCM encrypt final")
        try check(EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_GET_TAG, 16, tag.baseAddress), "AES-GCM get tag")
    }

    /// Decrypts `input` into `output` and verifies `tag`. On a bad tag the output is
    /// wiped before throwing, so unauthenticated plaintext never escapes.
    public func open(_ input: UnsafeRawBufferPointer, nonce: [UInt8], aad: [UInt8] = [],
                     tag: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws {
        precondition(!encrypting && output.count >= input.count)
        guard tag.count == 16 else { throw CryptoError.authenticationFailed }
        try start(nonce: nonce, aad: aad)
        var outLength: Int32 = 0
        if input.count > 0 {
            try check(EVP_CipherUpdate(context, output.baseAddress!.assumingMemoryBound(to: UInt8.self), &outLength,
                                       input.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(input.count)), "AES-GCM decrypt")
        }
        try check(EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, 16, UnsafeMutableRawPointer(mutating: tag.baseAddress)), "AES-GCM set tag")
        var finalLength: Int32 = 0
        if EVP_CipherFinal_ex(context, finalBlock, &finalLength) != 1 {
            ERR_clear_error()
            if input.count > 0 { OPENSSL_cleanse(output.baseAddress, input.count) }
            throw CryptoError.authenticationFailed
        }
    }

    private func start(nonce: [UInt8], aad: [UInt8]) throws {
        guard nonce.count == 12 else { throw CryptoError.invalidKey(problem: "AES-GCM nonce must be 12 bytes") }
        try check(EVP_CipherInit_ex2(context, nil, nil, nonce, encrypting ? 1 : 0, nil), "AES-GCM nonce setup")
        if !aad.isEmpty {
            var ignored: Int32 = 0
            try check(EVP_CipherUpdate(context, nil, &ignored, aad, Int32(aad.count)), "AES-GCM associated data")
        }
    }
}
