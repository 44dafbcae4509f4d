import ISO7816
import Foundation
import TriadCrypto
import XCTest
@testable import VirtualPIV

/// The state file: atomic, private, complete, and the source of truth across restarts.
final class VirtualCardStateFileTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws { directory = try PCSCHarness.temporaryDirectory("state") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func testEverythingSurvivesAReload() throws {
        let file = CardStateFile(path: directory.appendingPathComponent("card.state").path)
        try file.save(.blank(serial: 999_123_456))
        var card = AppletDriver(state: try file.load(), persistence: file)
        XCTAssertEqual(try card.authenticateAdmin(), 0x9000)
        let p256 = try card.generate(slot: 0x9D, alg: 0x11)
        let rsa = try card.generate(slot: 0x9A, alg: 0x07)
        let cert = TLV(tag: 0x70, value: [0x30, 0x03, 1, 2, 3]).encoded + TLV(tag: 0x71, value: [0]).encoded + TLV(tag: 0xFE, value: []).encoded
        XCTAssertEqual(card.transmit(ins: 0xDB, p1: 0x3F, p2: 0xFF, data: TLV(tag: 0x5C, value: [0x5F, 0xC1, 0x0B]).encoded + TLV(tag: 0x53, value: cert).encoded).sw, 0x9000)
        let aes = SecureBytes.random(count: 32)
        XCTAssertEqual(card.send([0x00, 0xFF, 0xFF, 0xFF, 35, 0x0C, 0x9B, 32] + aes.bytes).sw, 0x9000)
        XCTAssertEqual(card.send([0x00, 0x24, 0x00, 0x80, 0x10] + AppletDriver.pinBlock("123456") + AppletDriver.pinBlock("24681357")).sw, 0x9000)
        XCTAssertEqual(card.verify("000000"), 0x63C2)

        // A new process: only the file.
        var reloaded = AppletDriver(state: try file.load(), persistence: file)
        XCTAssertEqual(reloaded.applet.state.serial, 999_123_456)
        XCTAssertEqual(reloaded.send("0020008000").sw, 0x63C2, "the wrong try is remembered")
        XCTAssertEqual(reloaded.verify("24681357"), 0x9000)
        XCTAssertEqual(try reloaded.authenticateAdmin(.aes256, key: aes), 0x9000)
        XCTAssertEqual(reloaded.send("00cb3fff055c035fc10b00").data, TLV(tag: 0x53, value: cert).encoded)
        XCTAssertEqual(reloaded.send("00cb3fff055c035fc10200").data, card.send("00cb3fff055c035fc10200").data, "same CHUID/GUID")
        let meta = (try? TLV.parseAll(reloaded.send("00f7009d00").data))
        XCTAssertEqual(meta?.value(0x04), TLV(tag: 0x86, value: p256.ecPoint!).encoded, "same 9D key")
        XCTAssertEqual(try reloaded.generate(slot: 0x9C, alg: 0x11).algorithm, .ecP256)
        let rsaMeta = (try? TLV.parseAll(reloaded.transmit(ins: 0xF7, p1: 0, p2: 0x9A, data: []).data))?.value(0x04)
        XCTAssertEqual((try? TLV.parseAll(rsaMeta ?? []))?.value(0x81), rsa.rsaModulus)
    }

    /// The signing slots across a restart: 9C and 9E keys and their certificate objects
    /// (5FC10A, 5FC101) come back, 9C still wants a VERIFY per signature and 9E none.
    func testSigningKeysAndCertificatesSurviveAReload() throws {
        let file = CardStateFile(path: directory.appendingPathComponent("card.state").path)
        try file.save(.blank(serial: 999_123_457))
        var card = AppletDriver(state: try file.load(), persistence: file)
        XCTAssertEqual(try card.authenticateAdmin(), 0x9000)
        let k9c = try card.generate(slot: 0x9C, alg: 0x14)
        let k9e = try card.generate(slot: 0x9E, alg: 0x11)
        let objects: [[UInt8]: [UInt8]] = [[0x5F, 0xC1, 0x0A]: [0x70, 0x03, 0x30, 0x01, 0x0C], [0x5F, 0xC1, 0x01]: [0x70, 0x03, 0x30, 0x01, 0x0E]]
        for (tag, content) in objects {
            XCTAssertEqual(card.transmit(ins: 0xDB, p1: 0x3F, p2: 0xFF, data: TLV(tag: 0x5C, value: tag).encoded + TLV(tag: 0x53, value: content).encoded).sw, 0x9000)
        }

        var reloaded = AppletDriver(state: try file.load(), persistence: file)
        for (tag, content) in objects {
            XCTAssertEqual(reloaded.transmit(ins: 0xCB, p1: 0x3F, p2: 0xFF, data: TLV(tag: 0x5C, value: tag).encoded).data, TLV(tag: 0x53, value: content).encoded)
        }
        func sign(_ slot: UInt8, _ alg: UInt8, _ digest: [UInt8]) -> [UInt8]? {
            let r = reloaded.transmit(ins: 0x87, p1: alg, p2: slot, data: TLV(tag: 0x7C, value: TLV(tag: 0x82, value: []).encoded + TLV(tag: 0x81, value: digest).encoded).encoded)
            guard r.sw == 0x9000 else { return nil }
            return (try? TLV.parseAll((try? TLV.parseAll(r.data))?.value(0x7C) ?? []))?.value(0x82)
        }
        let message = Array("after a restart".utf8)
        let s9e = try XCTUnwrap(sign(0x9E, 0x11, SignatureScheme.ecdsaSHA256.digest(message)), "9E signs without a PIN")
        XCTAssertTrue(k9e.verify(signature: s9e, for: message))
        XCTAssertNil(sign(0x9C, 0x14, SignatureScheme.ecdsaSHA384.digest(message)), "9C needs the PIN")
        XCTAssertEqual(reloaded.verify("123456"), 0x9000)
        let s9c = try XCTUnwrap(sign(0x9C, 0x14, SignatureScheme.ecdsaSHA384.digest(message)))
        XCTAssertTrue(k9c.verify(signature: s9c, for: message), "the same 9C key, P-384 with SHA-384")
        XCTAssertNil(sign(0x9C, 0x14, SignatureScheme.ecdsaSHA384.digest(message)), "one signature per VERIFY")
    }

