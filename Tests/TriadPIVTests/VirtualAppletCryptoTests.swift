import ISO7816
import TriadCrypto
import XCTest
@testable import VirtualPIV

/// GENERATE and GENERAL AUTHENTICATE on the asymmetric slots through the pure applet,
/// checked against software keys on the other side.
final class VirtualAppletCryptoTests: XCTestCase {
    func testECDHOnEveryCurveMatchesSoftwareSide() throws {
        for (alg, curve) in [(UInt8(0x11), KeyAlgorithm.ecP256), (0x14, .ecP384)] {
            var card = AppletDriver()
            XCTAssertEqual(try card.authenticateAdmin(), 0x9000)
            let cardPublic = try card.generate(slot: 0x9D, alg: alg)
            let peer = try PrivateKey.generate(curve)
            let template = TLV(tag: 0x7C, value: TLV(tag: 0x82, value: []).encoded + TLV(tag: 0x85, value: peer.publicKey.ecPoint!).encoded).encoded
            XCTAssertEqual(card.transmit(ins: 0x87, p1: alg, p2: 0x9D, data: template).sw, 0x6982, "PIN first")
            XCTAssertEqual(card.verify("123456"), 0x9000)
            let r = card.transmit(ins: 0x87, p1: alg, p2: 0x9D, data: template)
            XCTAssertEqual(r.sw, 0x9000, "\(curve)")
            let expected = try peer.ecdh(with: cardPublic).bytes
            XCTAssertEqual(r.data, TLV(tag: 0x7C, value: TLV(tag: 0x82, value: expected).encoded).encoded, "\(curve)")
            // The PIN stays verified for 9D (policy "once"): a second derivation works.
            XCTAssertEqual(card.transmit(ins: 0x87, p1: alg, p2: 0x9D, data: template).sw, 0x9000)
            XCTAssertEqual(card.transmit(ins: alg == 0x11 ? 0x87 : 0x87, p1: alg == 0x11 ? 0x14 : 0x11, p2: 0x9D, data: template).sw, 0x6A86,
                           "P1 must be the key's algorithm")
            // A point that is not on the curve is refused.
            var bad = peer.publicKey.ecPoint!
            bad[bad.count - 1] ^= 1
            let badTemplate = TLV(tag: 0x7C, value: TLV(tag: 0x82, value: []).encoded + TLV(tag: 0x85, value: bad).encoded).encoded
            XCTAssertEqual(card.transmit(ins: 0x87, p1: alg, p2: 0x9D, data: badTemplate).sw, 0x6A80)
        }
    }

    func testRSA2048RawDecryptOpensAnOAEPWrap() throws {
        var card = AppletDriver()
        XCTAssertEqual(try card.authenticateAdmin(), 0x9000)
        let cardPublic = try card.generate(slot: 0x9D, alg: 0x07)
        XCTAssertEqual(cardPublic.algorithm, .rsa(bits: 2048))
        XCTAssertEqual(cardPublic.rsaExponent, [1, 0, 1])
        let secret = SecureBytes.random(count: 32)
        let wrapped = try PublicKeyWrap.wrap(secret, to: cardPublic, label: Array("virtual-card test".utf8))
        XCTAssertEqual(card.verify("123456"), 0x9000)
        let unwrapped = try PublicKeyWrap.unwrap(wrapped, with: AppletKeyOperations(card: card, publicKey: cardPublic),
                                                 label: Array("virtual-card test".utf8))
        XCTAssertEqual(unwrapped, secret)
        // Wrong input size: ykpiv and the card require exactly the modulus length.
        let short = TLV(tag: 0x7C, value: TLV(tag: 0x82, value: []).encoded + TLV(tag: 0x81, value: [UInt8](repeating: 1, count: 255)).encoded).encoded
        XCTAssertEqual(card.transmit(ins: 0x87, p1: 0x07, p2: 0x9D, data: short).sw, 0x6A80)
    }

    func testSigningOn9A9C9EWithTheirPINRules() throws {
        var card = AppletDriver()
        XCTAssertEqual(try card.authenticateAdmin(), 0x9000)
        let digest = SHA256.hash(Array("order 66".utf8))
        let sign = TLV(tag: 0x7C, value: TLV(tag: 0x82, value: []).encoded + TLV(tag: 0x81, value: digest).encoded).encoded
        let k9a = try card.generate(slot: 0x9A, alg: 0x11)
        let k9c = try card.generate(slot: 0x9C, alg: 0x11)
        let k9e = try card.generate(slot: 0x9E, alg: 0x11)
        let signature: (UInt8) -> [UInt8]? = { slot in
            let r = card.transmit(ins: 0x87, p1: 0x11, p2: slot, data: sign)
            guard r.sw == 0x9000 else { return nil }
            return (try? TLV.parseAll((try? TLV.parseAll(r.data))?.value(0x7C) ?? []))?.value(0x82)
        }
        let s9e = try XCTUnwrap(signature(0x9E), "9E needs no PIN")
        XCTAssertNil(signature(0x9A), "9A needs the PIN")
        XCTAssertEqual(card.verify("123456"), 0x9000)
        let s9a = try XCTUnwrap(signature(0x9A))
        let s9c = try XCTUnwrap(signature(0x9C))
        XCTAssertNil(signature(0x9C), "9C is PIN-always: one signature per VERIFY")
        XCTAssertNotNil(signature(0x9A), "9A is PIN-once: the PIN status itself stays")
        XCTAssertEqual(card.verify("123456"), 0x9000)
        XCTAssertNotNil(signature(0x9C), "a fresh VERIFY allows the next 9C signature")
        for (key, sig) in [(k9a, s9a), (k9c, s9c), (k9e, s9e)] {
            XCTAssertTrue(key.verify(signature: sig, for: Array("order 66".utf8)), "ECDSA over SHA-256 verifies")
        }
        XCTAssertEqual(card.transmit(ins: 0x87, p1: 0x11, p2: 0x95, data: sign).sw, 0x6A88, "no such key reference")
        var empty = AppletDriver()
        XCTAssertEqual(empty.transmit(ins: 0x87, p1: 0x11, p2: 0x9D, data: sign).sw, 0x6A88, "empty slot")
    }

