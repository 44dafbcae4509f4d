import TriadCrypto
import TriadFormat

/// The record an incident ceremony leaves beside a re-grant slot: "the recovery key gave this
/// file to this holder", signed with the recovery key.
///
/// Why: a certificate slot (docs/format.md §3.3) only says "this file key, wrapped to this
/// certificate"; anyone who knows the file key — a member, or a revoked member who kept it —
/// can add one for any certificate and recompute the header MAC. A slot for a certificate the
/// policy does not pin is legitimate only when a re-grant made it (docs/recovery.md §3), and
/// only the ceremony holds the recovery key. So the ceremony signs a record per file, and
/// `zone status` (no key) and `zone rekey` check it against the recovery certificates the
/// zone's signed history pins; a slot with no valid record is reported and removed
/// (docs/zone.md §7).
///
/// Type 0x0102, a type format readers skip (docs/format.md §3.1); body = holder certificate
/// SHA-256 (32) ‖ recovery certificate SHA-256 (32) ‖ signature (the recovery key's preferred
/// scheme: ECDSA with SHA-256/384 by curve, RSA-PSS-SHA256) over
/// "triad/v1/regrant" ‖ 0x00 ‖ zone id ‖ file id ‖ holder SHA-256 ‖ recovery SHA-256.
public struct RegrantRecord: Recipient {
    /// The slot type (docs/zone.md §7); format readers carry it as an unknown type.
    public static let slotType: UInt16 = 0x0102
    static let label: [UInt8] = Array("triad/v1/regrant".utf8)
    /// Larger than any signature of an accepted recovery key (RSA up to 8192 bits).
    static let signatureLimit = 1024

    /// The zone of the files re-granted.
    public let zoneID: [UInt8]
    /// SHA-256 of the holder's certificate: the certificate slot the record vouches for.
    public let holder: [UInt8]
    /// The recovery certificate whose key signs (one the zone pins, docs/recovery.md §3).
    public let recoveryCertificate: Certificate
    let recoveryKey: any SigningKeyOperations

    /// A record, for files of `zoneID`, that `recoveryKey` (of `recoveryCertificate`) gave the
    /// holder whose certificate has SHA-256 `holder` a slot.
    public init(zoneID: [UInt8], holder: [UInt8], recoveryCertificate: Certificate, recoveryKey: any SigningKeyOperations) {
        self.zoneID = zoneID
        self.holder = holder
        self.recoveryCertificate = recoveryCertificate
        self.recoveryKey = recoveryKey
    }

    /// Signs the record for `fileID`; the file key is not used (the record binds the file by
    /// its id, as the holder's slot does through its wrap label).
    public func wrap(_ fileKey: SecureBytes, fileID: [UInt8]) throws -> KeySlot {
        let signature = try recoveryKey.sign(Self.message(zoneID: zoneID, fileID: fileID, holder: holder,
                                                          recovery: recoveryCertificate.fingerprint))
        return KeySlot(type: Self.slotType, body: holder + recoveryCertificate.fingerprint + signature)
    }

    /// The holders of `header` whose re-grant a record signed by one of `recoveryCertificates`
    /// vouches for. Records that do not parse or verify vouch for nobody.
    public static func authorisedHolders(in header: FileHeader, recoveryCertificates: [Certificate]) -> Set<[UInt8]> {
        var holders = Set<[UInt8]>()
        for slot in header.slots where slot.type == slotType {
            let body = slot.body
            guard body.count > 64, body.count <= 64 + signatureLimit else { continue }
            let holder = Array(body[0..<32]), recovery = Array(body[32..<64])
            guard let certificate = recoveryCertificates.first(where: { $0.fingerprint == recovery }) else { continue }
            let message = Self.message(zoneID: header.zoneID, fileID: header.fileID, holder: holder, recovery: recovery)
            if certificate.publicKey.verify(signature: Array(body[64...]), for: message) { holders.insert(holder) }
        }
        return holders
    }

    static func message(zoneID: [UInt8], fileID: [UInt8], holder: [UInt8], recovery: [UInt8]) -> [UInt8] {
        label + [0] + zoneID + fileID + holder + recovery
    }
}
