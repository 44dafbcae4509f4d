import Foundation
import TriadCrypto

/// Creates and opens escrow blobs (docs/escrow.md §3). The order of checks is the point:
/// everything that needs no card runs first, so a wrong or altered blob is refused before
/// the card is asked for anything and before the PIN is typed.
public enum EscrowSeal {
    /// Seals `recoveryKey` for `cards` (each card's 9D certificate) under a fresh random KEK
    /// and a fresh blob id. The KEK lives only in this call.
    public static func create(recoveryKey: PrivateKey, recoveryCertificate: Certificate, cards: [Certificate]) throws -> EscrowBlob {
        guard recoveryKey.publicKey == recoveryCertificate.publicKey else { throw RecoveryError.blobKeyDoesNotMatchCertificate }
        guard (1...EscrowBlob.maxSlots).contains(cards.count) else {
            throw RecoveryError.blobMalformed(problem: "a blob needs 1…\(EscrowBlob.maxSlots) cards, got \(cards.count)")
        }
        let blobID = SecureRandom.bytes(count: EscrowBlob.blobIDByteCount)
        let certFP = recoveryCertificate.fingerprint
        let kek = SecureBytes.random(count: 32)
        var slots: [EscrowBlob.CardSlot] = []
        for card in cards {
            let label = EscrowBlob.wrapLabel(blobID: blobID, recoveryCertificateFingerprint: certFP, cardCertificateFingerprint: card.fingerprint)
            slots.append(.init(cardCertificateFingerprint: card.fingerprint,
                               body: try PublicKeyWrap.wrap(kek, to: card.publicKey, label: label)))
        }
        var blob = EscrowBlob(blobID: blobID, recoveryCertificateFingerprint: certFP, slots: slots,
                              keyNonce: SecureRandom.bytes(count: AESGCM.nonceByteCount), sealedKey: [])
        let pkcs8 = try recoveryKey.pkcs8DER()
        blob.sealedKey = try AESGCM.seal(pkcs8, key: kek, nonce: blob.keyNonce, aad: blob.headerBytes)
        return blob
    }

    /// Checks 1–4 (docs/escrow.md §3): structure, checksum, the whole blob's SHA-256 against
    /// the enrolment record, and blob id / recovery certificate against the record. No card.
    public static func check(_ bytes: [UInt8], against record: EnrolmentRecord) throws -> EscrowBlob {
        let blob = try EscrowBlob(parsing: bytes)
        let digest = Hex.encode(EscrowBlob.digest(bytes))
        guard digest == record.blobSHA256.lowercased() else {
            throw RecoveryError.blobNotInRecord(expected: record.blobSHA256, found: digest)
        }
        guard Hex.encode(blob.recoveryCertificateFingerprint) == record.recoveryCertificateFingerprint.lowercased() else {
            throw RecoveryError.blobBoundToOtherCertificate(expected: record.recoveryCertificateFingerprint,
                                                            found: Hex.encode(blob.recoveryCertificateFingerprint))
        }
        guard Hex.encode(blob.blobID) == record.blobID.lowercased() else {
            throw RecoveryError.blobIDMismatch(expected: record.blobID, found: Hex.encode(blob.blobID))
        }
        return blob
    }

    /// Check 5: the card (identified by its 9D certificate) is enrolled and has a slot. No PIN.
    public static func slot(in blob: EscrowBlob, for cardCertificate: Certificate) throws -> EscrowBlob.CardSlot {
        guard let slot = blob.slots.first(where: { $0.cardCertificateFingerprint == cardCertificate.fingerprint }) else {
            throw RecoveryError.cardHasNoSlotInBlob(certificateFingerprint: Hex.encode(cardCertificate.fingerprint))
        }
        return slot
    }

    /// Checks 6–8: the card unwraps the KEK (this is where the PIN is used), the KEK opens
    /// the sealed key with the header as AAD, and the key is the recovery certificate's.
    /// Errors the card raises (PIN incorrect, blocked) pass through unchanged.
    public static func unlock(_ blob: EscrowBlob, card: any PrivateKeyOperations, cardCertificate: Certificate,
                              recoveryCertificate: Certificate) throws -> PrivateKey {
        guard blob.recoveryCertificateFingerprint == recoveryCertificate.fingerprint else {
            throw RecoveryError.blobBoundToOtherCertificate(expected: Hex.encode(recoveryCertificate.fingerprint),
                                                            found: Hex.encode(blob.recoveryCertificateFingerprint))
        }
        guard card.publicKey == cardCertificate.publicKey else {
            throw RecoveryError.cardNotEnrolled(certificateFingerprint: Hex.encode(cardCertificate.fingerprint))
        }
        let slot = try slot(in: blob, for: cardCertificate)
        let label = EscrowBlob.wrapLabel(blobID: blob.blobID, recoveryCertificateFingerprint: blob.recoveryCertificateFingerprint,
                                         cardCertificateFingerprint: slot.cardCertificateFingerprint)
        let kek: SecureBytes
        do {
            kek = try PublicKeyWrap.unwrap(slot.body, with: card, label: label)
        } catch CryptoError.unwrapFailed {
            throw RecoveryError.cardUnwrapFailed
        }
        let pkcs8: SecureBytes
        do {
            pkcs8 = try AESGCM.open(blob.sealedKey, key: kek, nonce: blob.keyNonce, aad: blob.headerBytes)
        } catch {
            throw RecoveryError.blobOpenFailed
        }
        let key = try PrivateKey(pkcs8DER: pkcs8)
        guard key.publicKey == recoveryCertificate.publicKey else { throw RecoveryError.blobKeyDoesNotMatchCertificate }
        return key
    }
}
