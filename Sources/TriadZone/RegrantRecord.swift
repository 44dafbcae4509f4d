import Synchronization
import TriadCrypto
import TriadFormat

/// The record an incident ceremony leaves beside a re-grant slot: "the recovery key gave this
/// file to this holder".
///
/// Why: a certificate slot (docs/format.md §3.3) only says "this file key, wrapped to this
/// certificate"; anyone who knows the file key — a member, or a revoked member who kept it —
/// can add one for any certificate and recompute the header MAC. A slot for a certificate the
/// policy does not pin is legitimate only when a re-grant made it (docs/recovery.md §3), and
/// only the ceremony holds the recovery key. So the ceremony leaves a record per file, and
/// `zone status` (no key) and `zone rekey` check it against the recovery certificates the
/// zone's signed history pins; a slot with no valid record is reported and removed
/// (docs/zone.md §7).
///
/// Type 0x0103, delegated (docs/zone.md §7): the recovery key signs once per run and zone a
/// delegation to a fresh P-256 key made for the run, and that key signs each file's record,
/// so a re-grant costs one recovery-key signature per run whatever the recovery key's
/// algorithm (a P-384 or RSA-3072 signature per file cost 1–3 ms, over ten times the rest of
/// the per-file work), and checking 10,000 records costs one recovery-key verification.
///
///     body = holder SHA-256 (32) ‖ recovery certificate SHA-256 (32)
///            ‖ BE16 n ‖ delegate SubjectPublicKeyInfo (n, P-256) ‖ BE16 m ‖ delegation (m)
///            ‖ file signature (the rest, ECDSA-SHA256 by the delegate)
///     delegation     = the recovery key's preferred-scheme signature over
///                      "triad/v1/regrant-delegate" ‖ 0x00 ‖ zone id ‖ holder ‖ recovery ‖ SHA-256(delegate SPKI)
///     file signature over "triad/v1/regrant-file" ‖ 0x00 ‖ zone id ‖ file id ‖ holder ‖ recovery ‖ SHA-256(delegate SPKI)
///
/// The delegate's private key exists only in the ceremony's memory while the run lasts. Type
/// 0x0102 (one recovery-key signature per file over "triad/v1/regrant" ‖ 0x00 ‖ zone id ‖
/// file id ‖ holder ‖ recovery) is still accepted: files re-granted before this type carry it.
public struct RegrantRecord: Recipient {
    /// The slot type written; format readers skip it (docs/format.md §3.1).
    public static let slotType: UInt16 = 0x0103
    /// The earlier, undelegated type, still read.
    public static let directSlotType: UInt16 = 0x0102
    static let directLabel: [UInt8] = Array("triad/v1/regrant".utf8)
    static let delegationLabel: [UInt8] = Array("triad/v1/regrant-delegate".utf8)
    static let fileLabel: [UInt8] = Array("triad/v1/regrant-file".utf8)
    /// Larger than any signature of an accepted recovery key (RSA up to 8192 bits).
    static let signatureLimit = 1024
    /// A P-256 SubjectPublicKeyInfo in DER is 91 bytes; anything longer is refused unparsed.
    static let delegateKeyLimit = 128

    /// The zone of the files re-granted.
    public let zoneID: [UInt8]
    /// SHA-256 of the holder's certificate: the certificate slot the record vouches for.
    public let holder: [UInt8]
    /// The recovery certificate whose key signed the delegation (one the zone pins).
    public let recoveryCertificate: Certificate
    let delegate: PrivateKey
    let delegation: [UInt8]

    /// A record maker for files of `zoneID` that `recoveryKey` (of `recoveryCertificate`) gives
    /// the holder whose certificate has SHA-256 `holder`: makes the run's delegate key and has
    /// the recovery key sign its delegation — the one recovery-key operation of the run.
    /// - Throws: the recovery key's signing errors; `CryptoError` from key generation.
    public init(zoneID: [UInt8], holder: [UInt8], recoveryCertificate: Certificate, recoveryKey: any SigningKeyOperations) throws {
        self.zoneID = zoneID
        self.holder = holder
        self.recoveryCertificate = recoveryCertificate
        delegate = try PrivateKey.generate(.ecP256)
        delegation = try recoveryKey.sign(Self.delegationMessage(zoneID: zoneID, holder: holder, recovery: recoveryCertificate.fingerprint,
                                                                 delegate: delegate.publicKey.spkiDER))
    }

    /// Signs the record for `fileID` with the run's delegate; the file key is not used (the
    /// record binds the file by its id, as the holder's slot does through its wrap label).
    public func wrap(_ fileKey: SecureBytes, fileID: [UInt8]) throws -> KeySlot {
        let spki = delegate.publicKey.spkiDER
        let signature = try delegate.sign(Self.fileMessage(zoneID: zoneID, fileID: fileID, holder: holder,
                                                           recovery: recoveryCertificate.fingerprint, delegate: spki),
                                          scheme: .ecdsaSHA256)
        var body = holder + recoveryCertificate.fingerprint
        body += [UInt8(spki.count >> 8), UInt8(spki.count & 0xFF)] + spki
        body += [UInt8(delegation.count >> 8), UInt8(delegation.count & 0xFF)] + delegation
        return KeySlot(type: Self.slotType, body: body + signature)
    }

