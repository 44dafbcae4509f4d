import TriadCrypto

/// One epoch of the zone key: the policy's commitment to it and the public half of the
/// epoch's signing key (docs/zone.md §2).
///
/// Why a commitment: whoever controls the folder controls `.zone/keyring`. Without a
/// signed commitment they could wrap a zone key of their own for every member and read
/// everything written afterwards. Members check the unwrapped key against this value.
///
/// Why a signing key: what only a holder of the epoch's zone key can produce (a file's
/// key-origin marker, docs/format.md) is signed with a P-256 key derived from the zone key
/// (`EpochSigningKey`); anyone can check it against this public key, without any key.
public struct EpochCommitment: Equatable, Sendable {
    /// The epoch.
    public var epoch: UInt32
    /// The commitment to the epoch's zone key: a keyring entry that unwraps to another key is refused.
    public var commitment: [UInt8]
    /// DER SubjectPublicKeyInfo of the epoch's P-256 signing key.
    public var signingPublicKey: [UInt8]

    /// The commitment and signing key of `epoch`.
    public init(epoch: UInt32, commitment: [UInt8], signingPublicKey: [UInt8]) {
        self.epoch = epoch
        self.commitment = commitment
        self.signingPublicKey = signingPublicKey
    }

    /// The commitment and signing public key of `zoneKey` as epoch `epoch` of `zoneID`.
    public init(epoch: UInt32, zoneID: [UInt8], zoneKey: SecureBytes) throws {
        self.init(epoch: epoch, commitment: ZonePolicy.commitment(zoneID: zoneID, epoch: epoch, zoneKey: zoneKey),
                  signingPublicKey: try EpochSigningKey.derive(zoneID: zoneID, epoch: epoch, zoneKey: zoneKey).publicKey.spkiDER)
    }
}

/// The zone policy (docs/zone.md §2): who may read, who may change it, which recovery
/// certificates every file must carry, and which zone-key epochs exist. It is signed by
/// an officer (`SignedPolicy`); this type is the signed body, with a canonical encoding.
public struct ZonePolicy {
    static let magic: [UInt8] = Array("TRIADZP2".utf8)
    static let commitmentLabel: [UInt8] = Array("triad/zone-key-commitment/v1".utf8)

    /// The zone id, bound to the first policy (`ZoneIdentity`).
    public var zoneID: [UInt8]
    /// 1 for the first policy, one more for each change.
    public var version: UInt64
    /// SHA-256 of the previous policy file (all zero for version 1): the history is a chain.
    public var previousPolicyHash: [UInt8]
    /// 32 random bytes chosen by `zone init`, the same in every version; with version 1's
    /// officers and recovery certificates it determines the zone id (`ZoneIdentity`).
    public var genesisNonce: [UInt8]
    /// Seconds since 1970 when the officer signed it; the signer's certificate must have been
    /// valid then (docs/zone.md §3).
    public var createdAt: UInt64
    /// Who may sign the next version.
    public var officers: [Certificate]
    /// Who may read and write the zone's files.
    public var members: [Certificate]
    /// The recovery certificates every file must carry a slot for.
    public var recoveryCertificates: [Certificate]
    /// The epoch new files are written with.
    public var currentEpoch: UInt32
    /// Every epoch's commitment, oldest first.
    public var epochs: [EpochCommitment]
    /// SHA-256 of the keyring file this version goes with (`.zone/keyring-<hex>`).
    public var keyringHash: [UInt8]

