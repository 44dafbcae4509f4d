import ISO7816
import Foundation
import XCTest
import TriadCrypto
import TriadPCSC
@testable import TriadPIV
import TriadCLI

extension PIVTestCard {
    /// Generates a 9D key with Triad's client and stores an openssl-made certificate for it.
    @discardableResult
    func provision(_ algorithm: PIVAlgorithm = .eccP256) throws -> Certificate {
        let transport = try connect()
        let client = PIVClient(transport: transport)
        let pub = directory.appendingPathComponent("pub.pem").path
        return try transport.withTransaction {
            try client.select()
            try client.authenticateManagementKey(SecureBytes(PIVIdentifiers.defaultManagementKey), algorithm: .tripleDES)
            try client.generateKeyPair(slot: .keyManagement, algorithm: algorithm).pem.write(toFile: pub, atomically: true, encoding: .utf8)
            let path = try PIVClientInteropTests.certify(publicKeyPEM: pub, commonName: "triad-pin-test", in: directory)
            let certificate = try Certificate(pem: String(contentsOfFile: path, encoding: .utf8))
            try client.writeCertificate(certificate)
            return certificate
        }
    }

    /// The PIN retry counter as the card reports it, read on a fresh connection.
    func pinStatus() throws -> PIVClient.PINStatus {
        let client = PIVClient(transport: try connect())
        try client.select()
        return try client.pinStatus()
    }
}

/// The PIN rules of docs/piv-client.md ("PIN policy") against a card behind real pcscd.
final class PIVClientPINPolicyTests: XCTestCase {
    static let right = SecureBytes(Array("123456".utf8))
    static let wrong = SecureBytes(Array("000000".utf8))

    func testWrongPINsCountDownRefuseTheLastTryBlockAndPointToThePUK() throws {
        let card = try PIVTestCard()
        try card.provision(.eccP256)
        let peer = try PrivateKey.generate(.ecP256)
        var asked: [Int?] = []

        // 1st wrong PIN: the message carries the tries left; the same run never retries.
        let first = try PIVKeyOperations(transport: try card.connect()) { tries in asked.append(tries); return Self.wrong }
        XCTAssertThrowsError(try first.ecdh(with: peer.publicKey)) { error in
            XCTAssertEqual(error as? PIVError, .pinIncorrect(triesLeft: 2))
            XCTAssertTrue(String(describing: error).contains("2 tries left"), "\(error)")
        }
        XCTAssertThrowsError(try first.ecdh(with: peer.publicKey)) { XCTAssertEqual($0 as? PIVError, .pinIncorrect(triesLeft: 2)) }
        XCTAssertEqual(asked, [3], "tries shown before asking, and asked only once")
        XCTAssertEqual(try card.pinStatus(), .triesLeft(2), "a failed run must not retry on its own")

        // 2nd wrong PIN in a new run.
        asked = []
        let second = try PIVKeyOperations(transport: try card.connect()) { tries in asked.append(tries); return Self.wrong }
        XCTAssertThrowsError(try second.ecdh(with: peer.publicKey)) { error in
            XCTAssertEqual(error as? PIVError, .pinIncorrect(triesLeft: 1))
            XCTAssertTrue(String(describing: error).contains("1 try left"), "\(error)")
        }
        XCTAssertEqual(asked, [2])

        // The last try is refused without allowLastPinTry — even with the right PIN, and
        // without asking for it.
        asked = []
        let careful = try PIVKeyOperations(transport: try card.connect()) { tries in asked.append(tries); return Self.right }
        XCTAssertThrowsError(try careful.ecdh(with: peer.publicKey)) { error in
            XCTAssertEqual(error as? PIVError, .lastPinTryRefused)
            XCTAssertTrue(String(describing: error).contains("only 1 PIN try left"), "\(error)")
            XCTAssertFalse(String(describing: error).contains("--"), "the card layer names no command-line option: \(error)")
            XCTAssertEqual(ErrorReport.message(for: error).components(separatedBy: "; ").last, "--allow-last-pin-try spends it", "the CLI adds its option")
        }
        XCTAssertEqual(asked, [])
        XCTAssertEqual(try card.pinStatus(), .triesLeft(1))

        // Spending it on a wrong PIN blocks the card; the message says to use the PUK.
        let reckless = try PIVKeyOperations(transport: try card.connect(), allowLastPinTry: true) { _ in Self.wrong }
        XCTAssertThrowsError(try reckless.ecdh(with: peer.publicKey)) { error in
            XCTAssertEqual(error as? PIVError, .pinBlocked)
            XCTAssertTrue(String(describing: error).contains("PUK"), "\(error)")
        }
        XCTAssertEqual(try card.pinStatus(), .blocked)

        // Blocked: refused before any PIN is asked for.
        asked = []
        let blocked = try PIVKeyOperations(transport: try card.connect(), allowLastPinTry: true) { tries in asked.append(tries); return Self.right }
        XCTAssertThrowsError(try blocked.ecdh(with: peer.publicKey)) { XCTAssertEqual($0 as? PIVError, .pinBlocked) }
        XCTAssertEqual(asked, [])

        // A wrong PUK counts down too; the right one unblocks and the card works again.
        let client = PIVClient(transport: try card.connect())
        try client.select()
        XCTAssertThrowsError(try client.unblockPIN(puk: SecureBytes(Array("11111111".utf8)), newPIN: Self.right)) { error in
            XCTAssertEqual(error as? PIVError, .pukIncorrect(triesLeft: 2))
        }
        try client.unblockPIN(puk: SecureBytes(Array("12345678".utf8)), newPIN: Self.right)
        XCTAssertEqual(try card.pinStatus(), .triesLeft(3))
        let healed = try PIVKeyOperations(transport: try card.connect()) { _ in Self.right }
        XCTAssertTrue(try healed.ecdh(with: peer.publicKey) == peer.ecdh(with: healed.publicKey))
    }

