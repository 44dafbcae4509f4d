import ISO7816
import TriadCrypto
import XCTest
@testable import VirtualPIV

/// IMPORT ASYMMETRIC KEY (YubiKey `FE`): a software key imported as raw components works
/// on the card exactly as the software key does.
final class VirtualAppletImportTests: XCTestCase {
    /// The INTEGER/OCTET STRING values of a DER SEQUENCE, one level down.
    func derValues(_ der: [UInt8]) -> [TLV] {
        guard let outer = (try? TLV.parseAll(der)), outer.count == 1, outer[0].tag == 0x30 else { return [] }
        return (try? TLV.parseAll(outer[0].value)) ?? []
    }

    /// The private part of PKCS#8 (RFC 5208): the OCTET STRING's content.
    func privateKeyStructure(_ key: PrivateKey) throws -> [UInt8] {
        let fields = derValues(try key.pkcs8DER().bytes)
        return try XCTUnwrap(fields.first { $0.tag == 0x04 }?.value)
    }

    func unsigned(_ integer: [UInt8], size: Int) -> [UInt8] {
        let trimmed = Array(integer.drop { $0 == 0 })
        return [UInt8](repeating: 0, count: size - trimmed.count) + trimmed
    }

    func testImportedECKeysAgreeLikeTheSoftwareKey() throws {
        for (alg, curve, size) in [(UInt8(0x11), KeyAlgorithm.ecP256, 32), (0x14, .ecP384, 48)] {
            let software = try PrivateKey.generate(curve)
            // ECPrivateKey (RFC 5915): version, privateKey OCTET STRING, ...
            let d = try XCTUnwrap(derValues(try privateKeyStructure(software)).first { $0.tag == 0x04 }?.value)
            XCTAssertEqual(d.count, size)
            var card = AppletDriver()
            let command = TLV(tag: 0x06, value: d).encoded + TLV(tag: 0xAA, value: [0x01]).encoded
            XCTAssertEqual(card.transmit(ins: 0xFE, p1: alg, p2: 0x9D, data: command).sw, 0x6982, "needs the management key")
            XCTAssertEqual(try card.authenticateAdmin(), 0x9000)
            XCTAssertEqual(card.transmit(ins: 0xFE, p1: alg, p2: 0x9D, data: command).sw, 0x9000)
            let meta = (try? TLV.parseAll(card.send("00f7009d00").data))
            XCTAssertEqual(meta?.value(0x03), [2], "origin: imported")
            XCTAssertEqual(meta?.value(0x04), TLV(tag: 0x86, value: software.publicKey.ecPoint!).encoded, "same public key")
            XCTAssertEqual(meta?.value(0x02)?.first, 1, "PIN policy never, as requested")
            let peer = try PrivateKey.generate(curve)
            let template = TLV(tag: 0x7C, value: TLV(tag: 0x82, value: []).encoded + TLV(tag: 0x85, value: peer.publicKey.ecPoint!).encoded).encoded
            let r = card.transmit(ins: 0x87, p1: alg, p2: 0x9D, data: template)
            XCTAssertEqual(r.sw, 0x9000)
            XCTAssertEqual(r.data, TLV(tag: 0x7C, value: TLV(tag: 0x82, value: try software.ecdh(with: peer.publicKey).bytes).encoded).encoded)
            // A zero scalar and a wrong length are refused.
            XCTAssertEqual(card.transmit(ins: 0xFE, p1: alg, p2: 0x9D, data: TLV(tag: 0x06, value: [UInt8](repeating: 0, count: size)).encoded).sw, 0x6A80)
            XCTAssertEqual(card.transmit(ins: 0xFE, p1: alg, p2: 0x9D, data: TLV(tag: 0x06, value: [1]).encoded).sw, 0x6A80)
        }
    }

    func testImportedRSAKeyDecryptsLikeTheSoftwareKey() throws {
        let software = try PrivateKey.generate(.rsa(bits: 2048))
        // RSAPrivateKey (RFC 8017 A.1.2): version, n, e, d, p, q, dP, dQ, qInv.
        let fields = derValues(try privateKeyStructure(software))
        XCTAssertEqual(fields.count, 9)
        var command: [UInt8] = []
        for (tag, index) in [(UInt32(0x01), 4), (0x02, 5), (0x03, 6), (0x04, 7), (0x05, 8)] {
            command += TLV(tag: tag, value: unsigned(fields[index].value, size: 128)).encoded
        }
        var card = AppletDriver()
        XCTAssertEqual(try card.authenticateAdmin(), 0x9000)
        XCTAssertEqual(card.transmit(ins: 0xFE, p1: 0x07, p2: 0x9D, data: command).sw, 0x9000)
        XCTAssertEqual(card.verify("123456"), 0x9000)
        let input = [0x00] + SecureRandom.bytes(count: 255)
        let r = card.transmit(ins: 0x87, p1: 0x07, p2: 0x9D,
                              data: TLV(tag: 0x7C, value: TLV(tag: 0x82, value: []).encoded + TLV(tag: 0x81, value: input).encoded).encoded)
        XCTAssertEqual(r.sw, 0x9000)
        XCTAssertEqual(r.data, TLV(tag: 0x7C, value: TLV(tag: 0x82, value: try software.rsaRawPrivate(input).bytes).encoded).encoded)
        // Primes that are not primes of a 2048-bit key are refused.
        let bad = TLV(tag: 0x01, value: [UInt8](repeating: 0xFF, count: 128)).encoded + TLV(tag: 0x02, value: [UInt8](repeating: 0xFF, count: 128)).encoded
        XCTAssertEqual(card.transmit(ins: 0xFE, p1: 0x07, p2: 0x9D, data: bad).sw, 0x6A80)
        XCTAssertEqual(card.transmit(ins: 0xFE, p1: 0x06, p2: 0x9D, data: command).sw, 0x6A86, "RSA-1024 not offered")
    }
}