    func testGenerateResponseEncodingsAreExactlyWhatYkpivParses() throws {
        var card = AppletDriver()
        XCTAssertEqual(try card.authenticateAdmin(), 0x9000)
        let ec256 = card.transmit(ins: 0x47, p1: 0, p2: 0x9D, data: [0xAC, 0x03, 0x80, 0x01, 0x11])
        XCTAssertEqual(Array(ec256.data.prefix(5)), [0x7F, 0x49, 0x43, 0x86, 0x41])
        XCTAssertEqual(ec256.data.count, 5 + 65)
        let ec384 = card.transmit(ins: 0x47, p1: 0, p2: 0x9D, data: [0xAC, 0x06, 0x80, 0x01, 0x14, 0xAA, 0x01, 0x02])
        XCTAssertEqual(Array(ec384.data.prefix(5)), [0x7F, 0x49, 0x63, 0x86, 0x61])
        let rsa = card.transmit(ins: 0x47, p1: 0, p2: 0x9D, data: [0xAC, 0x03, 0x80, 0x01, 0x07])
        XCTAssertEqual(Array(rsa.data.prefix(9)), [0x7F, 0x49, 0x82, 0x01, 0x09, 0x81, 0x82, 0x01, 0x00])
        XCTAssertEqual(Array(rsa.data.suffix(5)), [0x82, 0x03, 0x01, 0x00, 0x01])
        XCTAssertEqual(rsa.data.count, 5 + 4 + 256 + 5)
        XCTAssertEqual(card.transmit(ins: 0x47, p1: 0, p2: 0x9D, data: [0xAC, 0x03, 0x80, 0x01, 0x06]).sw, 0x6A80, "RSA-1024 not offered")
        XCTAssertEqual(card.transmit(ins: 0x47, p1: 0, p2: 0x9B, data: [0xAC, 0x03, 0x80, 0x01, 0x11]).sw, 0x6A86)
    }

    func testPrivateKeysNeverLeaveTheCard() throws {
        var card = AppletDriver()
        XCTAssertEqual(try card.authenticateAdmin(), 0x9000)
        _ = try card.generate(slot: 0x9D, alg: 0x11)
        let der = card.applet.state.keys[0x9D]!.pkcs8.bytes
        let scalar = Array(der.suffix(from: 36).prefix(32))
        XCTAssertEqual(card.verify("123456"), 0x9000)
        // Every readable thing: all objects, metadata, a GENERATE-free read of the slot.
        var seen: [UInt8] = []
        for tag in 0x5FC101...0x5FC123 {
            let t = TLV.tagBytes(UInt32(tag))
            seen += card.send([0x00, 0xCB, 0x3F, 0xFF, 0x05, 0x5C, 0x03] + t + [0x00]).data
        }
        seen += card.send("00f7009d00").data
        XCTAssertFalse(Hex.encode(seen).contains(Hex.encode(scalar)))
    }
}

/// The applet's 9D key behind `PrivateKeyOperations`, the way a PIV client uses a card.
struct AppletKeyOperations: PrivateKeyOperations {
    var card: AppletDriver
    let publicKey: PublicKey

    func ecdh(with peer: PublicKey) throws -> SecureBytes { throw CryptoError.unwrapFailed }

    func rsaRawPrivate(_ input: [UInt8]) throws -> SecureBytes {
        var driver = card
        let padded = [UInt8](repeating: 0, count: 256 - input.count) + input
        let r = driver.transmit(ins: 0x87, p1: 0x07, p2: 0x9D,
                                data: TLV(tag: 0x7C, value: TLV(tag: 0x82, value: []).encoded + TLV(tag: 0x81, value: padded).encoded).encoded)
        guard r.sw == 0x9000, let inner = (try? TLV.parseAll((try? TLV.parseAll(r.data))?.value(0x7C) ?? [])), let out = inner.value(0x82) else {
            throw CryptoError.unwrapFailed
        }
        return SecureBytes(out)
    }
}
