import Foundation
import TriadCrypto

/// The escrow blob IT keeps (docs/escrow.md §1): the recovery private key
/// (PKCS#8) sealed with AES-256-GCM under a random KEK, and that KEK wrapped with
/// `PublicKeyWrap` for each enrolled recovery card's 9D key.
///
/// This type is the parsed byte layout only; it holds no secret in the clear.
/// `EscrowSeal` creates and opens blobs. The layout (docs/escrow.md §2), big-endian:
///
/// ```
/// magic "TRIADESC" (8) | version u16 = 1 | flags u16 = 0 | blob id (16)
/// | recovery certificate SHA-256 (32) | card slot count u16 (1…16)
/// | per slot: card certificate SHA-256 (32) | body length u16 | body
/// | key nonce (12) | sealed length u32 | AES-256-GCM(PKCS#8) ‖ tag
/// | checksum: SHA-256 of every preceding byte (32)
/// ```
public struct EscrowBlob: Equatable, Sendable {
    /// The blob's first 8 bytes (docs/escrow.md §2).
    public static let magic: [UInt8] = Array("TRIADESC".utf8)
    /// The only version written and read.
    public static let version: UInt16 = 1
    /// Length of the random blob id.
    public static let blobIDByteCount = 16
    /// At most this many card slots: a reader never allocates for more.
    public static let maxSlots = 16

    /// One KEK slot: the KEK wrapped to the 9D key of the card whose certificate has
    /// this fingerprint.
    public struct CardSlot: Equatable, Sendable {
        /// SHA-256 of the card's 9D certificate.
        public var cardCertificateFingerprint: [UInt8]
        /// The KEK wrapped to that card's key (`PublicKeyWrap`).
        public var body: [UInt8]
        /// A slot for the card with `cardCertificateFingerprint`.
        public init(cardCertificateFingerprint: [UInt8], body: [UInt8]) {
            self.cardCertificateFingerprint = cardCertificateFingerprint
            self.body = body
        }
    }

    /// Random id of this blob generation, recorded in the enrolment record.
    public var blobID: [UInt8]
    /// SHA-256 of the recovery certificate whose key is sealed inside.
    public var recoveryCertificateFingerprint: [UInt8]
    /// One KEK slot per enrolled card.
    public var slots: [CardSlot]
    /// The AES-256-GCM nonce of the sealed key.
    public var keyNonce: [UInt8]
    /// The recovery private key (PKCS#8) sealed under the KEK, with its tag.
    public var sealedKey: [UInt8]

    /// A blob with every field given; `EscrowSeal.create` makes them.
    public init(blobID: [UInt8], recoveryCertificateFingerprint: [UInt8], slots: [CardSlot],
                keyNonce: [UInt8], sealedKey: [UInt8]) {
        self.blobID = blobID
        self.recoveryCertificateFingerprint = recoveryCertificateFingerprint
        self.slots = slots
        self.keyNonce = keyNonce
        self.sealedKey = sealedKey
    }

    /// The header: magic through the last card slot. It is the AAD of the key seal, so a
    /// changed id, certificate fingerprint or slot list makes the key fail to open even if
    /// someone recomputed the checksum (docs/escrow.md §3, check 6).
    public var headerBytes: [UInt8] {
        var out = Self.magic
        out.appendU16(Self.version)
        out.appendU16(0)
        out += blobID
        out += recoveryCertificateFingerprint
        out.appendU16(UInt16(slots.count))
        for slot in slots {
            out += slot.cardCertificateFingerprint
            out.appendU16(UInt16(slot.body.count))
            out += slot.body
        }
        return out
    }

    /// The complete blob, checksum included.
    public var encoded: [UInt8] {
        var out = headerBytes
        out += keyNonce
        out.appendU32(UInt32(sealedKey.count))
        out += sealedKey
        out += SHA256.hash(out)
        return out
    }

    /// The SHA-256 of the complete blob: what the enrolment record stores and the ceremony
    /// reads aloud as words (docs/escrow.md §3, check 3).
    public static func digest(_ bytes: [UInt8]) -> [UInt8] { SHA256.hash(bytes) }

