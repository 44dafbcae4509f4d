/// A BER-TLV data object as ISO/IEC 7816-4 §5.2 defines it and PIV uses it (SP 800-73-4
/// Part 1 §3.3, Part 2 §3): tags of 1–3 bytes, definite lengths in 1–4 bytes (`xx`,
/// `81 xx`, `82 xx xx`, `83 xx xx xx`).
///
/// Parsing is strict, because the bytes come from a party we do not trust (a card, for the
/// client; a client, for the card): a length must fit in what is left, indefinite lengths,
/// 5-byte length forms and tags longer than 3 bytes are refused, and `parseAll` insists that
/// the objects cover the input exactly.
public struct TLV: Equatable, Sendable {
    /// The tag with its class and constructed bits, as one number: `0x7C`, `0x7F49`, `0x5FC10B`.
    public var tag: UInt32
    /// The value (contents octets).
    public var value: [UInt8]

    /// An object with `tag` (its bytes as one number) and `value`.
    public init(tag: UInt32, value: [UInt8]) {
        self.tag = tag
        self.value = value
    }

    /// Largest value length accepted; PIV objects are far smaller (a YubiKey stores ≤ 3 KB).
    public static let maximumLength = 65535

    /// Parses a sequence of objects that must cover `bytes` exactly.
    /// - Throws: `TLVError` naming what is wrong.
    public static func parseAll(_ bytes: [UInt8]) throws -> [TLV] {
        var out: [TLV] = []
        var i = 0
        while i < bytes.count {
            let (tlv, next) = try parseOne(bytes, at: i)
            out.append(tlv)
            i = next
        }
        return out
    }

    /// Parses one object at `start`; returns it and the offset just after it.
    public static func parseOne(_ b: [UInt8], at start: Int) throws -> (TLV, Int) {
        var i = start
        guard i < b.count else { throw TLVError.truncated }
        var tag = UInt32(b[i])
        i += 1
        if tag & 0x1F == 0x1F {
            // Subsequent tag bytes: bit 8 set means another follows (ISO 7816-4 §5.2.2.1).
            var count = 0
            repeat {
                guard i < b.count else { throw TLVError.truncated }
                count += 1
                guard count <= 2 else { throw TLVError.tagTooLong }
                tag = tag << 8 | UInt32(b[i])
                i += 1
            } while b[i - 1] & 0x80 != 0
        }
        guard i < b.count else { throw TLVError.truncated }
        let first = b[i]
        i += 1
        var length = 0
        if first < 0x80 {
            length = Int(first)
        } else {
            let n = Int(first & 0x7F)
            guard n >= 1, n <= 3 else { throw TLVError.badLengthForm(byte: first) }
            guard i + n <= b.count else { throw TLVError.truncated }
            for k in 0..<n { length = length << 8 | Int(b[i + k]) }
            i += n
        }
        guard length <= maximumLength else { throw TLVError.tooLong(length: length) }
        guard length <= b.count - i else { throw TLVError.lengthBeyondData(length: length, available: b.count - i) }
        return (TLV(tag: tag, value: Array(b[i..<(i + length)])), i + length)
    }

    /// The BER encoding of this object (minimal length form).
    public var encoded: [UInt8] { TLV.tagBytes(tag) + TLV.encodeLength(value.count) + value }

    /// The tag's bytes: one, two or three.
    public static func tagBytes(_ tag: UInt32) -> [UInt8] {
        if tag > 0xFFFF { return [UInt8(tag >> 16), UInt8(tag >> 8 & 0xFF), UInt8(tag & 0xFF)] }
        if tag > 0xFF { return [UInt8(tag >> 8), UInt8(tag & 0xFF)] }
        return [UInt8(tag)]
    }

    /// BER definite length: `xx`, `81 xx`, `82 xx xx`, `83 xx xx xx` (ISO 7816-4 §5.2.2.2).
    public static func encodeLength(_ n: Int) -> [UInt8] {
        switch n {
        case ..<0x80: return [UInt8(n)]
        case ..<0x100: return [0x81, UInt8(n)]
        case ..<0x10000: return [0x82, UInt8(n >> 8), UInt8(n & 0xFF)]
        default: return [0x83, UInt8(n >> 16), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)]
        }
    }

    /// A tag as the specifications print it: an even number of upper-case hex digits.
    public static func tagName(_ t: UInt32) -> String {
        let s = String(t, radix: 16, uppercase: true)
        return s.count % 2 == 1 ? "0" + s : s
    }
}

extension Array where Element == TLV {
    /// The value of the first object with `tag`, if any.
    public func value(_ tag: UInt32) -> [UInt8]? { first(where: { $0.tag == tag })?.value }
}

/// Why bytes are not BER-TLV.
public enum TLVError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The input ends inside a tag, a length or a value.
    case truncated
    /// A tag of more than 3 bytes.
    case tagTooLong
    /// The indefinite form `80` or a length of more than 3 bytes.
    case badLengthForm(byte: UInt8)
    /// A length above `TLV.maximumLength`.
    case tooLong(length: Int)
    /// A length larger than what follows.
    case lengthBeyondData(length: Int, available: Int)

    /// What is wrong, in a few words.
    public var description: String {
        switch self {
        case .truncated: return "TLV truncated"
        case .tagTooLong: return "TLV tag longer than 3 bytes"
        case .badLengthForm(let b): return "TLV length form \(TLV.tagName(UInt32(b))) not allowed"
        case .tooLong(let n): return "TLV length \(n) exceeds the limit"
        case .lengthBeyondData(let n, let a): return "TLV length \(n) but only \(a) bytes follow"
        }
    }
}
