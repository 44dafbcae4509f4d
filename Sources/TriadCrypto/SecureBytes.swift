internal import COpenSSL

/// Bytes of key material: stored outside Swift's copy-happy arrays and wiped with
/// `OPENSSL_cleanse` when the last copy goes away (docs/ARCHITECTURE.md "TriadCrypto": key material is zeroised).
///
/// A value type with copy-on-write storage, like swift-crypto's `SymmetricKey`.
public struct SecureBytes: @unchecked Sendable {
    final class Storage {
        let pointer: UnsafeMutableRawPointer
        let count: Int
        init(count: Int) {
            self.count = count
            pointer = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(count, 1), alignment: 16)
            pointer.initializeMemory(as: UInt8.self, repeating: 0, count: Swift.max(count, 1))
        }
        deinit {
            OPENSSL_cleanse(pointer, Swift.max(count, 1))
            pointer.deallocate()
        }
    }

    private var storage: Storage

    /// `count` zero bytes.
    public init(count: Int) {
        storage = Storage(count: count)
    }

    /// A copy of `bytes`. The caller should `wipe` its own array when it held a secret.
    public init<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        storage = Storage(count: bytes.count)
        let target = storage.pointer.assumingMemoryBound(to: UInt8.self)
        var index = 0
        for byte in bytes { target[index] = byte; index += 1 }
    }

    /// `count` bytes from OpenSSL's CSPRNG.
    public static func random(count: Int) -> SecureBytes {
        var result = SecureBytes(count: count)
        result.withUnsafeMutableBytes { SecureRandom.fill($0) }
        return result
    }

    /// The number of bytes.
    public var count: Int { storage.count }
    /// True when there are no bytes.
    public var isEmpty: Bool { storage.count == 0 }

    /// Reads the bytes in place, without a copy that would outlive the cleansing.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: storage.pointer, count: storage.count))
    }

    /// Writes the bytes in place (copy-on-write: other copies keep their value).
    public mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        if !isKnownUniquelyReferenced(&storage) {
            let copy = Storage(count: storage.count)
            copy.pointer.copyMemory(from: storage.pointer, byteCount: storage.count)
            storage = copy
        }
        return try body(UnsafeMutableRawBufferPointer(start: storage.pointer, count: storage.count))
    }

    /// Copies the secret out into an ordinary array. The caller owns wiping it.
    public var bytes: [UInt8] {
        withUnsafeBytes { Array($0) }
    }

    /// A new secret holding `range` of this one.
    public func slice(_ range: Range<Int>) -> SecureBytes {
        precondition(range.lowerBound >= 0 && range.upperBound <= count)
        var result = SecureBytes(count: range.count)
        result.withUnsafeMutableBytes { target in
            withUnsafeBytes { source in
                target.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[range]))
            }
        }
        return result
    }

    /// The concatenation of two secrets.
    public static func + (lhs: SecureBytes, rhs: SecureBytes) -> SecureBytes {
        var result = SecureBytes(count: lhs.count + rhs.count)
        result.withUnsafeMutableBytes { target in
            lhs.withUnsafeBytes { target.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            rhs.withUnsafeBytes { source in
                if source.count > 0 { (target.baseAddress! + lhs.count).copyMemory(from: source.baseAddress!, byteCount: source.count) }
            }
        }
        return result
    }
}

extension SecureBytes: Equatable {
    /// Constant-time comparison (`CRYPTO_memcmp`).
    public static func == (lhs: SecureBytes, rhs: SecureBytes) -> Bool {
        guard lhs.count == rhs.count else { return false }
        return lhs.withUnsafeBytes { a in rhs.withUnsafeBytes { b in CRYPTO_memcmp(a.baseAddress, b.baseAddress, a.count) == 0 } }
    }
}

extension SecureBytes: CustomStringConvertible {
    /// Never prints the bytes, so a secret cannot leak through string interpolation or logs.
    public var description: String { "SecureBytes(\(count) bytes, redacted)" }
}

/// Overwrites an array that held a secret (`OPENSSL_cleanse`, which the optimiser keeps).
public func wipe(_ array: inout [UInt8]) {
    array.withUnsafeMutableBytes { if let base = $0.baseAddress { OPENSSL_cleanse(base, $0.count) } }
}

/// Constant-time equality of two byte strings of public length.
public func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    if a.isEmpty { return true }
    return CRYPTO_memcmp(a, b, a.count) == 0
}
