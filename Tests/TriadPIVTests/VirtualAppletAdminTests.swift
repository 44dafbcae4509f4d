import ISO7816
import TriadCrypto
import XCTest
@testable import VirtualPIV

/// Management-key (9B) authentication for every cipher, SET MANAGEMENT KEY, GET METADATA,
/// and what needs the management key.
final class VirtualAppletAdminTests: XCTestCase {
    func testMutualAuthenticationWithEveryCipher() throws {
        for cipher in BlockCipher.allCases {
            var card = AppletDriver()
            XCTAssertEqual(try card.authenticateAdmin(), 0x9000)
            let key = SecureBytes.random(count: cipher.keySize)
            let set = [0x00, 0xFF, 0xFF, 0xFF, UInt8(3 + cipher.keySize), cipher.pivAlgorithmID, 0x9B, UInt8(cipher.keySize)] + key.bytes
            XCTAssertEqual(card.send(set).sw, 0x9000, "\(cipher)")
            card.applet.reset()
            XCTAssertEqual(try card.authenticateAdmin(cipher, key: key), 0x9000, "\(cipher)")
            // The old key and a wrong algorithm no longer work.
            card.applet.reset()
            if cipher != .tripleDES {
                XCTAssertEqual(try card.authenticateAdmin(.tripleDES), 0x6A86, "P1 must be the key's algorithm")
            }
            let wrong = SecureBytes.random(count: cipher.keySize)
            XCTAssertEqual(try card.authenticateAdmin(cipher, key: wrong), 0x6982, "\(cipher) wrong key")
            // Metadata tells ykpiv the algorithm.
            XCTAssertEqual((try? TLV.parseAll(card.send("00f7009b00").data))?.value(0x01), [cipher.pivAlgorithmID])
        }
    }

    func testAnAES192DefaultCardAuthenticatesWithAES192Only() throws {
        var card = AppletDriver(state: .blank(serial: 999_000_010, managementAlgorithmID: 0x0A))
        XCTAssertEqual((try? TLV.parseAll(card.send("00f7009b00").data))?.value(0x01), [0x0A])
        XCTAssertEqual((try? TLV.parseAll(card.send("00f7009b00").data))?.value(0x05), [1], "still the default key")
        XCTAssertEqual(try card.authenticateAdmin(.tripleDES), 0x6A86, "what yubico-piv-tool 2.2.0 sends")
        XCTAssertEqual(try card.authenticateAdmin(.aes192), 0x9000)
        XCTAssertEqual(VirtualCardState.blank(serial: 1, managementAlgorithmID: 0x08).managementAlgorithm, .tripleDES,
                       "the 24-byte default key cannot be AES-128")
    }

    func testExternalAuthentication() throws {
        var card = AppletDriver()
        let key = AppletDriver.defaultManagementKey
        let step1 = card.send("0087039b047c028100")
        XCTAssertEqual(step1.sw, 0x9000)
        let challenge = Array(step1.data.suffix(8))
        let response = try BlockCipher.tripleDES.encryptBlock(challenge, key: key)
        XCTAssertEqual(card.send([0x00, 0x87, 0x03, 0x9B, 0x0C, 0x7C, 0x0A, 0x82, 0x08] + response).sw, 0x9000)
        XCTAssertEqual(card.transmit(ins: 0x47, p1: 0, p2: 0x9A, data: [0xAC, 0x03, 0x80, 0x01, 0x11]).sw, 0x9000)
        // A replayed response without a fresh challenge fails.
        card.applet.reset()
        XCTAssertEqual(card.send([0x00, 0x87, 0x03, 0x9B, 0x0C, 0x7C, 0x0A, 0x82, 0x08] + response).sw, 0x6982)
    }