    /// The wrap label of a KEK slot: binds the KEK to this blob, this recovery certificate
    /// and this card, so a slot moved to another blob or card does not open.
    public static func wrapLabel(blobID: [UInt8], recoveryCertificateFingerprint: [UInt8], cardCertificateFingerprint: [UInt8]) -> [UInt8] {
        Array("triad/escrow/v1/kek".utf8) + [0] + blobID + recoveryCertificateFingerprint + cardCertificateFingerprint
    }

    /// Parses and checks structure and checksum (docs/escrow.md §3, checks 1–2). Needs no
    /// card, no PIN and no record.
    public init(parsing bytes: [UInt8]) throws {
        var r = ByteReader(bytes)
        guard bytes.count >= Self.magic.count, try r.take(8) == Self.magic else {
            throw RecoveryError.blobMalformed(problem: "wrong magic; expected \"TRIADESC\"")
        }
        let version = try r.u16()
        guard version == Self.version else { throw RecoveryError.blobUnsupportedVersion(version: version) }
        guard try r.u16() == 0 else { throw RecoveryError.blobMalformed(problem: "reserved flags are not zero") }
        let blobID = try r.take(Self.blobIDByteCount)
        let certFP = try r.take(32)
        let count = Int(try r.u16())
        guard (1...Self.maxSlots).contains(count) else {
            throw RecoveryError.blobMalformed(problem: "card slot count \(count) is outside 1…\(Self.maxSlots)")
        }
        var slots: [CardSlot] = []
        for _ in 0..<count {
            let fp = try r.take(32)
            let length = Int(try r.u16())
            guard length > 0 else { throw RecoveryError.blobMalformed(problem: "empty card slot") }
            slots.append(CardSlot(cardCertificateFingerprint: fp, body: try r.take(length)))
        }
        guard Set(slots.map { Hex.encode($0.cardCertificateFingerprint) }).count == slots.count else {
            throw RecoveryError.blobMalformed(problem: "two card slots for the same card")
        }
        let nonce = try r.take(AESGCM.nonceByteCount)
        let sealedLength = Int(try r.u32())
        guard sealedLength > AESGCM.tagByteCount, sealedLength <= 16_384 else {
            throw RecoveryError.blobMalformed(problem: "sealed key length \(sealedLength) is implausible")
        }
        let sealed = try r.take(sealedLength)
        let checksumOffset = r.offset
        let checksum = try r.take(32)
        guard r.isAtEnd else { throw RecoveryError.blobMalformed(problem: "\(bytes.count - r.offset) unexpected bytes after the checksum") }
        guard constantTimeEquals(SHA256.hash(Array(bytes[0..<checksumOffset])), checksum) else {
            throw RecoveryError.blobChecksumMismatch
        }
        self.init(blobID: blobID, recoveryCertificateFingerprint: certFP, slots: slots, keyNonce: nonce, sealedKey: sealed)
    }
}

/// A bounds-checked big-endian reader; every overrun is a `blobMalformed` error.
struct ByteReader {
    let bytes: [UInt8]
    var offset = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    var isAtEnd: Bool { offset == bytes.count }

    mutating func take(_ n: Int) throws -> [UInt8] {
        guard n >= 0, bytes.count - offset >= n else {
            throw RecoveryError.blobMalformed(problem: "truncated at byte \(offset) (needed \(n) more)")
        }
        defer { offset += n }
        return Array(bytes[offset..<offset + n])
    }
    mutating func u16() throws -> UInt16 { let b = try take(2); return UInt16(b[0]) << 8 | UInt16(b[1]) }
    mutating func u32() throws -> UInt32 { let b = try take(4); return b.reduce(0) { $0 << 8 | UInt32($1) } }
}

extension Array where Element == UInt8 {
    mutating func appendU16(_ v: UInt16) { append(UInt8(v >> 8)); append(UInt8(v & 0xFF)) }
    mutating func appendU32(_ v: UInt32) { for s in stride(from: 24, through: 0, by: -8) { append(UInt8((v >> UInt32(s)) & 0xFF)) } }
}
