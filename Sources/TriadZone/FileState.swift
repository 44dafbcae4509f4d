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

    /// Reads the magic and, for an encrypted file, the header.
    ///
    /// - Throws: the format's error for a file with the magic whose header does not parse
    ///   (truncated, malformed, unsupported): a damaged file, reported by name.
    ///   A file that cannot be opened throws `ZoneError.io`.
    public static func read(_ path: String) throws -> FileProbe {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw ZoneError.io(path: path, problem: "cannot open: \(FileIO.errorText())") }
        defer { close(fd) }
        guard EncryptedFile.isEncrypted(fd: fd) else { return .plaintext }
        return .encrypted(try EncryptedFile.readHeader(at: path))
    }
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

/// What the zone's current policy expects of every file header, worked out once per run
/// (docs/zone.md §7): the newest epoch, the pinned recovery certificates, and the ones an
/// earlier version pinned (retired).
public struct HeaderExpectations {
    /// The zone a file must belong to.
    public let zoneID: [UInt8]
    /// The newest epoch: a zone slot of an older one is stale.
    public let epoch: UInt32
    /// The recovery certificates every file must carry a slot for.
    public let recoveryCertificates: [Certificate]
    /// Fingerprints of recovery certificates an earlier version pinned: slots for them are counted and dropped by rekey.
    public let retiredRecovery: Set<[UInt8]>

    /// The expectations of `zone`'s current policy.
    public init(zone: Zone) {
        zoneID = zone.policy.zoneID
        epoch = zone.policy.currentEpoch
        recoveryCertificates = zone.policy.recoveryCertificates
        retiredRecovery = zone.retiredRecoveryFingerprints()
    }

    /// Whether `slot` is a certificate slot for a retired recovery certificate.
    public func isRetiredRecoverySlot(_ slot: KeySlot) -> Bool {
        SlotType.isCertificateSlot(slot.type)
            && (try? RecoverySlotInfo(slot: slot)).map { retiredRecovery.contains($0.certificateFingerprint) } == true
    }
}

/// A file header measured against the zone's policy: the per-file state that `zone status`
/// counts and `zone rekey` acts on (docs/zone.md §7, §8). Computed in this one place so every
/// command agrees on what "stale" or "missing" means.
public struct FileState {
    /// The parsed header the state was measured on.
    public let header: FileHeader
    /// The header's zone id is another zone's: every other field is then meaningless.
    public let otherZone: Bool
    /// No zone slot for the newest epoch (`zone rekey` fixes it).
    public let staleEpoch: Bool
    /// Pinned recovery certificates without a slot in the file (`zone rekey` adds them).
    public let missingRecovery: [Certificate]
    /// A slot for a retired recovery certificate: the retired key still opens the file.
    public let retiredRecoverySlot: Bool
    /// The epoch in which the file key was made (the key-origin slot; 0 without one).
    public let keyOriginEpoch: UInt32
    /// The file key predates the newest epoch (`zone rekey --reencrypt` replaces it).
    public let staleKeyOrigin: Bool

    /// Measures `header` against `e`; reads nothing else, so it needs no key.
    public init(header: FileHeader, expecting e: HeaderExpectations) {
        self.header = header
        otherZone = header.zoneID != e.zoneID
        let epochs = header.slots.filter { $0.type == SlotType.zone }
            .compactMap { try? ZoneSlotInfo(slot: $0) }
            .filter { $0.zoneID == e.zoneID }.map(\.epoch)
        staleEpoch = !epochs.contains(e.epoch)
        let present = Set(header.certificateSlots.map(\.certificateFingerprint))
        missingRecovery = e.recoveryCertificates.filter { !present.contains($0.fingerprint) }
        retiredRecoverySlot = !present.isDisjoint(with: e.retiredRecovery)
        keyOriginEpoch = KeyOriginMarker.epoch(in: header.slots)
        staleKeyOrigin = keyOriginEpoch < e.epoch
    }

    /// A header-only rewrite (docs/format.md §8) brings the file up to date.
    public var needsRewrap: Bool { staleEpoch || !missingRecovery.isEmpty || retiredRecoverySlot }
}
