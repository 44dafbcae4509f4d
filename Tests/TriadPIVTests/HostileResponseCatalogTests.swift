import ISO7816
import XCTest
import TriadPCSC
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

/// One hostile behaviour of the card for the command under test (and the GET RESPONSE /
/// retries that follow it): a stateful function from command to response.
struct HostileBehaviour {
    let name: String
    let respond: (CommandAPDU) -> ResponseAPDU
}

/// Builds the catalogue of bad responses for one command, given a valid response body
/// (`good`, possibly empty) and extra structural variants that the command must refuse.
enum HostileCatalog {
    /// Status words that no PIV command answers with on success.
    static let badStatusWords: [StatusWord] = [
        0x6A80, 0x6A86, 0x6A88, 0x6D00, 0x6E00, 0x6F00, 0x6700, 0x6B00, 0x6985, 0x6982, 0x6983,
        0x63C2, 0x63C0, 0x6300, 0x6A82, 0x6A84, 0x6A81, 0x9001, 0x0000, 0xFFFF, 0x6281, 0x6581, 0x6999, 0x9100,
    ]

    static func behaviours(good: [UInt8], variants: [(String, [UInt8])], seed: UInt64,
                           excludingStatusWords excluded: Set<StatusWord> = [], dataRequired: Bool = true,
                           structured: Bool = true) -> [HostileBehaviour] {
        var rng = SeededGenerator(state: seed)
        var out: [HostileBehaviour] = []
        func fixed(_ name: String, _ r: ResponseAPDU) { out.append(HostileBehaviour(name: name) { _ in r }) }

        for sw in badStatusWords where !excluded.contains(sw) {
            fixed("SW \(sw)", ResponseAPDU(sw: sw))
            if !good.isEmpty { fixed("good data with SW \(sw)", ResponseAPDU(data: good, sw: sw)) }
        }
        if dataRequired { fixed("empty data, 9000", ResponseAPDU(sw: 0x9000)) }
        // Random garbage whose first byte is not the expected outer tag.
        for length in [1, 2, 3, 5, 8, 33, 64, 255, 256, 257, 300, 1000, 4000] where structured || length != good.count {
            var junk = rng.bytes(length)
            if let first = good.first, junk[0] == first { junk[0] = first ^ 0x01 }
            fixed("\(length) random bytes", ResponseAPDU(data: junk, sw: 0x9000))
        }
        fixed("oversized data, 20000 bytes", ResponseAPDU(data: rng.bytes(20000), sw: 0x9000))
        if !structured {
            // A fixed-size answer (GET VERSION, GET SERIAL): only its length can be wrong.
            fixed("one byte short", ResponseAPDU(data: Array(good.dropLast()), sw: 0x9000))
            fixed("one byte long", ResponseAPDU(data: good + [0], sw: 0x9000))
        }
        if good.count > 1 && structured {
            for k in Array(Set([1, 2, 3, good.count / 2, good.count - 1])).sorted() where k >= 1 && k < good.count {
                fixed("truncated to \(k) of \(good.count)", ResponseAPDU(data: Array(good.prefix(k)), sw: 0x9000))
            }
            fixed("trailing 00", ResponseAPDU(data: good + [0x00], sw: 0x9000))
            fixed("trailing 00 00", ResponseAPDU(data: good + [0x00, 0x00], sw: 0x9000))
            fixed("trailing TLV", ResponseAPDU(data: good + [0x90, 0x01, 0x00], sw: 0x9000))
            fixed("doubled", ResponseAPDU(data: good + good, sw: 0x9000))
            var wrongTag = good
            wrongTag[0] ^= 0x02
            fixed("wrong outer tag", ResponseAPDU(data: wrongTag, sw: 0x9000))
            // Outer length forms: indefinite, 4+ length bytes, too long, too short, huge.
            let tagLength = good[0] & 0x1F == 0x1F ? 2 : 1
            let head = Array(good.prefix(tagLength))
            let (_, bodyStart) = lengthField(good, at: tagLength)
            let body = Array(good[bodyStart...])
            fixed("indefinite length", ResponseAPDU(data: head + [0x80] + body + [0, 0], sw: 0x9000))
            fixed("5-byte length form", ResponseAPDU(data: head + [0x84, 0, 0, 0, UInt8(min(body.count, 255))] + body, sw: 0x9000))
            fixed("length one too long", ResponseAPDU(data: head + TLV.encodeLength(body.count + 1) + body, sw: 0x9000))
            fixed("length one too short", ResponseAPDU(data: head + TLV.encodeLength(max(0, body.count - 1)) + body, sw: 0x9000))
            fixed("huge 82 FFFF length", ResponseAPDU(data: head + [0x82, 0xFF, 0xFF] + body, sw: 0x9000))
            fixed("huge 83 length", ResponseAPDU(data: head + [0x83, 0xFF, 0xFF, 0xFF] + body, sw: 0x9000))
        }
        for (name, data) in variants { fixed(name, ResponseAPDU(data: data, sw: 0x9000)) }

        // Endless 61xx chains, GET RESPONSE anomalies, 6Cxx loops.
        let filler = rng.bytes(256)
        out.append(HostileBehaviour(name: "endless 61 00 with 256 bytes") { _ in ResponseAPDU(data: filler, sw: 0x6100) })
        out.append(HostileBehaviour(name: "endless 61 01 with 1 byte") { _ in ResponseAPDU(data: [0x53], sw: 0x6101) })
        out.append(HostileBehaviour(name: "endless 61 00 without data") { _ in ResponseAPDU(sw: 0x6100) })
        out.append(HostileBehaviour(name: "endless 6C 10") { _ in ResponseAPDU(sw: 0x6C10) })
        out.append(HostileBehaviour(name: "6C then garbage") { c in
            c.le == 0x10 ? ResponseAPDU(data: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF], sw: 0x9000) : ResponseAPDU(sw: 0x6C10)
        })
        guard !good.isEmpty else { return out }
        out.append(HostileBehaviour(name: "GET RESPONSE returns 300 bytes") { c in
            c.ins == 0xC0 ? ResponseAPDU(data: [UInt8](repeating: 0x41, count: 300), sw: 0x9000) : ResponseAPDU(data: Array(good.prefix(2)), sw: 0x6110)
        })
        out.append(HostileBehaviour(name: "61xx then error") { c in
            c.ins == 0xC0 ? ResponseAPDU(sw: 0x6F00) : ResponseAPDU(data: Array(good.prefix(3)), sw: 0x6105)
        })
        out.append(HostileBehaviour(name: "61xx then truncated rest") { c in
            c.ins == 0xC0 ? ResponseAPDU(data: Array(good.dropFirst(2).prefix(max(0, good.count - 4))), sw: 0x9000)
                          : ResponseAPDU(data: Array(good.prefix(2)), sw: 0x6100)
        })
        return out
    }

    /// Where the value of a TLV whose length field starts at `i` begins.
    static func lengthField(_ b: [UInt8], at i: Int) -> (Int, Int) {
        guard i < b.count else { return (0, b.count) }
        if b[i] < 0x80 { return (Int(b[i]), i + 1) }
        let n = Int(b[i] & 0x7F)
        var v = 0
        for k in 0..<n where i + 1 + k < b.count { v = v << 8 | Int(b[i + 1 + k]) }
        return (v, min(b.count, i + 1 + n))
    }
}

final class HostileResponseCatalogTests: XCTestCase {
    /// The catalogue is deterministic and large enough to matter.
    func testCatalogueIsDeterministic() {
        let good = TLV(tag: 0x7C, value: TLV(tag: 0x82, value: [UInt8](repeating: 1, count: 32)).encoded).encoded
        let a = HostileCatalog.behaviours(good: good, variants: [], seed: 7)
        let b = HostileCatalog.behaviours(good: good, variants: [], seed: 7)
        XCTAssertEqual(a.map(\.name), b.map(\.name))
        let probe = CommandAPDU(ins: 0x87, p1: 0x11, p2: 0x9D, data: [1], le: 256)
        XCTAssertEqual(a.map { $0.respond(probe) }, b.map { $0.respond(probe) })
        XCTAssertGreaterThan(a.count, 60)
    }
}
