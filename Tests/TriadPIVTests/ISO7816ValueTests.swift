import ISO7816
import XCTest

/// The ISO/IEC 7816-4 values both ends of the wire share: the client's encoding and the
/// card's parsing of command APDUs agree for every case form, status words read as the
/// specifications print them, and BER-TLV parsing is strict.
final class ISO7816ValueTests: XCTestCase {
    func testCommandEncodingsForEveryCase() throws {
        // ISO 7816-4 §5.1 cases 1–4, short and extended.
        XCTAssertEqual(try CommandAPDU(ins: 0x20, p1: 0, p2: 0x80).encoded(), [0x00, 0x20, 0x00, 0x80])
        XCTAssertEqual(try CommandAPDU(ins: 0xC0, p1: 0, p2: 0, le: 256).encoded(), [0x00, 0xC0, 0x00, 0x00, 0x00])
        XCTAssertEqual(try CommandAPDU(ins: 0xCB, p1: 0x3F, p2: 0xFF, data: [0x5C, 0x01, 0x7E], le: 256).encoded(),
                       [0x00, 0xCB, 0x3F, 0xFF, 0x03, 0x5C, 0x01, 0x7E, 0x00])
        let long = [UInt8](repeating: 0xAB, count: 300)
        XCTAssertEqual(try CommandAPDU(ins: 0xDB, p1: 0x3F, p2: 0xFF, data: long, le: 65536).encoded(),
                       [0x00, 0xDB, 0x3F, 0xFF, 0x00, 0x01, 0x2C] + long + [0x00, 0x00])
        XCTAssertEqual(try CommandAPDU(ins: 0xB0, p1: 0, p2: 0, le: 257).encoded(), [0x00, 0xB0, 0x00, 0x00, 0x00, 0x01, 0x01])
        XCTAssertThrowsError(try CommandAPDU(ins: 0, p1: 0, p2: 0, data: [UInt8](repeating: 0, count: 70000)).encoded()) {
            XCTAssertEqual($0 as? APDUEncodingError, .tooLong(dataCount: 70000, le: nil))
        }
        XCTAssertThrowsError(try CommandAPDU(ins: 0, p1: 0, p2: 0, le: 0).encoded())
        XCTAssertThrowsError(try CommandAPDU(ins: 0, p1: 0, p2: 0, le: 65537).encoded())
    }

    /// What the client encodes, the card parses back to the same command.
    func testParsingInvertsEncoding() throws {
        let lengths = [0, 1, 2, 254, 255, 256, 300, 65535]
        let les: [Int?] = [nil, 1, 255, 256, 257, 65535, 65536]
        var checked = 0
        for n in lengths {
            for le in les {
                let command = CommandAPDU(cla: 0x10, ins: 0x87, p1: 0x11, p2: 0x9C, data: (0..<n).map { UInt8(truncatingIfNeeded: $0) }, le: le)
                XCTAssertEqual(CommandAPDU(bytes: try command.encoded()), command, "Lc \(n), Le \(String(describing: le))")
                checked += 1
            }
        }
        XCTAssertEqual(checked, 56)
        XCTAssertTrue(CommandAPDU(bytes: [0x10, 0xDB, 0x3F, 0xFF, 0x01, 0x00])!.isChained)
        XCTAssertFalse(CommandAPDU(bytes: [0x00, 0xDB, 0x3F, 0xFF, 0x01, 0x00])!.isChained)
    }

    /// Length fields that do not add up are refused (the card answers 6700).
    func testParsingRefusesInconsistentLengths() {
        for bad: [UInt8] in [[0x00, 0xA4], [0x00, 0xA4, 0x04], [0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00, 0x00, 0x03],
                             [0x00, 0xA4, 0x04, 0x00, 0x02, 0xA0, 0x00, 0x00, 0x00], [0x00, 0xDB, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01],
                             [0x00, 0xDB, 0x00, 0x00, 0x00, 0x00, 0x02, 0x01],
                             // An extended header cut after its first length byte (found by the applet fuzzer).
                             [0x00, 0xA4, 0x04, 0x00, 0x00, 0x05]] {
            XCTAssertNil(CommandAPDU(bytes: bad), "\(bad)")
        }
    }

