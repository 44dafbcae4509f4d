internal import COpenSSL

/// Random bytes from OpenSSL's CSPRNG (`RAND_bytes`).
public enum SecureRandom {
    /// `count` random bytes; traps if the CSPRNG fails, since no key may come from a broken one.
    public static func bytes(count: Int) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: count)
        result.withUnsafeMutableBytes { fill($0) }
        return result
    }

    static func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        guard buffer.count > 0 else { return }
        // RAND_bytes only fails when the system has no entropy source; carrying on would
        // produce predictable keys, so stopping is the only safe answer.
        guard RAND_bytes(buffer.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(buffer.count)) == 1 else {
            fatalError("OpenSSL RAND_bytes failed: no secure randomness available")
        }
    }
}

/// SHA-256 (FIPS 180-4): fingerprints, hash chains, commitments.
public enum SHA256 {
    /// A SHA-256 digest is 32 bytes.
    public static let byteCount = 32

    /// Fetched once per process and only read afterwards. OpenSSL 3 turns the legacy
    /// `EVP_sha256()` into a fetch by name on every `EVP_Digest` (an `OBJ_nid2sn`, a method
    /// store lookup, a reference taken and dropped); a new file's header is hashed twice.
    nonisolated(unsafe) static let algorithm: OpaquePointer = EVP_MD_fetch(nil, "SHA256", nil)!

    /// SHA-256 of `data` (FIPS 180-4).
    public static func hash(_ data: [UInt8]) -> [UInt8] {
        data.withUnsafeBytes { hash($0) }
    }

    /// SHA-256 of the bytes in `data`, without copying them.
    public static func hash(_ data: UnsafeRawBufferPointer) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let ok = EVP_Digest(data.baseAddress, data.count, &out, &length, algorithm, nil)
        precondition(ok == 1 && length == 32, "EVP_Digest(SHA-256) failed")
        return out
    }

    /// SHA-256 of `string`'s UTF-8 bytes.
    public static func hash(_ string: String) -> [UInt8] {
        hash(Array(string.utf8))
    }
}

/// Incremental SHA-256, for files and streams.
public final class SHA256Hasher {
    private let context: OpaquePointer

    /// A hasher for input that arrives in pieces (files, streams).
    public init() {
        context = EVP_MD_CTX_new()!
        precondition(EVP_DigestInit_ex(context, SHA256.algorithm, nil) == 1)
    }

    deinit { EVP_MD_CTX_free(context) }

    /// Adds the bytes in `data`.
    public func update(_ data: UnsafeRawBufferPointer) {
        guard data.count > 0 else { return }
        precondition(EVP_DigestUpdate(context, data.baseAddress, data.count) == 1)
    }

    /// Adds `data`.
    public func update(_ data: [UInt8]) {
        data.withUnsafeBytes { update($0) }
    }

    /// The digest of everything added.
    public func finalize() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        precondition(EVP_DigestFinal_ex(context, &out, &length) == 1)
        return out
    }
}

/// Lower-case hexadecimal, as fingerprints are shown to people and stored in JSON.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    /// `bytes` as lower-case hex.
    public static func encode(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// nil for odd length or a non-hex character. Accepts upper and lower case.
    public static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(chars.count / 2)
        var index = 0
        while index < chars.count {
            guard let high = value(chars[index]), let low = value(chars[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    private static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
