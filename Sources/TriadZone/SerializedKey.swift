import Foundation
import TriadCrypto

/// A private key whose operations run one at a time, for keys that are not safe to use from
/// several threads at once — a PIV card behind one reader, which must never see interleaved
/// APDUs from the tree engine's workers (docs/zone.md §7).
///
/// Software keys (`PrivateKey`) need no wrapper: each operation makes its own OpenSSL context.
public final class SerializedKey: PrivateKeyOperations, @unchecked Sendable {
    private let key: any PrivateKeyOperations
    private let lock = NSLock()

    /// Wraps `key` so its operations never overlap.
    public init(_ key: any PrivateKeyOperations) { self.key = key }

    /// `key` itself when it is a software key, otherwise `key` behind a lock.
    public static func forWorkers(_ key: any PrivateKeyOperations) -> any PrivateKeyOperations {
        key is PrivateKey || key is SerializedKey ? key : SerializedKey(key)
    }

    /// The wrapped key's public key (no card traffic).
    public var publicKey: PublicKey { key.publicKey }

    /// ECDH with the wrapped key, one caller at a time.
    public func ecdh(with peer: PublicKey) throws -> SecureBytes {
        lock.lock()
        defer { lock.unlock() }
        return try key.ecdh(with: peer)
    }

    /// The raw RSA private operation with the wrapped key, one caller at a time.
    public func rsaRawPrivate(_ input: [UInt8]) throws -> SecureBytes {
        lock.lock()
        defer { lock.unlock() }
        return try key.rsaRawPrivate(input)
    }
}