    /// A policy with every field given; `zone init` and the officer operations make them.
    public init(zoneID: [UInt8], version: UInt64, previousPolicyHash: [UInt8], genesisNonce: [UInt8], createdAt: UInt64,
                officers: [Certificate], members: [Certificate], recoveryCertificates: [Certificate],
                currentEpoch: UInt32, epochs: [EpochCommitment], keyringHash: [UInt8]) {
        self.zoneID = zoneID
        self.version = version
        self.previousPolicyHash = previousPolicyHash
        self.genesisNonce = genesisNonce
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

    /// The zone-key commitment of `epoch`, or nil for an epoch the policy does not know.
    public func commitment(for epoch: UInt32) -> [UInt8]? {
        epochs.first { $0.epoch == epoch }?.commitment
    }

    /// The member certificate with public key `key`, or nil.
    public func isMember(_ key: PublicKey) -> Certificate? {
        members.first { $0.publicKey.spkiDER == key.spkiDER }
    }

    /// The officer certificate with public key `key`, or nil.
    public func isOfficer(_ key: PublicKey) -> Certificate? {
        officers.first { $0.publicKey.spkiDER == key.spkiDER }
    }

    /// The signing public key of `epoch`, or nil when the policy has no such epoch.
    public func signingKey(for epoch: UInt32) -> PublicKey? {
        epochs.first { $0.epoch == epoch }.flatMap { try? PublicKey(spkiDER: $0.signingPublicKey) }
    }

    /// The canonical encoding; the signature covers exactly these bytes.
    public func encoded() -> [UInt8] {
        var w = ByteWriter()
        w.raw(Self.magic)
        w.raw(zoneID)
        w.u64(version)
        w.raw(previousPolicyHash)
        w.raw(genesisNonce)
        w.u64(createdAt)
        for list in [officers, members, recoveryCertificates] {
            w.u16(UInt16(truncatingIfNeeded: list.count))
            for cert in list { w.blob(cert.der) }
        }
        w.u32(currentEpoch)
        w.u32(UInt32(truncatingIfNeeded: epochs.count))
        for e in epochs { w.u32(e.epoch); w.raw(e.commitment); w.blob(e.signingPublicKey) }
        w.raw(keyringHash)
        return w.bytes
    }

    /// What a reader refuses, checked by the writer before signing so that nothing is
    /// published that would lock the zone (docs/zone.md §2b). Nil when within every limit.
    public func limitExceeded() -> (what: String, count: Int, limit: Int)? {
        for (what, list, limit) in [("officers", officers, ZoneLimits.officers), ("members", members, ZoneLimits.members),
                                    ("recovery certificates", recoveryCertificates, ZoneLimits.recoveryCertificates)]
        where list.count > limit { return (what, list.count, limit) }
        for cert in officers + members + recoveryCertificates where cert.der.count > ZoneLimits.certificateBytes {
            return ("bytes in the certificate \(cert.subject)", cert.der.count, ZoneLimits.certificateBytes)
        }
        if epochs.count > ZoneLimits.epochs { return ("epochs", epochs.count, ZoneLimits.epochs) }
        return nil
    }

    /// Parses and insists on the canonical form (re-encoding must give the same bytes) and on
    /// every limit of `ZoneLimits`; no count or length read here allocates beyond the input.
    public init(decoding bytes: [UInt8], context: String) throws {
        var r = ByteReader(bytes, context: context)
        let magic = try r.raw(8)
        guard magic == Self.magic else {
            if magic == Array("TRIADZP1".utf8) {
                throw ZoneError.malformed(what: context, problem: "a policy of an earlier Triad format (TRIADZP1) that this version no longer reads")
            }
            throw ZoneError.malformed(what: context, problem: "not a zone policy")
        }
        zoneID = try r.raw(16)
        version = try r.u64()
        previousPolicyHash = try r.raw(32)
        genesisNonce = try r.raw(32)
        createdAt = try r.u64()
        var lists: [[Certificate]] = []
        for (what, limit) in [("officers", ZoneLimits.officers), ("members", ZoneLimits.members),
                              ("recovery certificates", ZoneLimits.recoveryCertificates)] {
            let n = Int(try r.u16())
            guard n <= limit else { throw ZoneError.malformed(what: context, problem: "\(n) \(what); at most \(limit) are allowed") }
            var certs: [Certificate] = []
            for _ in 0..<n {
                let der = try r.blob(max: ZoneLimits.certificateBytes)
                do { certs.append(try Certificate(der: der)) } catch {
                    throw ZoneError.malformed(what: context, problem: "a certificate does not parse")
                }
            }
            lists.append(certs)
        }
        officers = lists[0]; members = lists[1]; recoveryCertificates = lists[2]
        currentEpoch = try r.u32()
        let n = Int(try r.u32())
        guard n <= ZoneLimits.epochs else { throw ZoneError.malformed(what: context, problem: "\(n) epochs; at most \(ZoneLimits.epochs) are allowed") }
        epochs = []
        for _ in 0..<n {
            let epoch = EpochCommitment(epoch: try r.u32(), commitment: try r.raw(32),
                                        signingPublicKey: try r.blob(max: ZoneLimits.epochPublicKeyBytes))
            guard let key = try? PublicKey(spkiDER: epoch.signingPublicKey), key.algorithm == .ecP256,
                  key.spkiDER == epoch.signingPublicKey else {
                throw ZoneError.malformed(what: context, problem: "the signing key of epoch \(epoch.epoch) is not a P-256 public key")
            }
            epochs.append(epoch)
        }
        keyringHash = try r.raw(32)
        try r.expectEnd()
        guard encoded() == bytes else { throw ZoneError.malformed(what: context, problem: "not canonically encoded") }
        guard version >= 1, commitment(for: currentEpoch) != nil, !officers.isEmpty, !recoveryCertificates.isEmpty,
              Set(epochs.map(\.epoch)).count == epochs.count else {
            throw ZoneError.malformed(what: context, problem: "inconsistent fields")
        }
    }
}