    func testBlockedStaysBlockedAcrossReloads() throws {
        let file = CardStateFile(path: directory.appendingPathComponent("card.state").path)
        try file.save(.blank(serial: 999_000_001))
        for expected: UInt16 in [0x63C2, 0x63C1, 0x63C0] {
            // Every try in a fresh "process", as an attacker restarting the card would.
            var card = AppletDriver(state: try file.load(), persistence: file)
            XCTAssertEqual(card.verify("000000"), expected)
        }
        var card = AppletDriver(state: try file.load(), persistence: file)
        XCTAssertEqual(card.verify("123456"), 0x6983)
        XCTAssertEqual(try file.load().pinTriesLeft, 0)
    }

    func testFileIsPrivateAtomicAndHoldsNoPINInTheClear() throws {
        let path = directory.appendingPathComponent("card.state").path
        let file = CardStateFile(path: path)
        try file.save(.blank(serial: 999_000_002))
        var card = AppletDriver(state: try file.load(), persistence: file)
        XCTAssertEqual(card.send([0x00, 0x24, 0x00, 0x80, 0x10] + AppletDriver.pinBlock("123456") + AppletDriver.pinBlock("97531864")).sw, 0x9000)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains(".tmp") }
        XCTAssertEqual(leftovers, [], "no temporary file left behind")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        for secret in ["97531864", Hex.encode(Array("97531864".utf8)), "12345678", Hex.encode(Array("12345678".utf8))] {
            XCTAssertFalse(text.contains(secret), "PIN/PUK \(secret) appears in the state file")
        }
        XCTAssertTrue(text.contains("SOFTWARE card with no hardware protection"))
    }

    func testUnreadableStatesAreRefusedWithTheFileNamed() throws {
        let missing = CardStateFile(path: directory.appendingPathComponent("nope.state").path)
        XCTAssertThrowsError(try missing.load()) { error in
            XCTAssertTrue("\(error)".contains("nope.state"), "\(error)")
            // The library says what to do; the command (VirtualCardCLITests) adds what to type.
            XCTAssertTrue("\(error)".contains("make a card there first"), "\(error)")
            XCTAssertFalse("\(error)".contains("virtual-card init"), "a library message names no command: \(error)")
        }
        let garbage = directory.appendingPathComponent("garbage.state")
        try Data("{\"version\": 1}".utf8).write(to: garbage)
        XCTAssertThrowsError(try CardStateFile(path: garbage.path).load()) { error in
            XCTAssertTrue("\(error)".contains("garbage.state"), "\(error)")
        }
        // A tampered counter above the maximum is refused rather than trusted.
        let good = CardStateFile(path: directory.appendingPathComponent("good.state").path)
        try good.save(.blank(serial: 999_000_003))
        let text = try String(contentsOfFile: good.path, encoding: .utf8)
            .replacingOccurrences(of: "\"pinTriesLeft\" : 3", with: "\"pinTriesLeft\" : 9")
        try Data(text.utf8).write(to: URL(fileURLWithPath: good.path))
        XCTAssertThrowsError(try good.load())
    }

    func testAFailedSaveRefusesTheChange() throws {
        let store = RecordingPersistence()
        var card = AppletDriver(persistence: store)
        XCTAssertEqual(try card.authenticateAdmin(), 0x9000)
        store.failNext = true
        XCTAssertEqual(card.transmit(ins: 0x47, p1: 0, p2: 0x9D, data: [0xAC, 0x03, 0x80, 0x01, 0x11]).sw, 0x6581)
        let unwritable = CardStateFile(path: "/proc/triad-no-such-dir/card.state")
        XCTAssertThrowsError(try unwritable.save(.blank(serial: 999_000_004))) { error in
            XCTAssertTrue("\(error)".contains("/proc/triad-no-such-dir/card.state"), "\(error)")
        }
    }
}
