import TriadCrypto
import TriadFormat

/// The key-origin slot: which epoch a file's *file key* was made in, signed by that epoch.
///
/// Why: a header-only rekey moves a file to the newest epoch but keeps its file key, which a
/// revoked member may have learnt. `rekey --reencrypt` must find exactly the files whose key
/// predates the newest epoch, even after a plain rekey, and recognise the files it already did
/// (so it is resumable); `zone status` counts them without any key.
///
/// The header MAC alone cannot protect this claim: whoever knows the file key — the revoked
/// member among them — can rewrite any slot and recompute the MAC. So the claim is signed with
/// the epoch's signing key (`EpochSigningKey`, docs/zone.md §2), which only holders of that
/// epoch's zone key can use and whose public half is in the signed policy. The signature binds
/// the zone id, the file id and a commitment to the file key, so a marker copied from another
/// file does not verify there, and one copied together with its file id does not match the
/// file key a member recovers (docs/zone.md §7, "Why a revoked member cannot fake it").
///
/// Type 0x0101, a type format readers skip (docs/format.md §3.1); body (108 bytes):
/// BE32(epoch) ‖ commitment (32) ‖ ECDSA-P256-SHA256 signature, DER, zero-padded to 72 bytes.
public struct KeyOriginMarker: Recipient {
    /// The slot type (docs/zone.md §7); format readers carry it as an unknown type.
    public static let slotType: UInt16 = 0x0101
    static let label: [UInt8] = Array("triad/v1/key-origin".utf8)
    static let signatureField = 72
    static let bodyLength = 4 + 32 + signatureField

    /// The zone the file belongs to (signed, so a marker cannot move to another zone's file).
    public let zoneID: [UInt8]
    /// The epoch whose zone key made the file key.
    public let epoch: UInt32
    let signingKey: PrivateKey

    /// A marker for new file keys of `epoch`, signed with the key derived from `zoneKey`.
    public init(zoneID: [UInt8], epoch: UInt32, zoneKey: SecureBytes) throws {
        self.zoneID = zoneID
        self.epoch = epoch
        signingKey = try EpochSigningKey.derive(zoneID: zoneID, epoch: epoch, zoneKey: zoneKey)
    }

    /// Writes the signed marker for `fileKey` in the file `fileID`.
    public func wrap(_ fileKey: SecureBytes, fileID: [UInt8]) throws -> KeySlot {
        let commitment = Self.commitment(fileKey: fileKey, fileID: fileID, zoneID: zoneID)
        let signature = try signingKey.sign(Self.message(zoneID: zoneID, fileID: fileID, epoch: epoch, commitment: commitment))
        guard signature.count <= Self.signatureField else { throw ZoneError.malformed(what: "the epoch signature of a key-origin slot", problem: "\(signature.count) bytes, more than \(Self.signatureField)") }
        var w = ByteWriter()
        w.u32(epoch)
        w.raw(commitment)
        w.raw(signature + [UInt8](repeating: 0, count: Self.signatureField - signature.count))
        return KeySlot(type: Self.slotType, body: w.bytes)
    }

    /// What a file's key-origin slot claims. Only a claim until `verify` checked it.
    public struct Claim: Equatable {
        /// The epoch the marker claims the file key was made in.
        public let epoch: UInt32
        /// HKDF of the file key (`KeyOriginMarker.commitment`): checkable by whoever holds it.
        public let commitment: [UInt8]
        let signature: [UInt8]

        /// Whether the epoch's signing key (from the signed policy) signed this claim for this
        /// file. Needs no key: `zone status` asks it.
        public func verify(header: FileHeader, signingKey: PublicKey?) -> Bool {
            guard let signingKey else { return false }
            return signingKey.verify(signature: signature, for: KeyOriginMarker.message(
                zoneID: header.zoneID, fileID: header.fileID, epoch: epoch, commitment: commitment), scheme: .ecdsaSHA256)
        }

        /// Whether the claim was made for `fileKey` (what a member checks after unwrapping it).
        public func matches(fileKey: SecureBytes, header: FileHeader) -> Bool {
            KeyOriginMarker.commitment(fileKey: fileKey, fileID: header.fileID, zoneID: header.zoneID) == commitment
        }
    }

    /// The claim of the one key-origin slot in `slots`; nil when there is none, more than
    /// one, or it is not in the layout above (an older 4-byte marker among them): such a file
    /// counts as origin 0, stale.
    public static func claim(in slots: [KeySlot]) -> Claim? {
        let markers = slots.filter { $0.type == slotType }
        guard markers.count == 1, markers[0].body.count == bodyLength else { return nil }
        let body = markers[0].body
        let field = Array(body[36...])
        // DER: SEQUENCE, one length byte (a P-256 signature is at most 72 bytes), then zeros.
        guard field[0] == 0x30, Int(field[1]) + 2 <= signatureField else { return nil }
        let length = Int(field[1]) + 2
        guard field[length...].allSatisfy({ $0 == 0 }) else { return nil }
        let epoch = body[0..<4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        return Claim(epoch: epoch, commitment: Array(body[4..<36]), signature: Array(field[..<length]))
    }

    /// commitment = HKDF-SHA256(ikm = file key, salt = file id, info = "triad/v1/key-origin" ‖
    /// zone id, L = 32): one-way, so publishing it reveals nothing of the file key; without the
    /// suite byte, so converting a file to the mutable suite (docs/format.md §13.4), which keeps
    /// its file key and id, keeps its marker valid.
    static func commitment(fileKey: SecureBytes, fileID: [UInt8], zoneID: [UInt8]) -> [UInt8] {
        HKDF.deriveKey(inputKey: fileKey, salt: fileID, info: label + zoneID, outputByteCount: 32).bytes
    }

    /// "triad/v1/key-origin" ‖ 0x00 ‖ zone id ‖ file id ‖ BE32(epoch) ‖ commitment.
    static func message(zoneID: [UInt8], fileID: [UInt8], epoch: UInt32, commitment: [UInt8]) -> [UInt8] {
        var w = ByteWriter()
        w.raw(label + [0])
        w.raw(zoneID)
        w.raw(fileID)
        w.u32(epoch)
        w.raw(commitment)
        return w.bytes
    }
}