    func testResponsesAndStatusWords() {
        XCTAssertNil(ResponseAPDU(raw: [0x90]))
        let r = ResponseAPDU(raw: [1, 2, 0x61, 0x10])!
        XCTAssertEqual(r, ResponseAPDU(data: [1, 2], sw: 0x6110))
        XCTAssertEqual(r.raw, [1, 2, 0x61, 0x10])
        XCTAssertEqual(r.sw1, 0x61)
        XCTAssertEqual(r.sw.bytesAvailable, 16)
        XCTAssertEqual(StatusWord.moreDataAvailable(256), 0x6100)
        XCTAssertEqual(StatusWord(rawValue: 0x6100).bytesAvailable, 256)
        XCTAssertNil(StatusWord.success.bytesAvailable)
        XCTAssertEqual(StatusWord(rawValue: 0x6C10).correctLe, 16)
        XCTAssertNil(StatusWord(rawValue: 0x6A82).correctLe)
        XCTAssertEqual(StatusWord.verificationFailed(triesLeft: 2), 0x63C2)
        XCTAssertEqual(StatusWord.verificationFailed(triesLeft: 40), 0x63CF)
        XCTAssertEqual(StatusWord(sw1: 0x6A, sw2: 0x82), .fileNotFound)
        XCTAssertEqual(StatusWord.fileNotFound.description, "6A82")
        XCTAssertEqual(StatusWord(rawValue: 0x0001).description, "0001")
        XCTAssertTrue((0x63C1...0x63CF).contains(StatusWord(rawValue: 0x63C3)))
        XCTAssertFalse((0x63C1...0x63CF).contains(StatusWord.success))
    }

    func testTLVParsingIsStrict() throws {
        XCTAssertEqual(try TLV.parseAll([0x7F, 0x49, 0x03, 0x86, 0x01, 0x04]), [TLV(tag: 0x7F49, value: [0x86, 0x01, 0x04])])
        XCTAssertEqual(try TLV.parseAll([0x53, 0x81, 0x01, 0xAA]), [TLV(tag: 0x53, value: [0xAA])])
        XCTAssertEqual(try TLV.parseAll([0x5F, 0xC1, 0x0B, 0x00]), [TLV(tag: 0x5FC10B, value: [])])
        let refusals: [([UInt8], TLVError)] = [
            ([0x53], .truncated), ([0x53, 0x02, 0x00], .lengthBeyondData(length: 2, available: 1)), ([0x53, 0x80], .badLengthForm(byte: 0x80)),
            ([0x53, 0x84, 0, 0, 0, 1, 0], .badLengthForm(byte: 0x84)), ([0x53, 0x82, 0x01], .truncated), ([0x5F], .truncated),
            ([0x5F, 0xC1, 0x82, 0x01, 0x00], .tagTooLong), ([0x53, 0x83, 0xFF, 0xFF, 0xFF], .tooLong(length: 0xFFFFFF)),
        ]
        for (bad, reason) in refusals {
            XCTAssertThrowsError(try TLV.parseAll(bad), "\(bad)") { XCTAssertEqual($0 as? TLVError, reason, "\(bad)") }
        }
        for n in [0, 1, 127, 128, 255, 256, 65535] {
            let t = TLV(tag: 0x70, value: [UInt8](repeating: 7, count: n))
            XCTAssertEqual(try TLV.parseAll(t.encoded), [t], "length \(n)")
            XCTAssertEqual(try TLV.parseAll(t.encoded + t.encoded), [t, t])
        }
        XCTAssertEqual(TLV.encodeLength(127), [0x7F])
        XCTAssertEqual(TLV.encodeLength(128), [0x81, 0x80])
        XCTAssertEqual(TLV.encodeLength(256), [0x82, 0x01, 0x00])
        XCTAssertEqual(TLV.encodeLength(65536), [0x83, 0x01, 0x00, 0x00])
        XCTAssertThrowsError(try TLV.parseAll(TLV(tag: 0x70, value: [UInt8](repeating: 7, count: 65536)).encoded)) {
            XCTAssertEqual($0 as? TLVError, .tooLong(length: 65536))
        }
        XCTAssertEqual([TLV(tag: 0x80, value: [1]), TLV(tag: 0x81, value: [2]), TLV(tag: 0x81, value: [3])].value(0x81), [2])
        XCTAssertEqual(TLV.tagName(0x7C), "7C")
        XCTAssertEqual(TLV.tagName(0x5FC10B), "5FC10B")
    }
}