    func testWitnessIsSingleUseAndAnotherCommandVoidsIt() throws {
        var card = AppletDriver()
        let step1 = card.send("0087039b047c028000")
        let witness = try BlockCipher.tripleDES.decryptBlock(Array(step1.data.suffix(8)), key: AppletDriver.defaultManagementKey)
        _ = card.send("0020008000")
        let inner = TLV(tag: 0x80, value: witness).encoded + TLV(tag: 0x81, value: [UInt8](repeating: 7, count: 8)).encoded
        XCTAssertEqual(card.send([0x00, 0x87, 0x03, 0x9B, UInt8(inner.count + 2), 0x7C, UInt8(inner.count)] + inner).sw, 0x6982)
        XCTAssertEqual(card.send("0087009b047c028100").sw, 0x6A86, "OpenSC's RNG probe gets an error")
    }

    func testAdministrativeCommandsNeedTheManagementKey() {
        var card = AppletDriver()
        XCTAssertEqual(card.transmit(ins: 0x47, p1: 0, p2: 0x9D, data: [0xAC, 0x03, 0x80, 0x01, 0x07]).sw, 0x6982)
        XCTAssertEqual(card.send("00db3fff095c035fc10b5302700000").sw, 0x6982)
        XCTAssertEqual(card.send("00ffffff1b039b18" + String(repeating: "11", count: 24)).sw, 0x6982)
        XCTAssertEqual(card.send("00fa0505").sw, 0x6982)
    }

    func testSetManagementKeyRejectsMalformedKeys() throws {
        var card = AppletDriver()
        XCTAssertEqual(try card.authenticateAdmin(), 0x9000)
        XCTAssertEqual(card.send("00ffffff12089b10" + String(repeating: "11", count: 15)).sw, 0x6A80, "length mismatch")
        XCTAssertEqual(card.send("00ffffff1b079b18" + String(repeating: "11", count: 24)).sw, 0x6A80, "not a symmetric algorithm")
        XCTAssertEqual(card.send("00ffff001b039b18" + String(repeating: "11", count: 24)).sw, 0x6A86)
        XCTAssertTrue(card.applet.state.managementKeyIsDefault)
    }

    func testMetadataForPINPUKAndKeys() throws {
        var card = AppletDriver()
        let pin = (try? TLV.parseAll(card.send("00f7008000").data))
        XCTAssertEqual(pin?.value(0x06), [3, 3])
        XCTAssertEqual(pin?.value(0x05), [1], "default PIN")
        _ = card.verify("999999")
        XCTAssertEqual((try? TLV.parseAll(card.send("00f7008000").data))?.value(0x06), [3, 2])
        XCTAssertEqual((try? TLV.parseAll(card.send("00f7008100").data))?.value(0x06), [3, 3])
        XCTAssertEqual(card.send("00f7009d00").sw, 0x6A88, "empty slot")
        XCTAssertEqual(try card.authenticateAdmin(), 0x9000)
        let pub = try card.generate(slot: 0x9D, alg: 0x14)
        let meta = (try? TLV.parseAll(card.send("00f7009d00").data))
        XCTAssertEqual(meta?.value(0x01), [0x14])
        XCTAssertEqual(meta?.value(0x03), [1], "generated on the card")
        XCTAssertEqual(meta?.value(0x04), TLV(tag: 0x86, value: pub.ecPoint!).encoded)
    }

    func testSetPINRetriesNeedsBothAndResetsSecrets() throws {
        var card = AppletDriver()
        XCTAssertEqual(try card.authenticateAdmin(), 0x9000)
        XCTAssertEqual(card.send("00fa0505").sw, 0x6982, "PIN also required")
        XCTAssertEqual(card.verify("123456"), 0x9000)
        XCTAssertEqual(card.send("00fa0506").sw, 0x9000)
        XCTAssertEqual(card.send("0020ff80").sw, 0x9000)
        XCTAssertEqual(card.send("0020008000").sw, 0x63C5)
        XCTAssertEqual((try? TLV.parseAll(card.send("00f7008100").data))?.value(0x06), [6, 6])
    }
}
