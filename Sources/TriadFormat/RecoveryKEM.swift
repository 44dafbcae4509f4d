import Synchronization
import TriadCrypto

/// Which key-encapsulation a run-KEM recovery slot used (docs/format.md §3.4): the byte after
/// the fingerprint. It fixes the length of the KEM ciphertext, so a slot's layout is checked
/// before any key is tried.
public enum RecoveryKEM: UInt8, Sendable {
    /// ECDH-ES on P-256: the ciphertext is a 65-byte uncompressed point.
    case ecdhP256 = 1
    /// ECDH-ES on P-384: a 97-byte uncompressed point.
    case ecdhP384 = 2
    /// RSAES-OAEP-SHA256 of a 32-byte secret: the ciphertext is the modulus length, 256–1024
    /// bytes (RSA-2048 to RSA-8192).
    case rsaOAEP = 3

    /// The kem id for a certificate key of `algorithm`.
    public init(algorithm: KeyAlgorithm) {
        switch algorithm {
        case .ecP256: self = .ecdhP256
        case .ecP384: self = .ecdhP384
        case .rsa: self = .rsaOAEP
        }
    }

    /// Whether a KEM ciphertext of `length` bytes fits this kem id (the structural check).
    public func acceptsCiphertextLength(_ length: Int) -> Bool {
        switch self {
        case .ecdhP256: return length == 65
        case .ecdhP384: return length == 97
        case .rsaOAEP: return (256...1024).contains(length)
        }
    }

    /// Whether a private key of `algorithm` can decapsulate a ciphertext of `length` bytes.
    func fits(_ algorithm: KeyAlgorithm, ciphertextLength length: Int) -> Bool {
        RecoveryKEM(algorithm: algorithm) == self && PublicKeyKEM.ciphertextByteCount(for: algorithm) == length
    }

    /// The HKDF salt of every file key of one encapsulation: SHA-256(kem id ‖ KEM ciphertext).
    func hash(_ ciphertext: [UInt8]) -> [UInt8] { SHA256.hash([rawValue] + ciphertext) }
}

/// One run's encapsulation to one certificate, made on first use and shared by every worker
/// (and every copy of the `RecoveryRecipient` that owns it). The secret lives only in memory
/// and is wiped when the last recipient of the run goes away (`SecureBytes`).
final class RecoveryRun: @unchecked Sendable {
    struct Shared {
        let kem: RecoveryKEM
        let ciphertext: [UInt8]
        let kemHash: [UInt8]
        let secret: SecureBytes
    }

    private let certificate: Certificate
    private let state = Mutex<Shared?>(nil)

    init(certificate: Certificate) { self.certificate = certificate }

    /// The run's encapsulation; the first caller makes it (under the lock, so exactly one
    /// public-key operation per run even when workers start together).
    func encapsulation() throws -> Shared {
        try state.withLock { shared in
            if let shared { return shared }
            let key = certificate.publicKey
            let kem = RecoveryKEM(algorithm: key.algorithm)
            let made = try PublicKeyKEM.encapsulate(to: key, label: KeySchedule.recoveryKEMLabel(fingerprint: certificate.fingerprint))
            let result = Shared(kem: kem, ciphertext: made.ciphertext, kemHash: kem.hash(made.ciphertext), secret: made.secret)
            shared = result
            return result
        }
    }
}

/// Secrets already decapsulated by one identity, by KEM ciphertext, so a run of files costs
/// the recovery key (or card) one private-key operation instead of one per file. Bounded:
/// the oldest entry goes first; evicted and released secrets are wiped (`SecureBytes`).
final class KEMSecretCache: @unchecked Sendable {
    static let capacity = 32
    private let entries = Mutex<[(key: [UInt8], secret: SecureBytes)]>([])

    /// The cached secret for `key` (kem hash ‖ fingerprint), or the result of `make`, cached.
    /// `make` runs outside the lock: a card operation must not stall the other workers' hits.
    func secret(for key: [UInt8], make: () throws -> SecureBytes) rethrows -> SecureBytes {
        if let hit = entries.withLock({ list in list.first { $0.key == key }?.secret }) { return hit }
        let made = try make()
        entries.withLock { list in
            guard !list.contains(where: { $0.key == key }) else { return }
            if list.count >= Self.capacity { list.removeFirst() }
            list.append((key, made))
        }
        return made
    }

    /// How many secrets are held (tests check the bound).
    var count: Int { entries.withLock { $0.count } }
}
