#if canImport(Glibc)
import Glibc
#endif
import TriadCrypto
import TriadFormat

/// What a file is, read without a key: the first question of every tree job.
public enum FileProbe {
    /// No Triad magic: plaintext (or another format).
    case plaintext
    /// The Triad magic and a header that parses (its MAC is unchecked: a claim, docs/format.md §7.2).
    case encrypted(FileHeader)
}

extension FileHeader {
    /// Every certificate slot (format types 0x0002 and 0x0003: pinned recovery certificates and
    /// re-grant holders alike, docs/format.md §3.3–§3.4) with the certificate fingerprint it names. Slots that
    /// do not parse are left out: the reader refuses such a header before this is asked.
    public var certificateSlots: [RecoverySlotInfo] {
        slots.filter { SlotType.isCertificateSlot($0.type) }.compactMap { try? RecoverySlotInfo(slot: $0) }
    }

    /// Whether a certificate slot names `fingerprint`.
    public func hasCertificateSlot(for fingerprint: [UInt8]) -> Bool {
        certificateSlots.contains { $0.certificateFingerprint == fingerprint }
    }
}

extension KeySlot {
    /// The certificate fingerprint a certificate slot names; nil for every other slot.
    public var certificateFingerprint: [UInt8]? {
        guard SlotType.isCertificateSlot(type) else { return nil }
        return (try? RecoverySlotInfo(slot: self))?.certificateFingerprint
    }
}

/// What the zone's current policy expects of every file header, worked out once per run
/// (docs/zone.md §7): the newest epoch and its signing key, the pinned recovery certificates,
/// and the ones an earlier version pinned (retired).
public struct HeaderExpectations {
    /// The zone a file must belong to.
    public let zoneID: [UInt8]
    /// The newest epoch: a zone slot of an older one is stale.
    public let epoch: UInt32
    /// The recovery certificates every file must carry a slot for.
    public let recoveryCertificates: [Certificate]
    /// Fingerprints of recovery certificates an earlier version pinned: slots for them are counted and dropped by rekey.
    public let retiredRecovery: Set<[UInt8]>
    /// Pinned now or earlier: the certificates whose key may sign a re-grant record.
    let recoveryHistory: [Certificate]
    /// The public signing key of every epoch (from the signed policy).
    let signingKeys: [UInt32: PublicKey]

    /// The expectations of `zone`'s current policy.
    public init(zone: Zone) {
        zoneID = zone.policy.zoneID
        epoch = zone.policy.currentEpoch
        recoveryCertificates = zone.policy.recoveryCertificates
        let retired = zone.retiredRecoveryCertificates()
        retiredRecovery = Set(retired.map(\.fingerprint))
        recoveryHistory = recoveryCertificates + retired
        signingKeys = Dictionary(zone.policy.epochs.compactMap { e in zone.policy.signingKey(for: e.epoch).map { (e.epoch, $0) } },
                                 uniquingKeysWith: { a, _ in a })
    }

    /// Whether `slot` is a certificate slot for a retired recovery certificate.
    public func isRetiredRecoverySlot(_ slot: KeySlot) -> Bool {
        slot.certificateFingerprint.map { retiredRecovery.contains($0) } == true
    }
}

/// A file header measured against the zone's policy: the per-file state that `zone status`
/// counts and `zone rekey` acts on (docs/zone.md §7, §8). Computed in this one place so every
/// command agrees on what "stale" or "missing" means. Needs no key: what only a file key can
/// confirm (the key-origin commitment) is `zone rekey`'s second step (`KeyOriginMarker.Claim.matches`).
public struct FileState {
    /// The parsed header the state was measured on.
    public let header: FileHeader
    /// The header's zone id is another zone's: every other field is then meaningless.
    public let otherZone: Bool
    /// Not exactly one zone slot, for the newest epoch (`zone rekey` fixes it). A file `zone`
    /// wrote has exactly one; a second one (say a damaged newest-epoch slot beside an old one a
    /// revoked member made) would let members open the file through the old one.
    public let staleEpoch: Bool
    /// Pinned recovery certificates without a slot in the file (`zone rekey` adds them).
    public let missingRecovery: [Certificate]
    /// A slot for a retired recovery certificate: the retired key still opens the file.
    public let retiredRecoverySlot: Bool
    /// Fingerprints of certificate slots that are neither for a recovery certificate the
    /// zone's history pins nor vouched for by a re-grant record (`RegrantRecord`): slots
    /// someone who knew the file key planted. `zone rekey` removes them.
    public let unauthorisedCertificateSlots: Set<[UInt8]>
    /// The key-origin claim whose epoch signature verifies, or nil (none, malformed, forged).
    public let keyOrigin: KeyOriginMarker.Claim?
    /// The epoch in which the file key was made (the verified key-origin slot; 0 without one).
    public var keyOriginEpoch: UInt32 { keyOrigin?.epoch ?? 0 }
    /// The file key predates the newest epoch: no claim the newest epoch signed says
    /// otherwise, or the file has no single newest-epoch zone slot (`zone rekey --reencrypt`
    /// replaces the key).
    public let staleKeyOrigin: Bool

    /// Measures `header` against `e`; reads nothing else, so it needs no key.
    public init(header: FileHeader, expecting e: HeaderExpectations) {
        self.header = header
        otherZone = header.zoneID != e.zoneID
        let zoneSlots = header.slots.filter { $0.type == SlotType.zone }.compactMap { try? ZoneSlotInfo(slot: $0) }
        staleEpoch = !(zoneSlots.count == 1 && zoneSlots[0].zoneID == e.zoneID && zoneSlots[0].epoch == e.epoch)
        let present = Set(header.certificateSlots.map(\.certificateFingerprint))
        missingRecovery = e.recoveryCertificates.filter { !present.contains($0.fingerprint) }
        retiredRecoverySlot = !present.isDisjoint(with: e.retiredRecovery)
        let known = Set(e.recoveryHistory.map(\.fingerprint))
        let unknown = present.subtracting(known)
        unauthorisedCertificateSlots = unknown.isEmpty ? []
            : unknown.subtracting(RegrantRecord.authorisedHolders(in: header, recoveryCertificates: e.recoveryHistory))
        let claim = KeyOriginMarker.claim(in: header.slots)
        keyOrigin = claim.flatMap { $0.verify(header: header, signingKey: e.signingKeys[$0.epoch]) ? $0 : nil }
        // A file key made in the newest epoch was wrapped for it, and every rewrap keeps one
        // newest-epoch zone slot: a current claim on a file without one is not believed.
        staleKeyOrigin = staleEpoch || (keyOrigin?.epoch ?? 0) < e.epoch
    }

    /// A header-only rewrite (docs/format.md §8) brings the file up to date.
    public var needsRewrap: Bool {
        staleEpoch || !missingRecovery.isEmpty || retiredRecoverySlot || !unauthorisedCertificateSlots.isEmpty
    }

    /// Whether `slot` stays in a header-only rewrite: zone slots are replaced by the newest
    /// epoch's, slots of retired recovery certificates and planted certificate slots go.
    public func keepsOnRewrap(_ slot: KeySlot, expecting e: HeaderExpectations) -> Bool {
        if slot.type == SlotType.zone { return false }
        guard let fingerprint = slot.certificateFingerprint else { return true }
        return !e.retiredRecovery.contains(fingerprint) && !unauthorisedCertificateSlots.contains(fingerprint)
    }
}
