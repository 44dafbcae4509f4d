import TriadCrypto

/// The recovery slot (type 0x0002, docs/format.md §3.3): the file key wrapped to the
/// recovery certificate's public key, EFS's "data recovery field" with modern primitives
/// (docs/format.md §3.3).
///
/// Body: SHA-256 fingerprint of the certificate's DER (32) ‖ a `PublicKeyWrap` body
/// (ECDH-ES + HKDF + AES-256-GCM for EC, RSA-OAEP-SHA256 for RSA) whose label is
/// "triad/v1/recovery-slot" ‖ file id, so a slot cannot be moved to another file.
public struct RecoveryRecipient: Recipient {
    /// The recovery certificate the file key is wrapped to.
    public let certificate: Certificate

    /// A recipient for `certificate`'s public key.
    public init(certificate: Certificate) {
        self.certificate = certificate
    }

    /// Wraps `fileKey` to the certificate, bound to `fileID`; the slot starts with the certificate's fingerprint.
    public func wrap(_ fileKey: SecureBytes, fileID: [UInt8]) throws -> KeySlot {
        guard fileID.count == Layout.fileIDLength else { throw FormatError.invalidArgument("a file id is 32 bytes") }
        let wrapped = try PublicKeyWrap.wrap(fileKey, to: certificate.publicKey, label: KeySchedule.recoveryLabel(fileID: fileID))
        return KeySlot(type: SlotType.recovery, body: certificate.fingerprint + wrapped)
    }
}

/// What a recovery slot says without any key: which certificate it was wrapped to.
public struct RecoverySlotInfo: Equatable, Sendable {
    /// SHA-256 of the recovery certificate the slot was wrapped to.
    public let certificateFingerprint: [UInt8]
    /// The `PublicKeyWrap` body.
    public let wrapped: [UInt8]

    /// - Throws: `FormatError.malformedSlot` unless `slot` is a recovery slot with a fingerprint and a body.
    public init(slot: KeySlot) throws {
        guard slot.type == SlotType.recovery else {
            throw FormatError.malformedSlot(type: slot.type, reason: "not a recovery slot")
        }
        guard slot.body.count > 32 else {
            throw FormatError.malformedSlot(type: slot.type, reason: "a recovery slot needs a 32-byte fingerprint and a wrapped key")
        }
        certificateFingerprint = Array(slot.body[0..<32])
        wrapped = Array(slot.body[32...])
    }
}

/// The recovery private key (in a ceremony's memory, or a PIV card) as an identity.
public struct RecoveryIdentity: Identity {
    private let key: any PrivateKeyOperations
    private let certificateFingerprint: [UInt8]?

    /// - Parameter certificateFingerprint: open only slots for this certificate; nil tries
    ///   every recovery slot and keeps the one whose wrap opens with `key`.
    public init(key: any PrivateKeyOperations, certificateFingerprint: [UInt8]? = nil) {
        self.key = key
        self.certificateFingerprint = certificateFingerprint
    }

    /// Without a fingerprint, a slot that does not open is simply not mine (trial
    /// decryption, as age does for X25519). With one, a slot for that certificate that does
    /// not open is an error: the key does not belong to the certificate, or the slot is damaged.
    /// Errors other than the crypto layer's (a card that fails) always propagate.
    public func unwrap(_ slots: [KeySlot], fileID: [UInt8]) throws -> SecureBytes? {
        let label = KeySchedule.recoveryLabel(fileID: fileID)
        var addressed = false
        for slot in slots where slot.type == SlotType.recovery {
            let info = try RecoverySlotInfo(slot: slot)
            if let certificateFingerprint, info.certificateFingerprint != certificateFingerprint { continue }
            addressed = true
            do {
                let fileKey = try PublicKeyWrap.unwrap(info.wrapped, with: key, label: label)
                if fileKey.count == Layout.fileKeyLength { return fileKey }
            } catch is CryptoError {
                continue
            }
        }
        if addressed && certificateFingerprint != nil {
            throw FormatError.slotUnwrapFailed(path: nil, reason: "the recovery slot for this certificate does not open with this key")
        }
        return nil
    }
}
