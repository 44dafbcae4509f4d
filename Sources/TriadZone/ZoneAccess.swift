import TriadCrypto
import TriadFormat

/// A zone-layer slot recording the epoch in which a file's *file key* was created.
///
/// Why: a header-only rekey moves a file to the newest epoch but keeps its file key, which a
/// revoked member may have learnt. `rekey --reencrypt` must find exactly the files whose key
/// predates the newest epoch, even after a plain rekey, and recognise files it already did
/// (so it is resumable). The format carries unknown slot types through rewraps and covers
/// them by the header MAC, so this marker cannot be altered without the file key.
/// Type 0x0101 (docs/zone.md §7; an "unknown" type to format readers, docs/format.md §3.1);
/// body = the epoch, 4 bytes big-endian.
public struct KeyOriginMarker: Recipient {
    /// The slot type (docs/zone.md §7); format readers carry it as an unknown type.
    public static let slotType: UInt16 = 0x0101
    /// The epoch whose zone key wrote the file.
    public let epoch: UInt32

    /// A marker for files written with the zone key of `epoch`.
    public init(epoch: UInt32) { self.epoch = epoch }

    /// Writes the marker slot; the file key is not used.
    public func wrap(_ fileKey: SecureBytes, fileID: [UInt8]) throws -> KeySlot {
        var w = ByteWriter()
        w.u32(epoch)
        return KeySlot(type: Self.slotType, body: w.bytes)
    }

    /// The origin epoch recorded in `slots`, or 0 when there is none (written elsewhere).
    public static func epoch(in slots: [KeySlot]) -> UInt32 {
        guard let slot = slots.first(where: { $0.type == slotType }), slot.body.count == 4 else { return 0 }
        var r = ByteReader(slot.body, context: "origin slot")
        return (try? r.u32()) ?? 0
    }
}

/// What one identity can do in one zone: the zone keys it holds (if a member) and the
/// identities that open files (zone slots, and the recovery slot for a recovery key).
public struct ZoneAccess {
    /// The zone, opened through its trust checks.
    public let zone: Zone
    /// The identity as the person gave it, for messages.
    public let identityName: String
    /// The zone keys this identity unwrapped from the keyring, by epoch; empty for a non-member.
    public let zoneKeys: [UInt32: SecureBytes]
    /// What opens files: a zone identity per epoch held, and the key itself for recovery slots.
    public let identities: [any Identity]

    /// Never fails for a non-member: a non-member may still hold the recovery key. Files
    /// it cannot open fail one by one with "no key slot in FILE matches IDENTITY".
    public init(zone: Zone, key: any PrivateKeyOperations, identityName: String) throws {
        self.zone = zone
        self.identityName = identityName
        let policy = zone.policy
        var keys: [UInt32: SecureBytes] = [:]
        if policy.isMember(key.publicKey) != nil {
            keys = try zone.zoneKeys(for: key, name: identityName)
        }
        zoneKeys = keys
        var ids: [any Identity] = keys.sorted { $0.key > $1.key }.map {
            ZoneSlotKey(zoneID: policy.zoneID, epoch: $0.key, zoneKey: $0.value)
        }
        // Recovery slots cost a key operation per file; the tree engine's workers share the key.
        let shared = SerializedKey.forWorkers(key)
        if let recovery = policy.recoveryCertificates.first(where: { $0.publicKey == key.publicKey }) {
            ids.append(RecoveryIdentity(key: shared, certificateFingerprint: recovery.fingerprint))
        } else if keys.isEmpty {
            // Perhaps a recovery key of a certificate no longer pinned: try every recovery slot.
            ids.append(RecoveryIdentity(key: shared))
        }
        identities = ids
    }

    /// True when the identity holds at least one zone key.
    public var isMember: Bool { !zoneKeys.isEmpty }

    /// Recipients for a new file: the newest epoch's zone key, the origin marker, and every
    /// pinned recovery certificate. Exactly one public-key operation per recovery certificate.
    public func recipients() throws -> [any Recipient] {
        let policy = zone.policy
        guard let zoneKey = zoneKeys[policy.currentEpoch] else {
            throw ZoneError.notMember(identity: identityName, zone: zone.root)
        }
        var r: [any Recipient] = [ZoneSlotKey(zoneID: policy.zoneID, epoch: policy.currentEpoch, zoneKey: zoneKey),
                                  KeyOriginMarker(epoch: policy.currentEpoch)]
        r += policy.recoveryCertificates.map { RecoveryRecipient(certificate: $0) }
        return r
    }
}
