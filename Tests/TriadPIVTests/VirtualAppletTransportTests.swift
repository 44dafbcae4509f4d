import ISO7816
import TriadCrypto
import XCTest
@testable import VirtualPIV

/// SELECT, APDU case forms, command chaining, GET RESPONSE and power events.
final class VirtualAppletTransportTests: XCTestCase {
    func testSelectAcceptsFullTruncatedAndRIDFormsAndRefusesOthers() {
        var card = AppletDriver()
        for aid in ["a0000003080000100001 00", "a00000030800001000", "a000000308"] {
            let bytes = Hex.decode(aid.replacingOccurrences(of: " ", with: ""))!
            let r = card.send([0x00, 0xA4, 0x04, 0x00, UInt8(bytes.count)] + bytes + [0x00])
            XCTAssertEqual(r.sw, 0x9000, aid)
            guard let t = (try? TLV.parseAll(r.data)), t.first?.tag == 0x61, let inner = (try? TLV.parseAll(t[0].value)) else {
                return XCTFail("no application property template for \(aid)")
            }
            XCTAssertEqual(inner.value(0x4F), DataObjects.pivAID)
            XCTAssertEqual(String(decoding: inner.value(0x50) ?? [], as: UTF8.self), DataObjects.applicationLabel)
            XCTAssertEqual(inner.filter { $0.tag == 0xAC }.count, 3, "RSA-2048, P-256 and P-384 advertised")
        }
        // OpenSC's probes of other applications must be refused, or MUSCLE claims the card.
        for foreign in ["00a4040007627601ff000000", "00a4040006a00000000101", "00a404000be82b0601040181c31f020100",
                        "00a4040c0fd23300000045737445494420763335", "00a4040004a0000003"] {
            XCTAssertEqual(card.send(foreign).sw, 0x6A82, foreign)
        }
        XCTAssertEqual(card.send("00cadf3005").sw, 0x6D00, "unknown instruction")
        XCTAssertEqual(card.send("80cb3fff035c017e00").sw, 0x6E00, "unknown class")
        XCTAssertEqual(card.send("00a4").sw, 0x6700, "too short")
        XCTAssertEqual(card.send("00a4040005a0000003").sw, 0x6700, "Lc larger than the data")
    }

    func testSecurityStatusSurvivesReselectAndForeignSelectButNotReset() {
        var card = AppletDriver()
        XCTAssertEqual(card.verify("123456"), 0x9000)
        XCTAssertEqual(card.send("00a4040005a000000308").sw, 0x9000)
        XCTAssertEqual(card.send("00a4040006a00000000101").sw, 0x6A82)
        XCTAssertEqual(card.send("0020008000").sw, 0x9000, "PIN still verified (SP 800-73-4 Part 2 §3.1.1)")
        card.applet.reset()
        XCTAssertEqual(card.send("0020008000").sw, 0x63C3, "reset clears the PIN status")
        XCTAssertEqual(card.verify("123456"), 0x9000)
        XCTAssertEqual(try card.authenticateAdmin(), 0x9000)
        card.applet.powerOff()
        XCTAssertEqual(card.send("00200080").sw, 0x63C3, "power off clears the PIN status (case 1 form)")
        XCTAssertEqual(card.transmit(ins: 0x47, p1: 0, p2: 0x9D, data: [0xAC, 0x03, 0x80, 0x01, 0x11]).sw, 0x6982,
                       "power off clears the admin status")
    }

    func testLongResponsesAreCutToLeAndServedByGetResponse() {
        var card = AppletDriver()
        let chuid = card.send("00cb3fff055c035fc10200").data
        XCTAssertGreaterThan(chuid.count, 8)
        // OpenSC 0.23 reads 8 bytes first.
        let first = card.send("00cb3fff055c035fc10208")
        XCTAssertEqual(first.data, Array(chuid.prefix(8)))
        XCTAssertEqual(first.sw, 0x6100 | UInt16(chuid.count - 8))
        let rest = card.send([0x00, 0xC0, 0x00, 0x00, UInt8(chuid.count - 8)])
        XCTAssertEqual(first.data + rest.data, chuid)
        XCTAssertEqual(rest.sw, 0x9000)
        XCTAssertEqual(card.send("00c0000000").sw, 0x6985, "nothing pending any more")
        // Another command discards pending data.
        _ = card.send("00cb3fff055c035fc10208")
        _ = card.send("0020008000")
        XCTAssertEqual(card.send("00c0000000").sw, 0x6985)
    }

