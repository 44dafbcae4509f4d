import Foundation
import XCTest
import TriadCrypto
import TriadPCSC
@testable import TriadCLI
@testable import TriadPIV

/// PIN entry from a pipe (`--pin-fd N`) and `CardIdentity.open` through pcscd.
final class PIVClientPINEntryTests: XCTestCase {
    /// A pipe whose write end has `text` written and is closed; returns the read end.
    func pipe(_ text: String) throws -> Int32 {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(Glibc.pipe(&fds), 0)
        let bytes = Array(text.utf8)
        XCTAssertEqual(bytes.withUnsafeBufferPointer { Glibc.write(fds[1], $0.baseAddress, $0.count) }, bytes.count)
        close(fds[1])
        addTeardownBlock { close(fds[0]) }
        return fds[0]
    }

    func testReadsOneLineWithoutTheNewline() throws {
        XCTAssertEqual(try PINEntry.read(fromDescriptor: pipe("123456\n")).bytes, Array("123456".utf8))
        XCTAssertEqual(try PINEntry.read(fromDescriptor: pipe("123456\r\n")).bytes, Array("123456".utf8))
        XCTAssertEqual(try PINEntry.read(fromDescriptor: pipe("12345678")).bytes, Array("12345678".utf8), "no newline at EOF")
    }

    func testLeavesTheNextLineForTheNextReader() throws {
        let fd = try pipe("111111\n222222\n")
        XCTAssertEqual(try PINEntry.read(fromDescriptor: fd).bytes, Array("111111".utf8))
        XCTAssertEqual(try PINEntry.read(fromDescriptor: fd).bytes, Array("222222".utf8))
        XCTAssertThrowsError(try PINEntry.read(fromDescriptor: fd)) { XCTAssertEqual($0 as? PINEntryError, .empty(source: "file descriptor \(fd)")) }
    }

    func testRefusesEmptyOverlongAndUnreadableInput() throws {
        XCTAssertThrowsError(try PINEntry.read(fromDescriptor: pipe(""))) { error in
            XCTAssertTrue(String(describing: error).contains("no PIN was given"), "\(error)")
        }
        XCTAssertThrowsError(try PINEntry.read(fromDescriptor: pipe("\n")))
        XCTAssertThrowsError(try PINEntry.read(fromDescriptor: pipe(String(repeating: "7", count: 200) + "\n"))) { error in
            guard case PINEntryError.tooLong = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try PINEntry.read(fromDescriptor: 987)) { error in
            guard case PINEntryError.unreadable(fd: 987, _) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(String(describing: error).contains("--pin-fd"), "\(error)")
        }
    }

    // MARK: - CardIdentity.open through pcscd

    func testOpenWithPINFromAPipeShowsTriesAndUnwraps() throws {
        let card = try PIVTestCard()
        try card.provision(.eccP256)
        var notices: [String] = []
        let ops = try CardIdentity.openCard(readerSubstring: "pcd 00 01", pin: PINOptions(pinFD: try pipe("123456\n")),
                                            notify: { notices.append($0) })
        let key = SecureBytes.random(count: 32)
        let wrapped = try PublicKeyWrap.wrap(key, to: ops.publicKey, label: [1, 2, 3])
        XCTAssertTrue(try PublicKeyWrap.unwrap(wrapped, with: ops, label: [1, 2, 3]) == key)
        XCTAssertTrue(try PublicKeyWrap.unwrap(wrapped, with: ops, label: [1, 2, 3]) == key, "second use: the PIN is cached for the run")
        XCTAssertEqual(notices, ["triad: PIV card in \"Virtual PCD 00 01\": 3 PIN tries left"])

        // The public entry point gives the same key behind `any PrivateKeyOperations`.
        let generic = try CardIdentity.open(readerSubstring: PIVTestCard.reader, pin: PINOptions(pinFD: try pipe("123456\n")))
        XCTAssertEqual(generic.publicKey, ops.publicKey)
    }

    func testWrongPINFromAPipeNamesTheTriesLeft() throws {
        let card = try PIVTestCard()
        try card.provision(.eccP256)
        let ops = try CardIdentity.openCard(readerSubstring: PIVTestCard.reader, pin: PINOptions(pinFD: try pipe("000000\n")), notify: { _ in })
        let peer = try PrivateKey.generate(.ecP256)
        XCTAssertThrowsError(try ops.ecdh(with: peer.publicKey)) { error in
            XCTAssertTrue(String(describing: error).contains("2 tries left"), "\(error)")
        }
    }

    func testClearErrorsForNoMatchingReaderNoCardAndNoCertificate() throws {
        XCTAssertThrowsError(try CardIdentity.open(readerSubstring: "no-such-reader", pin: PINOptions())) { error in
            guard case CardIdentityError.noMatchingReader = error else { return XCTFail("\(error)") }
            XCTAssertTrue(String(describing: error).contains("Virtual PCD 00 01"), "lists the readers: \(error)")
        }
        // A blank card: PIV applet present, but no 9D certificate.
        let card = try PIVTestCard()
        XCTAssertThrowsError(try CardIdentity.open(readerSubstring: PIVTestCard.reader, pin: PINOptions())) { error in
            guard case CardIdentityError.noCertificate(let reader) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(reader, PIVTestCard.reader)
            XCTAssertTrue(String(describing: error).contains("slot 9D"), "\(error)")
        }
        // The card pulled: the reader is empty.
        card.remove(kill: false)
        try PIVTestCard.waitUntilReaderEmpty()
        XCTAssertThrowsError(try CardIdentity.open(readerSubstring: PIVTestCard.reader, pin: PINOptions())) { error in
            guard case CardIdentityError.noCard(let reader) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(reader, PIVTestCard.reader)
            XCTAssertTrue(String(describing: error).contains("insert the card"), "\(error)")
        }
    }
}
