import TriadCrypto

/// One zone key of one epoch, wrapped for one member with `PublicKeyWrap`.
public struct KeyringEntry: Equatable, Sendable {
    /// The epoch whose zone key this entry wraps.
    public var epoch: UInt32
    /// SHA-256 of the member's certificate (DER).
    public var memberFingerprint: [UInt8]
    /// The zone key wrapped to the member's public key (`PublicKeyWrap`, labelled for the keyring).
    public var wrapped: [UInt8]
}

/// The zone keyring (`.zone/keyring-<sha256 hex>`, docs/zone.md §4): every epoch's
/// zone key wrapped once per member. Only this file grows with the number of members; a
/// file's header carries one zone slot whatever the membership (docs/format.md §3.2).
///
/// The keyring is not signed itself. The signed policy names its SHA-256 and commits to
/// every zone key, so a keyring swapped by whoever controls the folder is detected both
/// ways (hash mismatch; unwrapped key not matching the commitment).
public struct Keyring {
    static let magic: [UInt8] = Array("TRIADZK1".utf8)
    static let wrapLabel: [UInt8] = Array("triad/zone-keyring/v1".utf8)

    /// The zone the keyring belongs to; part of every wrap label, so entries cannot move between zones.
    public let zoneID: [UInt8]
    /// Every wrapped zone key, by epoch and member.
    public private(set) var entries: [KeyringEntry]

    /// A keyring of `zoneID` holding `entries`.
    public init(zoneID: [UInt8], entries: [KeyringEntry] = []) {
        self.zoneID = zoneID
        self.entries = entries
        sort()
    }

    /// The `PublicKeyWrap` label: binds a wrapped key to this zone, epoch and member, so
    /// an entry cannot be moved to another member, epoch or zone.
    static func label(zoneID: [UInt8], epoch: UInt32, memberFingerprint: [UInt8]) -> [UInt8] {
        var w = ByteWriter()
        w.raw(wrapLabel)
        w.raw(zoneID)
        w.u32(epoch)
        w.raw(memberFingerprint)
        return w.bytes
    }

    private mutating func sort() {
        entries.sort { ($0.epoch, $0.memberFingerprint.hex) < ($1.epoch, $1.memberFingerprint.hex) }
    }

    /// The epochs some member holds a key for.
    public var epochs: Set<UInt32> { Set(entries.map(\.epoch)) }

    /// True when `member` holds the zone key of `epoch`.
    public func hasEntry(epoch: UInt32, member: Certificate) -> Bool {
        entries.contains { $0.epoch == epoch && $0.memberFingerprint == member.fingerprint }
    }

    /// Wraps `zoneKey` of `epoch` for `member` (one public-key operation).
    public mutating func add(zoneKey: SecureBytes, epoch: UInt32, for member: Certificate) throws {
        let fp = member.fingerprint
        entries.removeAll { $0.epoch == epoch && $0.memberFingerprint == fp }
        let wrapped = try PublicKeyWrap.wrap(zoneKey, to: member.publicKey,
                                             label: Self.label(zoneID: zoneID, epoch: epoch, memberFingerprint: fp))
        entries.append(KeyringEntry(epoch: epoch, memberFingerprint: fp, wrapped: wrapped))
        sort()
    }

    /// Drops every entry of `member`: revocation, together with a new epoch (docs/zone.md §7).
    public mutating func removeEntries(of member: Certificate) {
        let fp = member.fingerprint
        entries.removeAll { $0.memberFingerprint == fp }
    }

    /// Unwraps the zone key of `epoch` for `member` with its private key; nil if the
    /// keyring holds no entry for that member and epoch.
    public func unwrap(epoch: UInt32, member: Certificate, key: any PrivateKeyOperations) throws -> SecureBytes? {
        let fp = member.fingerprint
        guard let entry = entries.first(where: { $0.epoch == epoch && $0.memberFingerprint == fp }) else { return nil }
        return try PublicKeyWrap.unwrap(entry.wrapped, with: key,
                                        label: Self.label(zoneID: zoneID, epoch: epoch, memberFingerprint: fp))
    }

    /// The file's bytes; the signed policy names their SHA-256 (docs/zone.md §4).
    public func encoded() -> [UInt8] {
        var w = ByteWriter()
        w.raw(Self.magic)
        w.raw(zoneID)
        w.u32(UInt32(entries.count))
        for e in entries {
            w.u32(e.epoch)
            w.raw(e.memberFingerprint)
            w.blob(e.wrapped)
        }
        return w.bytes
    }

    /// SHA-256 of `encoded()`: the name of the keyring file and what the policy commits to.
    public var hash: [UInt8] { SHA256.hash(encoded()) }

    /// Parses a keyring file within `ZoneLimits`; `context` names it in errors.
    public init(decoding bytes: [UInt8], context: String) throws {
        var r = ByteReader(bytes, context: context)
        guard try r.raw(8) == Self.magic else { throw ZoneError.malformed(what: context, problem: "not a zone keyring") }
        zoneID = try r.raw(16)
        let n = Int(try r.u32())
        // Each entry takes at least 40 bytes, so a count beyond what the file can hold is a lie
        // told to make us reserve memory; refuse it before the loop (docs/zone.md §2b).
        guard n <= r.remaining / 40 else { throw ZoneError.malformed(what: context, problem: "it claims \(n) entries, more than its size can hold") }
        entries = []
        for _ in 0..<n {
            entries.append(KeyringEntry(epoch: try r.u32(), memberFingerprint: try r.raw(32),
                                        wrapped: try r.blob(max: ZoneLimits.wrappedKeyBytes)))
        }
        try r.expectEnd()
        sort()
    }
}
