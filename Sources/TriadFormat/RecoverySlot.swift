import TriadCrypto

/// A recovery slot: the file key wrapped to a recovery certificate's public key, EFS's "data
/// recovery field" with modern primitives. Re-grant slots for a named holder have the same
/// layout. Two layouts exist (docs/format.md §3.3, §3.4):
///
/// - type 0x0002, per-file wrap: fingerprint (32) ‖ `PublicKeyWrap` body, one public-key
///   operation per file. Read, no longer written.
/// - type 0x0003, run KEM: fingerprint (32) ‖ kem id (1) ‖ KEM ciphertext ‖ nonce (12) ‖
///   AES-256-GCM(K_file, nonce, FK) (48), where one `PublicKeyKEM` encapsulation serves every
///   file a run writes and K_file is derived per file id.
///
/// Every field length is fixed by the slot type and kem id, so a reader checks the layout
/// before any trial decryption (docs/format.md §3.1).
public struct RecoverySlotInfo: Equatable, Sendable {
    /// How the file key is wrapped.
    public enum Wrap: Equatable, Sendable {
        /// Type 0x0002: a `PublicKeyWrap` body with label "triad/v1/recovery-slot" ‖ file id.
        case perFile(body: [UInt8])
        /// Type 0x0003: the run's KEM ciphertext and this file's sealed file key.
        case runKEM(kem: RecoveryKEM, ciphertext: [UInt8], nonce: [UInt8], sealedKey: [UInt8])
    }

    /// SHA-256 of the certificate's DER: which certificate the slot is for.
    public let certificateFingerprint: [UInt8]
    /// The wrapped file key, in the slot type's layout.
    public let wrap: Wrap

    static let sealedKeyLength = Layout.fileKeyLength + AESGCM.tagByteCount

    /// - Throws: `FormatError.malformedSlot` unless `slot` is a certificate slot of either
    ///   type whose body has exactly its layout's lengths.
    public init(slot: KeySlot) throws {
        let body = slot.body
        switch slot.type {
        case SlotType.recovery:
            guard body.count > 32 else {
                throw FormatError.malformedSlot(type: slot.type, reason: "a recovery slot needs a 32-byte fingerprint and a wrapped key")
            }
            wrap = .perFile(body: Array(body[32...]))
        case SlotType.recoveryKEM:
            guard body.count > 33, let kem = RecoveryKEM(rawValue: body[32]) else {
                throw FormatError.malformedSlot(type: slot.type, reason: "a recovery KEM slot needs a fingerprint and a known kem id (1, 2 or 3)")
            }
            let tail = AESGCM.nonceByteCount + Self.sealedKeyLength
            let kemLength = body.count - 33 - tail
            guard kem.acceptsCiphertextLength(kemLength) else {
                throw FormatError.malformedSlot(type: slot.type,
                                                reason: "a recovery KEM slot of kem id \(kem.rawValue) cannot carry a \(kemLength)-byte KEM ciphertext")
            }
            let nonceStart = 33 + kemLength
            wrap = .runKEM(kem: kem, ciphertext: Array(body[33..<nonceStart]),
                           nonce: Array(body[nonceStart..<nonceStart + AESGCM.nonceByteCount]),
                           sealedKey: Array(body[(nonceStart + AESGCM.nonceByteCount)...]))
        default:
            throw FormatError.malformedSlot(type: slot.type, reason: "not a recovery slot")
        }
        certificateFingerprint = Array(body[0..<32])
    }
}

/// The recovery certificate as a recipient: writes the run-KEM slot (type 0x0003).
///
/// One value is one run: the first `wrap` encapsulates once to the certificate (an ephemeral
/// ECDH or one RSA-OAEP encryption) and every later `wrap` of this value — and of its copies,
/// which share the run — derives its file's key from that secret. Make one per command run
/// (`zone encrypt`, a re-grant, a rotation), not one per file, or nothing is amortised.
public struct RecoveryRecipient: Recipient {
    /// The recovery certificate the file key is wrapped to.
    public let certificate: Certificate
    private let run: RecoveryRun

    /// A recipient for `certificate`'s public key.
    public init(certificate: Certificate) {
        self.certificate = certificate
        run = RecoveryRun(certificate: certificate)
    }

    /// Wraps `fileKey` to the certificate, bound to `fileID`; the slot starts with the certificate's fingerprint.
    public func wrap(_ fileKey: SecureBytes, fileID: [UInt8]) throws -> KeySlot {
        guard fileID.count == Layout.fileIDLength else { throw FormatError.invalidArgument(problem: "a file id is 32 bytes") }
        guard fileKey.count == Layout.fileKeyLength else { throw FormatError.invalidArgument(problem: "a file key is 32 bytes") }
        let shared = try run.encapsulation()
        let fingerprint = certificate.fingerprint
        let kek = KeySchedule.recoveryFileKey(runSecret: shared.secret, kemHash: shared.kemHash, fileID: fileID, fingerprint: fingerprint)
        // A fresh nonce per slot: two files of one run with the same file id (a forged copy)
        // share K_file, and a repeated nonce would then leak the XOR of their file keys.
        let nonce = SecureRandom.bytes(count: AESGCM.nonceByteCount)
        let sealed = try AESGCM.seal(fileKey, key: kek, nonce: nonce)
        return KeySlot(type: SlotType.recoveryKEM, body: fingerprint + [shared.kem.rawValue] + shared.ciphertext + nonce + sealed)
    }
}

/// The per-file recovery wrap (type 0x0002) that writers used before the run KEM. Kept so
/// the vectors can still be made and the reader of the old layout stays tested.
struct PerFileRecoveryRecipient: Recipient {
    let certificate: Certificate

    func wrap(_ fileKey: SecureBytes, fileID: [UInt8]) throws -> KeySlot {
        guard fileID.count == Layout.fileIDLength else { throw FormatError.invalidArgument(problem: "a file id is 32 bytes") }
        let wrapped = try PublicKeyWrap.wrap(fileKey, to: certificate.publicKey, label: KeySchedule.recoveryLabel(fileID: fileID))
        return KeySlot(type: SlotType.recovery, body: certificate.fingerprint + wrapped)
    }
}
