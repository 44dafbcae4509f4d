import TriadCrypto

/// The zone slot (type 0x0001, docs/format.md §3.2): the file key wrapped under a per-file
/// key-encryption key derived from the zone key of one epoch.
///
/// Body, exactly 80 bytes: zone id (16) ‖ epoch (4, BE) ‖ nonce (12) ‖ AES-256-GCM(FK) (32) ‖ tag (16).
/// The KEK is HKDF(ZK_e, salt = file id, info = "triad/v1/zone-slot" ‖ zone id ‖ epoch), so one
/// zone key never encrypts two slots under the same GCM key unless the file id repeats; the
/// random nonce closes even that case (a forged file that copies a victim's file id and is
/// re-granted would otherwise encrypt a second file key under the victim's KEK and nonce).
public struct ZoneSlotKey: Recipient, Identity {
    /// The zone the slot belongs to.
    public let zoneID: [UInt8]
    /// The epoch whose zone key wraps the file key.
    public let epoch: UInt32
    private let zoneKey: SecureBytes
    private let random: RandomSource

    static let bodyLength = 80

    /// A zone slot key for `zoneID` and `epoch` with the epoch's `zoneKey`.
    public init(zoneID: [UInt8], epoch: UInt32, zoneKey: SecureBytes) {
        self.init(zoneID: zoneID, epoch: epoch, zoneKey: zoneKey, random: .system)
    }

    /// Injects the nonce source (vector generation only).
    init(zoneID: [UInt8], epoch: UInt32, zoneKey: SecureBytes, random: RandomSource) {
        self.zoneID = zoneID
        self.epoch = epoch
        self.zoneKey = zoneKey
        self.random = random
    }

    /// Wraps `fileKey` under a key derived from the zone key and `fileID`, with a random nonce (docs/format.md §3.2).
    public func wrap(_ fileKey: SecureBytes, fileID: [UInt8]) throws -> KeySlot {
        try checkArguments(fileID: fileID)
        guard fileKey.count == Layout.fileKeyLength else { throw FormatError.invalidArgument(problem: "a file key is 32 bytes") }
        let kek = KeySchedule.zoneSlotKey(zoneKey: zoneKey, fileID: fileID, zoneID: zoneID, epoch: epoch)
        let nonce = random.bytes(AESGCM.nonceByteCount)
        var plain = fileKey.bytes
        defer { wipe(&plain) }
        let sealed = try AESGCM.seal(plain, key: kek, nonce: nonce)
        var body = zoneID
        body.appendBE(epoch)
        body += nonce
        body += sealed
        return KeySlot(type: SlotType.zone, body: body)
    }

    /// Opens the zone slot of this zone and epoch. Slots of other zones or epochs are not
    /// mine (nil); a slot of mine that does not open is an error (wrong zone key or damage).
    public func unwrap(_ slots: [KeySlot], fileID: [UInt8]) throws -> SecureBytes? {
        try checkArguments(fileID: fileID)
        var failure: Error?
        for slot in slots where slot.type == SlotType.zone {
            let info = try ZoneSlotInfo(slot: slot)
            guard info.zoneID == zoneID, info.epoch == epoch else { continue }
            let kek = KeySchedule.zoneSlotKey(zoneKey: zoneKey, fileID: fileID, zoneID: zoneID, epoch: epoch)
            let nonce = Array(slot.body[20..<32])
            do {
                return try AESGCM.open(Array(slot.body[32...]), key: kek, nonce: nonce)
            } catch CryptoError.authenticationFailed {
                failure = FormatError.slotUnwrapFailed(path: nil, reason: "the zone slot of epoch \(epoch) does not open with this zone key")
            }
        }
        if let failure { throw failure }
        return nil
    }

    private func checkArguments(fileID: [UInt8]) throws {
        guard zoneID.count == Layout.zoneIDLength else { throw FormatError.invalidArgument(problem: "a zone id is 16 bytes") }
        guard fileID.count == Layout.fileIDLength else { throw FormatError.invalidArgument(problem: "a file id is 32 bytes") }
        guard zoneKey.count == 32 else { throw FormatError.invalidArgument(problem: "a zone key is 32 bytes") }
    }
}

/// What a zone slot says without any key: its zone and epoch (for `zone status` and rekey).
public struct ZoneSlotInfo: Equatable, Sendable {
    /// The zone id the slot names.
    public let zoneID: [UInt8]
    /// The epoch the slot names; older than the policy's newest means stale.
    public let epoch: UInt32

    /// - Throws: `FormatError.malformedSlot` unless `slot` is a zone slot of exactly 80 bytes.
    public init(slot: KeySlot) throws {
        guard slot.type == SlotType.zone else {
            throw FormatError.malformedSlot(type: slot.type, reason: "not a zone slot")
        }
        guard slot.body.count == ZoneSlotKey.bodyLength else {
            throw FormatError.malformedSlot(type: slot.type, reason: "a zone slot body is 80 bytes, this one is \(slot.body.count)")
        }
        var reader = ByteReader(slot.body)
        zoneID = reader.take(Layout.zoneIDLength)
        epoch = reader.u32()
    }
}
