import ISO7816
@testable import TriadPIV

/// A deterministic generator (SplitMix64) so every run replays the same hostile cases.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8.random(in: 0...255, using: &self) } }
}

/// What a valid answer to the command under test carries, which decides the mutations that
/// apply to it.
enum AnswerShape: Equatable {
    /// One BER-TLV object (a template); `emptyIsValid` when no data at all is also a valid
    /// answer (SELECT).
    case tlv(emptyIsValid: Bool)
    /// No data (VERIFY, PUT DATA, …): only the status word matters.
    case none
    /// A fixed number of raw bytes (GET VERSION 3, GET SERIAL 4).
    case fixed(length: Int)
}

/// A structural variant of the genuine answer, sent with `9000`: a function of the command
/// and the genuine data, so that it differs from the valid answer in exactly one respect.
struct HostileVariant {
    let name: String
    let make: (_ command: CommandAPDU, _ genuine: [UInt8]) -> [UInt8]

    init(_ name: String, _ make: @escaping (_ command: CommandAPDU, _ genuine: [UInt8]) -> [UInt8]) {
        self.name = name
        self.make = make
    }

    /// A variant that ignores the command.
    init(_ name: String, data make: @escaping (_ genuine: [UInt8]) -> [UInt8]) {
        self.init(name) { _, genuine in make(genuine) }
    }
}

/// The catalogue of bad answers for one command, built around the card's genuine answer.
/// The number of behaviours depends only on the shape, the variants and the excluded
/// status words, never on the genuine answer, so the total is fixed and documented.
enum HostileCatalog {
    /// Status words that no PIV command answers with on success.
    static let badStatusWords: [StatusWord] = [
        0x6A80, 0x6A86, 0x6A88, 0x6D00, 0x6E00, 0x6F00, 0x6700, 0x6B00, 0x6985, 0x6982, 0x6983,
        0x63C2, 0x63C0, 0x6300, 0x6A82, 0x6A84, 0x6A81, 0x9001, 0x0000, 0xFFFF, 0x6281, 0x6581, 0x6999, 0x9100,
    ]
    /// Lengths of random garbage answers.
    static let garbageLengths = [1, 2, 3, 5, 8, 33, 64, 255, 256, 257, 300, 1000, 4000]

