import ISO7816
import XCTest
import TriadCrypto
import TriadPCSC
@testable import TriadPIV
import VirtualPIV

/// The in-process virtual applet as a `CardTransport`: the same bytes that would travel
/// through pcscd, without pcscd. Fast unit coverage of the client; the pcscd tests cover the
/// real transport.
final class AppletTransport: CardTransport {
    var applet = VirtualPIVApplet(state: .blank(serial: 999_000_777))
    private(set) var log: [CommandAPDU] = []
    /// For each command, the transaction it ran in (0 = outside any).
    private(set) var transactionOf: [Int] = []
    private var current = 0
    private var counter = 0

    func transmit(_ apdu: CommandAPDU) throws -> ResponseAPDU {
        log.append(apdu)
        transactionOf.append(current)
        return ResponseAPDU(raw: applet.process(try apdu.encoded()))!
    }

    func withTransaction<T>(_ body: () throws -> T) throws -> T {
        if current != 0 { return try body() }
        counter += 1
        current = counter
        defer { current = 0 }
        return try body()
    }
}

final class PIVClientAppletTests: XCTestCase {
    func testStatusWordsMapToTypedErrors() {
        XCTAssertEqual(PIVError.status(0x63C2, for: .verify), .pinIncorrect(triesLeft: 2))
        XCTAssertEqual(PIVError.status(0x6302, for: .verify), .pinIncorrect(triesLeft: 2))
        XCTAssertEqual(PIVError.status(0x63C0, for: .verify), .pinBlocked)
        XCTAssertEqual(PIVError.status(0x6983, for: .verify), .pinBlocked)
        XCTAssertEqual(PIVError.status(0x63C1, for: .resetRetryCounter), .pukIncorrect(triesLeft: 1))
        XCTAssertEqual(PIVError.status(0x6983, for: .changeReferenceData, reference: 0x81), .pukBlocked)
        XCTAssertEqual(PIVError.status(0x6982, for: .generalAuthenticate, reference: 0x9D), .securityStatusNotSatisfied)
        XCTAssertEqual(PIVError.status(0x6982, for: .generalAuthenticate, reference: 0x9B), .authenticationFailed)
        XCTAssertEqual(PIVError.status(0x6A82, for: .getData), .notFound)
        XCTAssertEqual(PIVError.status(0x6A82, for: .select), .noPIVApplet)
        XCTAssertEqual(PIVError.status(0x6A80, for: .putData), .unexpectedStatus(status: 0x6A80, instruction: "PUT DATA"))
        XCTAssertTrue(PIVError.unexpectedStatus(status: 0x6A80, instruction: "PUT DATA").description.contains("6A80"))
        XCTAssertEqual(PIVError.transport(PCSCError(code: Int(bitPattern: 0x8010_0069), function: "SCardTransmit")), .cardRemoved)
    }

    /// Provisioning and use in-process, for every management-key algorithm the card offers:
    /// change the key to AES, authenticate with it, generate, certify, decrypt, ECDH.
    func testProvisionAndUseEveryAlgorithmInProcess() throws {
        for (managementAlgorithm, keyAlgorithm) in zip(ManagementKeyAlgorithm.allCases, [PIVAlgorithm.eccP256, .eccP384, .rsa2048, .eccP256]) {
            let transport = AppletTransport()
            let client = PIVClient(transport: transport)
            try client.select()
            XCTAssertEqual(try client.pinStatus(), .triesLeft(3))
            XCTAssertEqual(try client.version()?.major, 5)
            XCTAssertEqual(try client.serial(), 999_000_777)
            XCTAssertThrowsError(try client.readCertificate()) { XCTAssertEqual($0 as? PIVError, .notFound) }
            XCTAssertThrowsError(try client.generateKeyPair(algorithm: keyAlgorithm)) { XCTAssertEqual($0 as? PIVError, .securityStatusNotSatisfied) }
            XCTAssertThrowsError(try client.authenticateManagementKey(SecureBytes([UInt8](repeating: 9, count: 24)))) {
                XCTAssertEqual($0 as? PIVError, .authenticationFailed)
            }
            try client.authenticateManagementKey(SecureBytes(PIVIdentifiers.defaultManagementKey))
            let newKey = SecureBytes.random(count: managementAlgorithm.keyLength)
            try client.setManagementKey(newKey, algorithm: managementAlgorithm)
            try client.authenticateManagementKey(newKey, algorithm: managementAlgorithm)

            let publicKey = try client.generateKeyPair(algorithm: keyAlgorithm)
            // A certificate whose key is the card's: issue one with a software CA over the SPKI.
            let certificate = try Self.certificate(for: publicKey)
            try client.writeCertificate(certificate)
            XCTAssertEqual(try client.readCertificate(), certificate)

            let ops = try PIVKeyOperations(transport: transport) { _ in SecureBytes(Array("123456".utf8)) }
            let key = SecureBytes.random(count: 32)
            let wrapped = try PublicKeyWrap.wrap(key, to: ops.publicKey, label: Array("applet".utf8))
            XCTAssertTrue(try PublicKeyWrap.unwrap(wrapped, with: ops, label: Array("applet".utf8)) == key)
            if keyAlgorithm == .rsa2048 {
                // The RSA command is chained: 255-byte chunks under CLA 10, then CLA 00.
                let chained = transport.log.filter { $0.ins == 0x87 && $0.p1 == 0x07 }
                XCTAssertEqual(chained.map(\.cla), [0x10, 0x00])
                XCTAssertEqual(chained.first?.data.count, 255)
            }
        }
    }