    /// One PIN entry per run, however many key operations; each operation verifies again in
    /// its own transaction (a reset between operations does not break the next one). The
    /// reset is observed, not assumed: on our own connection the PIN counts as verified after
    /// an operation, and no longer after the other program's reset.
    func testPINIsAskedOncePerRunAndVerifiedPerOperation() throws {
        let card = try PIVTestCard()
        try card.provision(.eccP384)
        var asked = 0
        let transport = try card.connect()
        let ops = try PIVKeyOperations(transport: transport) { _ in asked += 1; return Self.right }
        let ours = PIVClient(transport: transport)
        func statusOnOurConnection() throws -> PIVClient.PINStatus {
            try transport.withTransaction { try ours.select(); return try ours.pinStatus() }
        }
        for _ in 0..<3 {
            let peer = try PrivateKey.generate(.ecP384)
            XCTAssertTrue(try ops.ecdh(with: peer.publicKey) == peer.ecdh(with: ops.publicKey))
            XCTAssertEqual(try statusOnOurConnection(), .verified, "9D keeps the PIN verified for the card session")
            // Another program connects and disconnects with SCARD_RESET_CARD: the PIN state is
            // gone, and the next operation still works because it verifies inside its transaction.
            var other: PCSCCard? = try card.connect()
            _ = try other?.transmit(CommandAPDU(ins: 0xA4, p1: 0x04, p2: 0x00, data: PIVIdentifiers.applicationID, le: 256))
            other = nil
            XCTAssertEqual(try statusOnOurConnection(), .triesLeft(3), "the other program's reset cleared our verified PIN")
        }
        XCTAssertEqual(asked, 1)
        XCTAssertEqual(try card.pinStatus(), .triesLeft(3), "the card was reset after each operation, the counter untouched")
    }

    func testPINFormatIsCheckedBeforeTheCardSeesIt() throws {
        XCTAssertThrowsError(try PIVClient.referenceData(SecureBytes(Array("12345".utf8)), what: "PIN"))
        XCTAssertThrowsError(try PIVClient.referenceData(SecureBytes(Array("123456789".utf8)), what: "PIN"))
        XCTAssertThrowsError(try PIVClient.referenceData(SecureBytes([0x31, 0x32, 0x33, 0x34, 0x35, 0xFF]), what: "PIN"))
        // Non-digits are the card's business (YubiKeys allow them).
        XCTAssertEqual(try PIVClient.referenceData(SecureBytes(Array("ab12cd".utf8)), what: "PIN"), Array("ab12cd".utf8) + [0xFF, 0xFF])
        XCTAssertEqual(try PIVClient.referenceData(SecureBytes(Array("123456".utf8)), what: "PIN"),
                       Array("123456".utf8) + [0xFF, 0xFF])
    }
}
