import TriadCrypto

/// A minimal canonical binary encoding for zone metadata (policy, keyring, signed envelope).
///
/// Why our own and not JSON: the policy signature covers exact bytes, so the encoding must
/// have exactly one form per value. Every field is big-endian and every variable-length field
/// carries its length; a decoder re-encodes what it read and rejects any difference, so a
/// hand-edited file can never verify under a different parse (docs/zone.md §2).
struct ByteWriter {
    private(set) var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { bytes += [UInt8(v >> 8), UInt8(v & 0xFF)] }
    mutating func u32(_ v: UInt32) {
        bytes += [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
    }
    mutating func u64(_ v: UInt64) { u32(UInt32(v >> 32)); u32(UInt32(v & 0xFFFF_FFFF)) }
    /// Fixed-size field: the reader knows the length.
    mutating func raw(_ b: [UInt8]) { bytes += b }
    /// Variable-size field: a 32-bit length prefix.
    mutating func blob(_ b: [UInt8]) { u32(UInt32(b.count)); bytes += b }
}

struct ByteReader {
    private let bytes: [UInt8]
    private var offset = 0
    /// Names the thing being parsed, so errors say which file is bad.
    let context: String

    init(_ bytes: [UInt8], context: String) { self.bytes = bytes; self.context = context }

    var isAtEnd: Bool { offset == bytes.count }
    /// Bytes not yet read: what any count read from the input can at most describe.
    var remaining: Int { bytes.count - offset }

    private mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, bytes.count - offset >= n else { throw ZoneError.malformed(what: context, problem: "truncated") }
        defer { offset += n }
        return bytes[offset..<offset + n]
    }

    mutating func u8() throws -> UInt8 { try take(1).first! }
    mutating func u16() throws -> UInt16 { try take(2).reduce(0) { $0 << 8 | UInt16($1) } }
    mutating func u32() throws -> UInt32 { try take(4).reduce(0) { $0 << 8 | UInt32($1) } }
    mutating func u64() throws -> UInt64 { try take(8).reduce(0) { $0 << 8 | UInt64($1) } }
    mutating func raw(_ n: Int) throws -> [UInt8] { Array(try take(n)) }
    /// A length-prefixed field, bounded so a corrupt length cannot make us allocate gigabytes.
    mutating func blob(max: Int = 1 << 20) throws -> [UInt8] {
        let n = Int(try u32())
        guard n <= max else { throw ZoneError.malformed(what: context, problem: "field of \(n) bytes is too long") }
        return Array(try take(n))
    }
    func expectEnd() throws {
        guard isAtEnd else { throw ZoneError.malformed(what: context, problem: "trailing bytes") }
    }
}

extension Array where Element == UInt8 {
    /// Lower-case hex, used for fingerprints and zone ids in file names, JSON and messages.
    public var hex: String { Hex.encode(self) }
}
