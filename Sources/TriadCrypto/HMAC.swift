internal import COpenSSL

/// HMAC-SHA256 (RFC 2104): the file header MAC and the HKDF building block.
public enum HMACSHA256 {
    /// An HMAC-SHA256 tag is 32 bytes.
    public static let byteCount = 32

    /// HMAC-SHA256 of `data` under `key` (RFC 2104).
    public static func authenticate(_ data: [UInt8], key: SecureBytes) -> [UInt8] {
        data.withUnsafeBytes { authenticate($0, key: key) }
    }

    /// Set up once per process and only read afterwards (duplicated per message), so worker
    /// threads share it safely. OpenSSL 3's one-shot `HMAC()` fetches the MAC and the digest
    /// by name on every call; HKDF makes several calls per file.
    nonisolated(unsafe) private static let template: OpaquePointer = triad_hmac_sha256_template()!

    /// HMAC-SHA256 of the bytes in `data`, without copying them.
    public static func authenticate(_ data: UnsafeRawBufferPointer, key: SecureBytes) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length = 0
        let ctx = EVP_MAC_CTX_dup(template)
        defer { EVP_MAC_CTX_free(ctx) }   // frees and cleanses the keyed state
        var empty: UInt8 = 0   // an empty key still needs a pointer (NULL means "keep the old key")
        let result = key.withUnsafeBytes { k -> Bool in
            let keyPointer = k.baseAddress.map { UnsafePointer($0.assumingMemoryBound(to: UInt8.self)) }
            guard let ctx,
                  withUnsafePointer(to: &empty, { EVP_MAC_init(ctx, keyPointer ?? $0, k.count, nil) }) == 1,
                  EVP_MAC_update(ctx, data.baseAddress?.assumingMemoryBound(to: UInt8.self), data.count) == 1,
                  EVP_MAC_final(ctx, &out, &length, 32) == 1 else { return false }
            return true
        }
        precondition(result && length == 32, "HMAC-SHA256 failed")
        return out
    }

    /// Compares in constant time, so a forger learns nothing from timing.
    public static func isValid(_ mac: [UInt8], for data: [UInt8], key: SecureBytes) -> Bool {
        constantTimeEquals(mac, authenticate(data, key: key))
    }
}

/// HKDF-SHA256 (RFC 5869): every derived key (payload, header MAC, slot KEKs, wraps).
public enum HKDF {
    /// Extract-then-expand. `outputByteCount` ≤ 255 × 32.
    public static func deriveKey(inputKey: SecureBytes, salt: [UInt8], info: [UInt8], outputByteCount: Int) -> SecureBytes {
        precondition(outputByteCount > 0 && outputByteCount <= 255 * 32)
        // Extract: PRK = HMAC(salt, IKM); an empty salt means 32 zero bytes (RFC 5869 §2.2).
        let saltKey = SecureBytes(salt.isEmpty ? [UInt8](repeating: 0, count: 32) : salt)
        var prkBytes = inputKey.withUnsafeBytes { HMACSHA256.authenticate($0, key: saltKey) }
        let prk = SecureBytes(prkBytes)
        wipe(&prkBytes)
        // Expand: T(i) = HMAC(PRK, T(i-1) ‖ info ‖ i).
        var output = SecureBytes(count: outputByteCount)
        var previous: [UInt8] = []
        var written = 0
        var counter: UInt8 = 1
        while written < outputByteCount {
            var block = previous + info + [counter]
            var t = HMACSHA256.authenticate(block, key: prk)
            wipe(&block)
            let take = Swift.min(32, outputByteCount - written)
            output.withUnsafeMutableBytes { target in
                for i in 0..<take { target[written + i] = t[i] }
            }
            written += take
            wipe(&previous)
            previous = t
            wipe(&t)
            counter &+= 1
        }
        wipe(&previous)
        return output
    }
}