    /// The holders of `header` whose re-grant a record vouches for: a delegated record whose
    /// delegation one of `recoveryCertificates` signed and whose file signature the delegate
    /// made for this zone, file and holder, or an earlier direct record. Records that do not
    /// parse or verify vouch for nobody.
    public static func authorisedHolders(in header: FileHeader, recoveryCertificates: [Certificate]) -> Set<[UInt8]> {
        var holders = Set<[UInt8]>()
        for slot in header.slots where slot.type == slotType || slot.type == directSlotType {
            let body = slot.body
            guard body.count > 64 else { continue }
            let holder = Array(body[0..<32]), recovery = Array(body[32..<64])
            guard let certificate = recoveryCertificates.first(where: { $0.fingerprint == recovery }) else { continue }
            let vouches = slot.type == slotType
                ? delegatedRecordVerifies(body, header: header, holder: holder, certificate: certificate)
                : body.count <= 64 + signatureLimit && certificate.publicKey.verify(
                    signature: Array(body[64...]),
                    for: directLabel + [0] + header.zoneID + header.fileID + holder + recovery)
            if vouches { holders.insert(holder) }
        }
        return holders
    }

    private static func delegatedRecordVerifies(_ body: [UInt8], header: FileHeader, holder: [UInt8], certificate: Certificate) -> Bool {
        var r = ByteReader(Array(body[64...]), context: "re-grant record")
        guard let n = try? r.u16(), n <= delegateKeyLimit, let spki = try? r.raw(Int(n)),
              let m = try? r.u16(), m <= signatureLimit, let delegation = try? r.raw(Int(m)),
              (1...80).contains(r.remaining), let fileSignature = try? r.raw(r.remaining) else { return false }
        let recovery = certificate.fingerprint
        let delegationMessage = Self.delegationMessage(zoneID: header.zoneID, holder: holder, recovery: recovery, delegate: spki)
        guard DelegationCache.shared.verified(delegation, for: delegationMessage, by: certificate),
              let key = try? PublicKey(spkiDER: spki), key.algorithm == .ecP256 else { return false }
        return key.verify(signature: fileSignature,
                          for: fileMessage(zoneID: header.zoneID, fileID: header.fileID, holder: holder, recovery: recovery, delegate: spki),
                          scheme: .ecdsaSHA256)
    }

    static func delegationMessage(zoneID: [UInt8], holder: [UInt8], recovery: [UInt8], delegate: [UInt8]) -> [UInt8] {
        delegationLabel + [0] + zoneID + holder + recovery + SHA256.hash(delegate)
    }

    static func fileMessage(zoneID: [UInt8], fileID: [UInt8], holder: [UInt8], recovery: [UInt8], delegate: [UInt8]) -> [UInt8] {
        fileLabel + [0] + zoneID + fileID + holder + recovery + SHA256.hash(delegate)
    }
}

/// Delegations already verified in this process: every file of a run carries the same one, so
/// `zone status` over 10,000 re-granted files verifies the recovery key's signature once. Keyed
/// by SHA-256 of the certificate's fingerprint, the message and the signature; only successes
/// are kept, at most `limit` of them.
final class DelegationCache: Sendable {
    static let shared = DelegationCache()
    static let limit = 256
    private let known = Mutex<Set<[UInt8]>>([])

    func verified(_ signature: [UInt8], for message: [UInt8], by certificate: Certificate) -> Bool {
        let key = SHA256.hash(certificate.fingerprint + SHA256.hash(message) + signature)
        if known.withLock({ $0.contains(key) }) { return true }
        guard certificate.publicKey.verify(signature: signature, for: message) else { return false }
        known.withLock { set in
            if set.count >= Self.limit { set.removeAll() }
            set.insert(key)
        }
        return true
    }
}

/// One run's record makers, one per zone met (a run's paths may span zones): made on first use,
/// shared by the engine's workers.
public final class RegrantRecords: @unchecked Sendable {
    private let holder: [UInt8]
    private let recoveryCertificate: Certificate
    private let recoveryKey: any SigningKeyOperations
    private let records = Mutex<[[UInt8]: RegrantRecord]>([:])

    /// Records for the holder whose certificate has SHA-256 `holder`, delegated by `recoveryKey`.
    public init(holder: [UInt8], recoveryCertificate: Certificate, recoveryKey: any SigningKeyOperations) {
        self.holder = holder
        self.recoveryCertificate = recoveryCertificate
        self.recoveryKey = recoveryKey
    }

    /// The record maker for files of `zoneID` (its delegation signed on first use).
    public func record(zoneID: [UInt8]) throws -> RegrantRecord {
        try records.withLock { made in
            if let record = made[zoneID] { return record }
            let record = try RegrantRecord(zoneID: zoneID, holder: holder, recoveryCertificate: recoveryCertificate, recoveryKey: recoveryKey)
            made[zoneID] = record
            return record
        }
    }
}