    func testChainedPutDataAndChunkedReadBackOfALargeCertificate() throws {
        var card = AppletDriver()
        XCTAssertEqual(try card.authenticateAdmin(), 0x9000)
        let certificate = [UInt8](repeating: 0x30, count: 1) + SecureRandom.bytes(count: 1200)
        let content = TLV(tag: 0x70, value: certificate).encoded + TLV(tag: 0x71, value: [0]).encoded + TLV(tag: 0xFE, value: []).encoded
        let put = TLV(tag: 0x5C, value: [0x5F, 0xC1, 0x0B]).encoded + TLV(tag: 0x53, value: content).encoded
        XCTAssertEqual(card.transmit(ins: 0xDB, p1: 0x3F, p2: 0xFF, data: put).sw, 0x9000)
        // Read with GET RESPONSE chunks of at most 256 bytes each.
        var r = card.send("00cb3fff055c035fc10b00")
        var all = r.data
        XCTAssertLessThanOrEqual(r.data.count, 256)
        while r.sw >> 8 == 0x61 {
            r = card.send([0x00, 0xC0, 0x00, 0x00, UInt8(r.sw & 0xFF)])
            XCTAssertLessThanOrEqual(r.data.count, 256)
            all += r.data
        }
        XCTAssertEqual(r.sw, 0x9000)
        XCTAssertEqual(all, TLV(tag: 0x53, value: content).encoded)
    }

    func testInterruptedChainHasNoEffect() throws {
        var card = AppletDriver()
        XCTAssertEqual(try card.authenticateAdmin(), 0x9000)
        let put = TLV(tag: 0x5C, value: [0x5F, 0xC1, 0x0B]).encoded + TLV(tag: 0x53, value: [UInt8](repeating: 1, count: 300)).encoded
        XCTAssertEqual(card.send([0x10, 0xDB, 0x3F, 0xFF, 0xFF] + put.prefix(255)).sw, 0x9000)
        XCTAssertEqual(card.send("0020008000").sw, 0x63C3, "another command drops the chain")
        // The tail alone is not a valid PUT DATA, and the object was never written.
        XCTAssertEqual(card.send([0x00, 0xDB, 0x3F, 0xFF, UInt8(put.count - 255)] + put.dropFirst(255)).sw, 0x6A80)
        XCTAssertEqual(card.send("00cb3fff055c035fc10b00").sw, 0x6A82)
    }

    func testYubiKeyVersionAndSerial() {
        var card = AppletDriver()
        XCTAssertEqual(card.send("00fd000000").data, [5, 4, 3])
        XCTAssertEqual(card.send("00fd000003").data, [5, 4, 3], "OpenSC asks with Le 03")
        let serial = card.send("00f8000000")
        XCTAssertEqual(serial.sw, 0x9000)
        XCTAssertEqual(serial.data, [0x3B, 0x8B, 0x87, 0xEA], "999000042 big-endian")
        XCTAssertTrue(VirtualCardState.serialRange.contains(999_000_042))
    }

    func testATRSaysSoftwareAndHasAValidCheckByte() {
        let atr = ATR.bytes
        XCTAssertEqual(Array(atr.prefix(3)), [0x3B, 0x88, 0x01])
        XCTAssertEqual(String(decoding: atr[3..<11], as: UTF8.self), "Triad-SW")
        XCTAssertEqual(atr.dropFirst().reduce(0, ^), 0, "TCK makes the XOR of T0...TCK zero")
    }
}
