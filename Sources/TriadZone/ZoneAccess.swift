import TriadCrypto
import TriadFormat

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

    /// The same keys under a newer policy of the same zone, without the member's key: a
    /// running mount that noticed a grant or a recovery certificate change keeps its keys and
    /// makes new files for the new policy (docs/mount.md §2.1). The zone must be the same zone;
    /// an epoch the keys lack is the caller's to refuse.
    public func updating(to newer: Zone) -> ZoneAccess {
        precondition(newer.policy.zoneID == zone.policy.zoneID, "a policy of another zone")
        return ZoneAccess(zone: newer, identityName: identityName, zoneKeys: zoneKeys, identities: identities)
    }

    private init(zone: Zone, identityName: String, zoneKeys: [UInt32: SecureBytes], identities: [any Identity]) {
        self.zone = zone
        self.identityName = identityName
        self.zoneKeys = zoneKeys
        self.identities = identities
    }

    /// True when the identity holds at least one zone key.
    public var isMember: Bool { !zoneKeys.isEmpty }

    /// Recipients for a new file: the newest epoch's zone key, the key-origin marker (signed
    /// with the newest epoch's signing key), and every pinned recovery certificate. Exactly one
    /// public-key operation per recovery certificate, and one signature.
    public func recipients() throws -> [any Recipient] {
        let policy = zone.policy
        guard let zoneKey = zoneKeys[policy.currentEpoch] else {
            throw ZoneError.notMember(identity: identityName, zone: zone.root)
        }
        var r: [any Recipient] = [ZoneSlotKey(zoneID: policy.zoneID, epoch: policy.currentEpoch, zoneKey: zoneKey),
                                  try KeyOriginMarker(zoneID: policy.zoneID, epoch: policy.currentEpoch, zoneKey: zoneKey)]
        r += policy.recoveryCertificates.map { RecoveryRecipient(certificate: $0) }
        return r
    }
}
