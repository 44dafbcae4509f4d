import TriadCrypto
import XCTest
@testable import VirtualPIV

/// VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER semantics (SP 800-73-4 Part 2
/// §3.2.1–3.2.3) and when the counters reach the state store.
final class VirtualAppletPINTests: XCTestCase {
    func testStatusQueryBothFormsAndLogout() {
        var card = AppletDriver()
        XCTAssertEqual(card.send("00200080").sw, 0x63C3)
        XCTAssertEqual(card.send("0020008000").sw, 0x63C3)
        XCTAssertEqual(card.verify("123456"), 0x9000)
        XCTAssertEqual(card.send("00200080").sw, 0x9000)
        XCTAssertEqual(card.send("002000ff").sw, 0x6A88, "key reference 80 only")
        XCTAssertEqual(card.send("0020ff80").sw, 0x9000, "P1=FF resets the security status")
        XCTAssertEqual(card.send("0020008000").sw, 0x63C3, "and leaves the counter alone")
        XCTAssertEqual(card.send("0020018000").sw, 0x6A86)
    }

    func testWrongPINsCountDownBlockAndBlockedCardDoesNotCompare() {
        let store = RecordingPersistence()
        var card = AppletDriver(persistence: store)
        XCTAssertEqual(card.verify("000000"), 0x63C2)
        XCTAssertEqual(card.verify("000000"), 0x63C1)
        XCTAssertEqual(card.verify("123456"), 0x9000, "a right PIN restores the counter")
        XCTAssertEqual(card.send("0020008000").sw, 0x9000)
        XCTAssertEqual(card.verify("000000"), 0x63C2)
        XCTAssertEqual(card.send("0020008000").sw, 0x63C2, "a wrong PIN also drops the verified status")
        XCTAssertEqual(card.verify("000000"), 0x63C1)
        XCTAssertEqual(card.verify("000000"), 0x63C0, "the failure that reaches zero says 63C0")
        let savesWhenBlocked = store.saved.count
        XCTAssertEqual(card.verify("123456"), 0x6983, "blocked: even the right PIN is refused")
        XCTAssertEqual(card.send("0020008000").sw, 0x6983)
        XCTAssertEqual(store.saved.count, savesWhenBlocked, "no comparison, no counter change when blocked")
        XCTAssertEqual(store.saved.last?.pinTriesLeft, 0)
    }

    func testTheTryIsSavedBeforeTheComparisonAndAFailedSaveRefuses() {
        let store = RecordingPersistence()
        var card = AppletDriver(persistence: store)
        XCTAssertEqual(card.verify("123456"), 0x9000)
        XCTAssertEqual(store.saved.map(\.pinTriesLeft), [2, 3], "decrement saved first, restore saved after the match")
        store.failNext = true
        XCTAssertEqual(card.verify("123456"), 0x6581, "cannot record the try: no comparison")
        XCTAssertEqual(card.send("0020008000").sw, 0x63C2, "the in-memory counter was charged; no free tries")
    }

    func testFormatChecks() {
        var card = AppletDriver()
        XCTAssertEqual(card.send("0020008006313233343536").sw, 0x6A80, "PIN field must be 8 bytes")
        XCTAssertEqual(card.send("002000800831323334ffffffff").sw, 0x6A80, "fewer than 6 digits")
        XCTAssertEqual(card.send("00200080083132333435363aff").sw, 0x6A80, "not a digit")
        XCTAssertEqual(card.send("0020008008313233ff34353637").sw, 0x6A80, "digits after padding")
        XCTAssertEqual(card.send("0020008000").sw, 0x63C3, "format errors cost no try")
        XCTAssertEqual(card.verify("12345678"), 0x63C2, "8 digits is a well-formed (wrong) PIN")
    }

