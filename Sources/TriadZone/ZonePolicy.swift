import TriadCrypto

/// One epoch of the zone key and the policy's commitment to it.
///
/// Why a commitment: whoever controls the folder controls `.zone/keyring`. Without a
/// signed commitment they could wrap a zone key of their own for every member and read
/// everything written afterwards. Members check the unwrapped key against this value.
public struct EpochCommitment: Equatable, Sendable {
    public var epoch: UInt32
    public var commitment: [UInt8]

    public init(epoch: UInt32, commitment: [UInt8]) {
        self.epoch = epoch
        self.commitment = commitment
    }
}

/// The zone policy (DESIGN §2): who may read, who may change it, which recovery
/// certificates every file must carry, and which zone-key epochs exist. It is signed by
/// an officer (`SignedPolicy`); this type is the signed body, with a canonical encoding.
public struct ZonePolicy {
    static let magic: [UInt8] = Array("TRIADZP1".utf8)
    static let commitmentLabel: [UInt8] = Array("triad/zone-key-commitment/v1".utf8)

    public var zoneID: [UInt8]
    public var version: UInt64
    /// SHA-256 of the previous policy file (all zero for version 1): the history is a chain.
    public var previousPolicyHash: [UInt8]
    /// Seconds since 1970; informational, for audit.
    public var createdAt: UInt64
    public var officers: [Certificate]
    public var members: [Certificate]
    public var recoveryCertificates: [Certificate]
    public var currentEpoch: UInt32
    public var epochs: [EpochCommitment]
    /// SHA-256 of the keyring file this version goes with (`.zone/keyring-<hex>`).
    public var keyringHash: [UInt8]

    public init(zoneID: [UInt8], version: UInt64, previousPolicyHash: [UInt8], createdAt: UInt64,
                officers: [Certificate], members: [Certificate], recoveryCertificates: [Certificate],
                currentEpoch: UInt32, epochs: [EpochCommitment], keyringHash: [UInt8]) {
        self.zoneID = zoneID
        self.version = version
        self.previousPolicyHash = previousPolicyHash
        self.createdAt = createdAt
        self.officers = officers
        self.members = members
        self.recoveryCertificates = recoveryCertificates
        self.currentEpoch = currentEpoch
        self.epochs = epochs
        self.keyringHash = keyringHash
    }

    /// `SHA-256(label ‖ zone id ‖ epoch ‖ zone key)`: binds the key to this zone and epoch.
    public static func commitment(zoneID: [UInt8], epoch: UInt32, zoneKey: SecureBytes) -> [UInt8] {
        var w = ByteWriter()
        w.raw(commitmentLabel)
        w.raw(zoneID)
        w.u32(epoch)
        var input = w.bytes
        input += zoneKey.bytes
        defer { wipe(&input) }
        return SHA256.hash(input)
    }

    public func commitment(for epoch: UInt32) -> [UInt8]? {
        epochs.first { $0.epoch == epoch }?.commitment
    }

    public func isMember(_ key: PublicKey) -> Certificate? {
        members.first { $0.publicKey.spkiDER == key.spkiDER }
    }

    public func isOfficer(_ key: PublicKey) -> Certificate? {
        officers.first { $0.publicKey.spkiDER == key.spkiDER }
    }

    /// The canonical encoding; the signature covers exactly these bytes.
    public func encoded() -> [UInt8] {
        var w = ByteWriter()
        w.raw(Self.magic)
        w.raw(zoneID)
        w.u64(version)
        w.raw(previousPolicyHash)
        w.u64(createdAt)
        for list in [officers, members, recoveryCertificates] {
            w.u16(UInt16(list.count))
            for cert in list { w.blob(cert.der) }
        }
        w.u32(currentEpoch)
        w.u32(UInt32(epochs.count))
        for e in epochs { w.u32(e.epoch); w.raw(e.commitment) }
        w.raw(keyringHash)
        return w.bytes
    }

    /// Parses and insists on the canonical form (re-encoding must give the same bytes).
    public init(decoding bytes: [UInt8], context: String) throws {
        var r = ByteReader(bytes, context: context)
        guard try r.raw(8) == Self.magic else { throw ZoneError.malformed(context, "not a zone policy") }
        zoneID = try r.raw(16)
        version = try r.u64()
        previousPolicyHash = try r.raw(32)
        createdAt = try r.u64()
        var lists: [[Certificate]] = []
        for _ in 0..<3 {
            let n = Int(try r.u16())
            var certs: [Certificate] = []
            for _ in 0..<n {
                let der = try r.blob(max: 64 * 1024)
                do { certs.append(try Certificate(der: der)) } catch {
                    throw ZoneError.malformed(context, "a certificate does not parse")
                }
            }
            lists.append(certs)
        }
        officers = lists[0]; members = lists[1]; recoveryCertificates = lists[2]
        currentEpoch = try r.u32()
        let n = Int(try r.u32())
        guard n <= 1_000_000 else { throw ZoneError.malformed(context, "too many epochs") }
        epochs = []
        for _ in 0..<n { epochs.append(EpochCommitment(epoch: try r.u32(), commitment: try r.raw(32))) }
        keyringHash = try r.raw(32)
        try r.expectEnd()
        guard encoded() == bytes else { throw ZoneError.malformed(context, "not canonically encoded") }
        guard version >= 1, commitment(for: currentEpoch) != nil, !officers.isEmpty else {
            throw ZoneError.malformed(context, "inconsistent fields")
        }
    }
}
