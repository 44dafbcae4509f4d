import TriadCrypto

/// The recovery private key (in a ceremony's memory, or a PIV card), or a re-grant holder's
/// key, as an identity: opens certificate slots of both layouts (docs/format.md §3.3, §3.4).
///
/// Run-KEM slots are opened with one private-key operation per distinct KEM ciphertext: the
/// decapsulated secret is kept in a bounded cache shared by every copy of this value (and so
/// by the workers of a tree run), and wiped when evicted or when the last copy goes away.
public struct RecoveryIdentity: Identity {
    private let key: any PrivateKeyOperations
    private let certificateFingerprint: [UInt8]?
    private let cache = KEMSecretCache()

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
        var addressed = false
        for slot in slots where SlotType.isCertificateSlot(slot.type) {
            let info = try RecoverySlotInfo(slot: slot)
            if let certificateFingerprint, info.certificateFingerprint != certificateFingerprint { continue }
            addressed = true
            do {
                if let fileKey = try open(info, fileID: fileID), fileKey.count == Layout.fileKeyLength { return fileKey }
            } catch is CryptoError {
                continue
            }
        }
        if addressed && certificateFingerprint != nil {
            throw FormatError.slotUnwrapFailed(path: nil, reason: "the recovery slot for this certificate does not open with this key")
        }
        return nil
    }

    /// The file key in one slot, nil when the slot's kem does not fit this key.
    /// - Throws: `CryptoError` when the slot is for this kind of key but does not open.
    private func open(_ info: RecoverySlotInfo, fileID: [UInt8]) throws -> SecureBytes? {
        switch info.wrap {
        case let .perFile(body):
            return try PublicKeyWrap.unwrap(body, with: key, label: KeySchedule.recoveryLabel(fileID: fileID))
        case let .runKEM(kem, ciphertext, nonce, sealedKey):
            guard kem.fits(key.publicKey.algorithm, ciphertextLength: ciphertext.count) else { return nil }
            let kemHash = kem.hash(ciphertext)
            let fingerprint = info.certificateFingerprint
            let secret = try cache.secret(for: kemHash + fingerprint) {
                try PublicKeyKEM.decapsulate(ciphertext, with: key, label: KeySchedule.recoveryKEMLabel(fingerprint: fingerprint))
            }
            let kek = KeySchedule.recoveryFileKey(runSecret: secret, kemHash: kemHash, fileID: fileID, fingerprint: fingerprint)
            do {
                return try AESGCM.open(sealedKey, key: kek, nonce: nonce)
            } catch CryptoError.authenticationFailed {
                throw CryptoError.unwrapFailed
            }
        }
    }

    /// Secrets currently cached (tests check that a run decapsulates once and the bound holds).
    var cachedSecrets: Int { cache.count }
}