    func testChangePINAndPUK() {
        var card = AppletDriver()
        let change = { (ref: UInt8, old: String, new: String) -> [UInt8] in
            [0x00, 0x24, 0x00, ref, 0x10] + AppletDriver.pinBlock(old) + AppletDriver.pinBlock(new)
        }
        XCTAssertEqual(card.send(change(0x80, "000000", "654321")).sw, 0x63C2)
        XCTAssertEqual(card.send(change(0x80, "123456", "654321")).sw, 0x9000)
        XCTAssertEqual(card.verify("123456"), 0x63C2)
        XCTAssertEqual(card.verify("654321"), 0x9000)
        XCTAssertEqual(card.send(change(0x80, "654321", "12ab56")).sw, 0x6A80, "new PIN must be digits")
        XCTAssertEqual(card.send(change(0x81, "12345678", "87654321")).sw, 0x9000)
        XCTAssertEqual(card.send(change(0x81, "12345678", "11111111")).sw, 0x63C2)
        XCTAssertEqual(card.send(change(0x82, "12345678", "11111111")).sw, 0x6A88)
        XCTAssertEqual(card.send("002400800812345678ffffffff").sw, 0x6A80, "old and new are 16 bytes")
        XCTAssertFalse(card.applet.state.pinIsDefault)
        XCTAssertFalse(card.applet.state.pukIsDefault)
    }

    func testPUKUnblocksAndBlocksTooAndResetOnlyWhenBothBlocked() throws {
        var card = AppletDriver()
        for _ in 0..<3 { _ = card.verify("000000") }
        XCTAssertEqual(card.verify("123456"), 0x6983)
        XCTAssertEqual(card.send("00fb000000").sw, 0x6985, "RESET refused while the PUK has tries")
        let unblock = { (puk: String, pin: String) -> [UInt8] in
            [0x00, 0x2C, 0x00, 0x80, 0x10] + AppletDriver.pinBlock(puk) + AppletDriver.pinBlock(pin)
        }
        XCTAssertEqual(card.send(unblock("12345678", "12ab")).sw, 0x6A80)
        XCTAssertEqual(card.send(unblock("00000000", "222222")).sw, 0x63C2)
        XCTAssertEqual(card.send(unblock("12345678", "222222")).sw, 0x9000)
        XCTAssertEqual(card.send("0020008000").sw, 0x63C3, "unblocked, not verified")
        XCTAssertEqual(card.verify("222222"), 0x9000)
        XCTAssertEqual(card.send(Array(unblock("12345678", "222222").prefix(3)) + [0x81, 0x10] + Array(repeating: 0x31, count: 16)).sw, 0x6A88)

        // Block both, then RESET makes a blank card with the same serial.
        XCTAssertEqual(try card.authenticateAdmin(), 0x9000)
        _ = try card.generate(slot: 0x9D, alg: 0x11)
        for _ in 0..<3 { _ = card.verify("000000") }
        XCTAssertEqual(card.send(unblock("00000000", "333333")).sw, 0x63C2)
        XCTAssertEqual(card.send(unblock("00000000", "333333")).sw, 0x63C1)
        XCTAssertEqual(card.send(unblock("00000000", "333333")).sw, 0x63C0)
        XCTAssertEqual(card.send(unblock("12345678", "333333")).sw, 0x6983, "PUK blocked")
        let guid = card.applet.state.guid
        XCTAssertEqual(card.send("00fb000000").sw, 0x9000)
        XCTAssertTrue(card.applet.state.keys.isEmpty, "keys destroyed")
        XCTAssertNotEqual(card.applet.state.guid, guid)
        XCTAssertEqual(card.applet.state.serial, 999_000_042)
        XCTAssertEqual(card.verify("123456"), 0x9000, "back to the default PIN")
    }

    func testPINProtectedObjectsAnswer6982UntilVerified() {
        var card = AppletDriver()
        XCTAssertEqual(card.send("00cb3fff055c035fc10908").sw, 0x6982)
        XCTAssertEqual(card.send("00cb3fff055c035fc10300").sw, 0x6982)
        XCTAssertEqual(card.verify("123456"), 0x9000)
        XCTAssertEqual(card.send("00cb3fff055c035fc10908").sw, 0x6A82, "verified: simply not present")
    }
}