    /// docs/piv-client.md, "The transaction rule": SELECT, the counter check, VERIFY and GENERAL AUTHENTICATE of each key
    /// operation share one transaction, and the PIN is sent once per operation.
    func testEachKeyOperationIsOneTransactionWithItsOwnVerify() throws {
        let transport = AppletTransport()
        let client = PIVClient(transport: transport)
        try client.select()
        try client.authenticateManagementKey(SecureBytes(PIVIdentifiers.defaultManagementKey))
        let certificate = try Self.certificate(for: try client.generateKeyPair(algorithm: .eccP256))
        try client.writeCertificate(certificate)
        let ops = try PIVKeyOperations(transport: transport) { _ in SecureBytes(Array("123456".utf8)) }
        let start = transport.log.count
        for _ in 0..<2 { _ = try ops.ecdh(with: try PrivateKey.generate(.ecP256).publicKey) }
        let commands = Array(zip(transport.log, transport.transactionOf).dropFirst(start))
        let keyOps = commands.filter { $0.0.ins == 0x87 && $0.0.p2 == 0x9D }
        XCTAssertEqual(keyOps.count, 2)
        for (_, transaction) in keyOps {
            XCTAssertNotEqual(transaction, 0, "GENERAL AUTHENTICATE outside a transaction")
            let inside = commands.filter { $0.1 == transaction }.map { $0.0 }
            XCTAssertEqual(inside.map(\.ins), [0xA4, 0x20, 0x20, 0x87], "SELECT, counter, VERIFY, GENERAL AUTHENTICATE")
            XCTAssertTrue(inside[1].data.isEmpty)
            XCTAssertEqual(inside[2].data, Array("123456".utf8) + [0xFF, 0xFF])
        }
        XCTAssertNotEqual(keyOps[0].1, keyOps[1].1)
    }

    /// A card whose 9D holds an RSA key but whose certificate is for another key still
    /// decrypts with the card key: the certificate is what the client trusts, so a mismatch
    /// shows up as a failed unwrap, never as a wrong key silently accepted.
    func testMismatchedCertificateFailsToUnwrap() throws {
        let transport = AppletTransport()
        let client = PIVClient(transport: transport)
        try client.select()
        try client.authenticateManagementKey(SecureBytes(PIVIdentifiers.defaultManagementKey))
        let cardKey = try client.generateKeyPair(algorithm: .eccP256)
        let other = try PrivateKey.generate(.ecP256)
        try client.writeCertificate(try Certificate.selfSigned(subject: "CN=other", key: other, days: 1))
        let ops = try PIVKeyOperations(transport: transport) { _ in SecureBytes(Array("123456".utf8)) }
        let wrapped = try PublicKeyWrap.wrap(SecureBytes.random(count: 32), to: ops.publicKey, label: [1])
        XCTAssertThrowsError(try PublicKeyWrap.unwrap(wrapped, with: ops, label: [1]))
        // Control: with its own key's certificate the same card opens the same kind of wrap.
        try client.select()
        try client.authenticateManagementKey(SecureBytes(PIVIdentifiers.defaultManagementKey))
        try client.writeCertificate(try Self.certificate(for: cardKey))
        let matched = try PIVKeyOperations(transport: transport) { _ in SecureBytes(Array("123456".utf8)) }
        let secret = SecureBytes.random(count: 32)
        XCTAssertTrue(try PublicKeyWrap.unwrap(try PublicKeyWrap.wrap(secret, to: matched.publicKey, label: [1]), with: matched, label: [1]) == secret)
    }

    static func certificate(for publicKey: PublicKey) throws -> Certificate {
        // TriadCrypto issues certificates from a private key only; for a card key, ask
        // openssl (as an operator would) through its x509 -force_pubkey.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("triad-applet-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let pub = dir.appendingPathComponent("pub.pem").path
        try publicKey.pem.write(toFile: pub, atomically: true, encoding: .utf8)
        let path = try PIVClientInteropTests.certify(publicKeyPEM: pub, commonName: "applet", in: dir)
        return try Certificate(pem: String(contentsOfFile: path, encoding: .utf8))
    }
}
