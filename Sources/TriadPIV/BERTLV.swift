/// A BER-TLV data object as PIV uses it (SP 800-73-4 Part 2 §3 and ISO/IEC 7816-4 §5.2):
/// tags of 1–3 bytes, definite lengths in 1–4 bytes (`xx`, `81 xx`, `82 xx xx`, `83 xx xx xx`).
///
/// Parsing is strict, because the bytes come from a card we do not trust: a length must fit
/// in what is left, indefinite lengths and non-minimal tag continuations over 3 bytes are
/// refused, and `parseAll` insists that the objects cover the input exactly.
public struct TLV: Equatable, Sendable {
    /// The tag with its class/constructed bits, e.g. `0x7C`, `0x7F49`, `0x5FC10B` is not a tag.
    public var tag: UInt32
    public var value: [UInt8]

    public init(tag: UInt32, value: [UInt8]) {
        self.tag = tag
        self.value = value
    }

    /// Largest value length accepted; PIV objects are far smaller (a YubiKey stores ≤ 3 KB).
    public static let maximumLength = 65535

    /// Parses a sequence of TLVs that must cover `bytes` exactly.
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

    /// Parses exactly one TLV that must span all of `bytes` and carry `tag`.
    public static func parseSingle(_ bytes: [UInt8], tag expected: UInt32, context: String) throws -> TLV {
        let all: [TLV]
        do { all = try parseAll(bytes) } catch let error as TLVError { throw PIVError.malformedResponse("\(context): \(error)") }
        guard all.count == 1 else {
            throw PIVError.malformedResponse("\(context): expected one \(tagName(expected)) object, found \(all.count)")
        }
        guard all[0].tag == expected else {
            throw PIVError.malformedResponse("\(context): expected tag \(tagName(expected)), found \(tagName(all[0].tag))")
        }
        return all[0]
    }

    /// Parses the children of a constructed value, refusing duplicate tags.
    public static func children(of value: [UInt8], context: String) throws -> [UInt32: [UInt8]] {
        let all: [TLV]
        do { all = try parseAll(value) } catch let error as TLVError { throw PIVError.malformedResponse("\(context): \(error)") }
        var map: [UInt32: [UInt8]] = [:]
        for t in all {
            guard map[t.tag] == nil else { throw PIVError.malformedResponse("\(context): tag \(tagName(t.tag)) appears twice") }
            map[t.tag] = t.value
        }
        return map
    }

    static func parseOne(_ b: [UInt8], at start: Int) throws -> (TLV, Int) {
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
            guard n >= 1, n <= 3 else { throw TLVError.badLengthForm(first) }
            guard i + n <= b.count else { throw TLVError.truncated }
            for k in 0..<n { length = length << 8 | Int(b[i + k]) }
            i += n
        }
        guard length <= maximumLength else { throw TLVError.tooLong(length) }
        guard length <= b.count - i else { throw TLVError.lengthBeyondData(length: length, available: b.count - i) }
        return (TLV(tag: tag, value: Array(b[i..<(i + length)])), i + length)
    }

    /// The BER encoding of this object (minimal length form).
    public var encoded: [UInt8] {
        var out: [UInt8] = []
        if tag > 0xFFFF { out.append(UInt8(tag >> 16)) }
        if tag > 0xFF { out.append(UInt8((tag >> 8) & 0xFF)) }
        out.append(UInt8(tag & 0xFF))
        out.append(contentsOf: TLV.encodeLength(value.count))
        out.append(contentsOf: value)
        return out
    }

    /// BER definite length: `xx`, `81 xx`, `82 xx xx`, `83 xx xx xx`.
    public static func encodeLength(_ n: Int) -> [UInt8] {
        switch n {
        case ..<0x80: return [UInt8(n)]
        case ..<0x100: return [0x81, UInt8(n)]
        case ..<0x10000: return [0x82, UInt8(n >> 8), UInt8(n & 0xFF)]
        default: return [0x83, UInt8(n >> 16), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)]
        }
    }

    static func tagName(_ t: UInt32) -> String {
        let s = String(t, radix: 16, uppercase: true)
        return s.count % 2 == 1 ? "0" + s : s
    }
}

/// Why bytes are not BER-TLV.
public enum TLVError: Error, Equatable, CustomStringConvertible {
    case truncated
    case tagTooLong
    case badLengthForm(UInt8)
    case tooLong(Int)
    case lengthBeyondData(length: Int, available: Int)

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
