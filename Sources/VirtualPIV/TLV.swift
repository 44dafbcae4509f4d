/// BER-TLV as used by PIV data objects and templates (SP 800-73-4 Part 1 §3.3 and
/// Part 2 §3: tags of one to three bytes, lengths `xx`, `81 xx`, `82 xx xx`).
public struct TLV: Equatable, Sendable {
    /// The tag as an integer of its bytes (`0x5FC10B`, `0x7C`, `0x7F49`).
    public var tag: UInt32
    public var value: [UInt8]

    public init(_ tag: UInt32, _ value: [UInt8]) { self.tag = tag; self.value = value }

    /// Encodes tag, BER length and value.
    public var encoded: [UInt8] { TLV.tagBytes(tag) + TLV.lengthBytes(value.count) + value }

    public static func tagBytes(_ tag: UInt32) -> [UInt8] {
        if tag > 0xFFFF { return [UInt8(tag >> 16), UInt8(tag >> 8 & 0xFF), UInt8(tag & 0xFF)] }
        if tag > 0xFF { return [UInt8(tag >> 8), UInt8(tag & 0xFF)] }
        return [UInt8(tag)]
    }

    public static func lengthBytes(_ n: Int) -> [UInt8] {
        if n < 0x80 { return [UInt8(n)] }
        if n <= 0xFF { return [0x81, UInt8(n)] }
        if n <= 0xFFFF { return [0x82, UInt8(n >> 8), UInt8(n & 0xFF)] }
        return [0x83, UInt8(n >> 16), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)]
    }

    /// Parses a concatenation of TLVs; nil when a length runs past the end.
    public static func parseAll(_ bytes: [UInt8]) -> [TLV]? {
        var out: [TLV] = []
        var i = 0
        while i < bytes.count {
            guard let (tlv, next) = parseOne(bytes, at: i) else { return nil }
            out.append(tlv)
            i = next
        }
        return out
    }

    /// Parses one TLV at `offset`; returns it and the offset just after it.
    public static func parseOne(_ b: [UInt8], at offset: Int) -> (TLV, Int)? {
        var i = offset
        guard i < b.count else { return nil }
        var tag = UInt32(b[i])
        i += 1
        if tag & 0x1F == 0x1F {
            // Multi-byte tag: continue while bit 8 of the subsequent byte is set.
            repeat {
                guard i < b.count, tag <= 0xFFFF else { return nil }
                tag = tag << 8 | UInt32(b[i])
                i += 1
            } while b[i - 1] & 0x80 != 0
        }
        guard i < b.count else { return nil }
        var len = Int(b[i])
        i += 1
        if len & 0x80 != 0 {
            let n = len & 0x7F
            guard n >= 1, n <= 3, i + n <= b.count else { return nil }
            len = 0
            for _ in 0..<n { len = len << 8 | Int(b[i]); i += 1 }
        }
        guard i + len <= b.count else { return nil }
        return (TLV(tag, Array(b[i..<(i + len)])), i + len)
    }
}

extension Array where Element == TLV {
    /// The value of the first TLV with `tag`, if any.
    func value(_ tag: UInt32) -> [UInt8]? { first(where: { $0.tag == tag })?.value }
}
