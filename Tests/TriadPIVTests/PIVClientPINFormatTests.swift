import ISO7816
import XCTest
import TriadCrypto
import TriadPCSC
@testable import TriadPIV
import VirtualPIV

/// The client's own PIN and PUK format check (docs/piv-client.md, "PIN policy": "PIN format is
/// checked before the card sees it as far as the encoding needs: 6–8 bytes, none `FF`, padded
/// to 8 bytes with `FF`"; SP 800-73-4 Part 2 §2.4.3). A secret of the wrong length must be
/// refused as `.invalidPINFormat` naming which secret and its length, with no APDU sent: the
/// card would refuse a short PIN too (its own format rule), but only after the client had
/// handed it over, and a card that does not check could count it as a wrong try. The
/// in-process applet behind `AppletTransport` logs every command, so "nothing sent" is
/// observed, not assumed; the controls in the same harness show 6- to 8-character secrets
/// going out padded with `FF` to 8 bytes and accepted.
final class PIVClientPINFormatTests: XCTestCase {
    static func secret(_ s: String) -> SecureBytes { SecureBytes(Array(s.utf8)) }
    static let pin = secret("123456"), puk = secret("12345678")
    /// Lengths outside 6...8, the short ones first (the ones a lax check would let through).
    static let badLengths = [1, 2, 3, 4, 5, 0, 9, 10, 16]

    static func digits(_ n: Int) -> SecureBytes { secret(String("98765432109876543210".prefix(n))) }

    static func selected() throws -> (AppletTransport, PIVClient) {
        let transport = AppletTransport()
        let client = PIVClient(transport: transport)
        try client.select()
        return (transport, client)
    }

    static func formatError(_ what: String, _ n: Int) -> PIVError {
        .invalidPINFormat(problem: "the \(what) must have 6 to 8 characters, it has \(n)")
    }

    /// For every command that carries a PIN or PUK, and for each of its secrets in turn (the
    /// other one well formed): the wrong length is refused before anything reaches the card.
    func testWrongLengthIsRefusedWithoutSendingAnything() throws {
        typealias Call = (PIVClient, SecureBytes) throws -> Void
        let calls: [(what: String, call: Call)] = [
            ("PIN", { try $0.verifyPIN($1) }),
            ("current PIN", { try $0.changePIN(old: $1, new: Self.secret("654321")) }),
            ("new PIN", { try $0.changePIN(old: Self.pin, new: $1) }),
            ("current PUK", { try $0.changePUK(old: $1, new: Self.secret("87654321")) }),
            ("new PUK", { try $0.changePUK(old: Self.puk, new: $1) }),
            ("PUK", { try $0.unblockPIN(puk: $1, newPIN: Self.pin) }),
            ("new PIN", { try $0.unblockPIN(puk: Self.puk, newPIN: $1) }),
        ]
        for (what, call) in calls {
            for n in Self.badLengths {
                let (transport, client) = try Self.selected()
                let before = transport.log.count
                XCTAssertThrowsError(try call(client, Self.digits(n)), "\(what), \(n) characters") {
                    XCTAssertEqual($0 as? PIVError, Self.formatError(what, n), "\(what), \(n) characters")
                }
                XCTAssertEqual(transport.log.count, before, "\(what), \(n) characters: an APDU was sent")
                // Nothing reached the card: no try was spent.
                XCTAssertEqual(try client.pinStatus(), .triesLeft(3), "\(what), \(n) characters")
            }
        }
    }

    /// A byte `FF` cannot be told from the padding (Part 2 §2.4.3): refused, nothing sent.
    func testPaddingByteInsideTheSecretIsRefusedWithoutSendingAnything() throws {
        let (transport, client) = try Self.selected()
        let before = transport.log.count
        XCTAssertThrowsError(try client.verifyPIN(SecureBytes([0x31, 0x32, 0x33, 0x34, 0x35, 0xFF]))) {
            XCTAssertEqual($0 as? PIVError, .invalidPINFormat(problem: "the PIN contains a byte FF"))
        }
        XCTAssertEqual(transport.log.count, before)
    }

    /// Controls in the same harness: 6-, 7- and 8-character secrets are sent, each padded with
    /// `FF` to 8 bytes, in the layout of docs/piv-client.md ("APDUs per operation"), and the
    /// card accepts them.
    func testSixToEightCharactersAreSentPaddedToEightBytes() throws {
        let (transport, client) = try Self.selected()
        func last(_ ins: UInt8) -> [UInt8]? { transport.log.last { $0.ins == ins }?.data }
        let ff = { (n: Int) in [UInt8](repeating: 0xFF, count: n) }

        try client.verifyPIN(Self.pin)
        XCTAssertEqual(last(0x20), Array("123456".utf8) + ff(2))

        // PIN 123456 → 12345678 (8 characters, no padding), then verified with it.
        try client.changePIN(old: Self.pin, new: Self.secret("12345678"))
        XCTAssertEqual(last(0x24), Array("123456".utf8) + ff(2) + Array("12345678".utf8))
        try client.verifyPIN(Self.secret("12345678"))
        XCTAssertEqual(last(0x20), Array("12345678".utf8))

        // PIN 12345678 → 1234567 (7 characters).
        try client.changePIN(old: Self.secret("12345678"), new: Self.secret("1234567"))
        XCTAssertEqual(last(0x24), Array("12345678".utf8) + Array("1234567".utf8) + ff(1))
        try client.verifyPIN(Self.secret("1234567"))
        XCTAssertEqual(last(0x20), Array("1234567".utf8) + ff(1))

        // PUK 12345678 → 876543 (6 characters), then the PIN unblocked (reset) with it.
        try client.changePUK(old: Self.puk, new: Self.secret("876543"))
        XCTAssertEqual(transport.log.last { $0.ins == 0x24 }?.p2, 0x81)
        XCTAssertEqual(last(0x24), Array("12345678".utf8) + Array("876543".utf8) + ff(2))
        try client.unblockPIN(puk: Self.secret("876543"), newPIN: Self.secret("135791"))
        XCTAssertEqual(last(0x2C), Array("876543".utf8) + ff(2) + Array("135791".utf8) + ff(2))
        try client.verifyPIN(Self.secret("135791"))
        XCTAssertEqual(try client.pinStatus(), .verified)
    }
}