    static func behaviours(shape: AnswerShape, variants: [HostileVariant], seed: UInt64,
                           excluding excluded: Set<StatusWord> = []) -> [HostileBehaviour] {
        var rng = SeededGenerator(state: seed)
        var out: [HostileBehaviour] = []
        /// Data and status word made from the genuine data.
        func add(_ name: String, _ make: @escaping ([UInt8]) -> ResponseAPDU) {
            out.append(HostileBehaviour(name: name) { _, genuine in make(genuine.data) })
        }
        let hasData = shape != .none

        for sw in badStatusWords where !excluded.contains(sw) {
            add("SW \(sw)") { _ in ResponseAPDU(sw: sw) }
            if hasData { add("genuine data with SW \(sw)") { ResponseAPDU(data: $0, sw: sw) } }
        }
        switch shape {
        case .tlv(emptyIsValid: false), .fixed: add("empty data, 9000") { _ in ResponseAPDU(sw: .success) }
        case .tlv(emptyIsValid: true), .none: break
        }
        for length in garbageLengths {
            if case .fixed(let n) = shape, n == length { continue }
            let junk = rng.bytes(length)
            add("\(length) random bytes") { genuine in
                var data = junk
                // Never the valid answer's first byte, so the outer tag is wrong for sure.
                if let first = genuine.first, data[0] == first { data[0] = first ^ 0x01 }
                return ResponseAPDU(data: data, sw: .success)
            }
        }
        let oversized = rng.bytes(20000)
        add("oversized data, 20000 bytes") { _ in ResponseAPDU(data: oversized, sw: .success) }

        switch shape {
        case .fixed:
            add("one byte short") { ResponseAPDU(data: Array($0.dropLast()), sw: .success) }
            add("one byte long") { ResponseAPDU(data: $0 + [0], sw: .success) }
        case .tlv:
            for (name, cut) in [("first byte", { (_: Int) in 1 }), ("first 2 bytes", { _ in 2 }), ("first 3 bytes", { _ in 3 }),
                                ("first half", { $0 / 2 }), ("all but the last byte", { $0 - 1 })] {
                add("truncated to its \(name)") { ResponseAPDU(data: Array($0.prefix(max(1, min(cut($0.count), $0.count - 1)))), sw: .success) }
            }
            add("trailing 00") { ResponseAPDU(data: $0 + [0x00], sw: .success) }
            add("trailing 00 00") { ResponseAPDU(data: $0 + [0x00, 0x00], sw: .success) }
            add("trailing TLV") { ResponseAPDU(data: $0 + [0x90, 0x01, 0x00], sw: .success) }
            add("doubled") { ResponseAPDU(data: $0 + $0, sw: .success) }
            add("wrong outer tag") { genuine in
                var data = genuine
                data[0] ^= 0x02
                return ResponseAPDU(data: data, sw: .success)
            }
            // Outer length forms: indefinite, 4 length bytes, one too long, one too short, huge.
            add("indefinite length") { let (head, body) = split($0); return ResponseAPDU(data: head + [0x80] + body + [0, 0], sw: .success) }
            add("5-byte length form") { let (head, body) = split($0); return ResponseAPDU(data: head + [0x84, 0, 0, 0, UInt8(min(body.count, 255))] + body, sw: .success) }
            add("length one too long") { let (head, body) = split($0); return ResponseAPDU(data: head + TLV.encodeLength(body.count + 1) + body, sw: .success) }
            add("length one too short") { let (head, body) = split($0); return ResponseAPDU(data: head + TLV.encodeLength(max(0, body.count - 1)) + body, sw: .success) }
            add("huge 82 FFFF length") { let (head, body) = split($0); return ResponseAPDU(data: head + [0x82, 0xFF, 0xFF] + body, sw: .success) }
            add("huge 83 length") { let (head, body) = split($0); return ResponseAPDU(data: head + [0x83, 0xFF, 0xFF, 0xFF] + body, sw: .success) }
        case .none:
            break
        }
        for variant in variants {
            out.append(HostileBehaviour(name: variant.name) { command, genuine in ResponseAPDU(data: variant.make(command, genuine.data), sw: .success) })
        }

        // Endless 61xx chains, GET RESPONSE anomalies, 6Cxx loops.
        let filler = rng.bytes(256)
        out.append(HostileBehaviour(name: "endless 61 00 with 256 bytes") { _, _ in ResponseAPDU(data: filler, sw: 0x6100) })
        out.append(HostileBehaviour(name: "endless 61 01 with 1 byte") { _, _ in ResponseAPDU(data: [0x53], sw: 0x6101) })
        out.append(HostileBehaviour(name: "endless 61 00 without data") { _, _ in ResponseAPDU(sw: 0x6100) })
        out.append(HostileBehaviour(name: "endless 6C 10") { _, _ in ResponseAPDU(sw: 0x6C10) })
        out.append(HostileBehaviour(name: "6C then garbage") { c, _ in
            c.le == 0x10 ? ResponseAPDU(data: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF], sw: .success) : ResponseAPDU(sw: 0x6C10)
        })
        guard hasData else { return out }
        out.append(HostileBehaviour(name: "GET RESPONSE returns 300 bytes") { c, genuine in
            c.ins == 0xC0 ? ResponseAPDU(data: [UInt8](repeating: 0x41, count: 300), sw: .success)
                          : ResponseAPDU(data: Array(genuine.data.prefix(2)), sw: 0x6110)
        })
        out.append(HostileBehaviour(name: "61xx then error") { c, genuine in
            c.ins == 0xC0 ? ResponseAPDU(sw: 0x6F00) : ResponseAPDU(data: Array(genuine.data.prefix(3)), sw: 0x6105)
        })
        out.append(HostileBehaviour(name: "61xx then the rest cut short") { c, genuine in
            c.ins == 0xC0 ? ResponseAPDU(data: Array(genuine.data.dropFirst(2).dropLast()), sw: .success)
                          : ResponseAPDU(data: Array(genuine.data.prefix(2)), sw: 0x6100)
        })
        return out
    }

    /// Splits a TLV into its tag bytes and its value (after the length field).
    static func split(_ b: [UInt8]) -> (head: [UInt8], body: [UInt8]) {
        let tagLength = b[0] & 0x1F == 0x1F ? 2 : 1
        guard tagLength < b.count else { return (b, []) }
        let first = b[tagLength]
        let bodyStart = first < 0x80 ? tagLength + 1 : tagLength + 1 + Int(first & 0x7F)
        return (Array(b.prefix(tagLength)), Array(b.dropFirst(min(bodyStart, b.count))))
    }
}

/// Builders for variants of a dynamic authentication template `7C {tag value}` (SP 800-73-4
/// Part 2 §3.2.4) and of other templates, from the genuine answer.
enum Template {
    /// The inner objects of a one-object template.
    static func inner(_ genuine: [UInt8]) -> [TLV] {
        guard let outer = try? TLV.parseAll(genuine), outer.count == 1, let inner = try? TLV.parseAll(outer[0].value) else { return [] }
        return inner
    }

    /// The outer tag of the genuine answer.
    static func outerTag(_ genuine: [UInt8]) -> UInt32 { (try? TLV.parseAll(genuine))?.first?.tag ?? 0x7C }

    /// The template rebuilt from `objects` under the genuine outer tag.
    static func rebuild(_ genuine: [UInt8], _ objects: [TLV]) -> [UInt8] {
        TLV(tag: outerTag(genuine), value: objects.flatMap(\.encoded)).encoded
    }

    /// Every inner object's value changed by `change`.
    static func mapValue(_ genuine: [UInt8], _ change: @escaping ([UInt8]) -> [UInt8]) -> [UInt8] {
        rebuild(genuine, inner(genuine).map { TLV(tag: $0.tag, value: change($0.value)) })
    }

    /// The inner objects' tags replaced by `tag`.
    static func retag(_ genuine: [UInt8], to tag: UInt32) -> [UInt8] {
        rebuild(genuine, inner(genuine).map { TLV(tag: tag, value: $0.value) })
    }

    /// An extra inner object appended.
    static func appending(_ genuine: [UInt8], _ extra: TLV) -> [UInt8] { rebuild(genuine, inner(genuine) + [extra]) }

    /// One bit flipped at `index` (counted from the end when negative) of the first inner value.
    static func flip(_ genuine: [UInt8], at index: Int) -> [UInt8] {
        mapValue(genuine) { value in
            guard !value.isEmpty else { return value }
            var v = value
            let i = index >= 0 ? min(index, v.count - 1) : max(0, v.count + index)
            v[i] ^= 0x01
            return v
        }
    }
}
