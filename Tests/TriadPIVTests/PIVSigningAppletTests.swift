import XCTest
import TriadCrypto
import TriadPCSC
@testable import TriadPIV
import VirtualPIV

/// Signing with slots 9C (digital signature, PIN always) and 9E (card authentication, no
/// PIN) against the in-process virtual applet: every algorithm and scheme, the APDUs of each
/// signature, the PIN rules, and the applet's own enforcement of the PIN policy.
final class PIVSigningAppletTests: XCTestCase {
    static let pin = SecureBytes(Array("123456".utf8))
    static let issuer: (key: PrivateKey, certificate: Certificate) = {
        let key = try! PrivateKey.generate(.ecP256)
        return (key, try! Certificate.selfSigned(subject: "CN=signing test CA", key: key, days: 30, keyUsage: "critical,keyCertSign"))
    }()

    /// Generates a key in `slot` and stores a certificate for it, issued by a software CA.
    @discardableResult
    static func provision(_ transport: AppletTransport, slot: PIVSlot, algorithm: PIVAlgorithm) throws -> Certificate {
        let client = PIVClient(transport: transport)
        try client.select()
        try client.authenticateManagementKey(SecureBytes(PIVIdentifiers.defaultManagementKey))
        let publicKey = try client.generateKeyPair(slot: slot, algorithm: algorithm)
        let certificate = try Certificate.issue(subject: "CN=card \(hex8(slot.rawValue))", publicKey: publicKey,
                                                issuer: issuer.certificate, issuerKey: issuer.key, days: 30,
                                                keyUsage: "critical,digitalSignature")
        try client.writeCertificate(certificate, slot: slot)
        return certificate
    }

    func testSlots9CAnd9ESignWithEverySchemeAndAlgorithm() throws {
        var signatures = 0
        for algorithm in PIVAlgorithm.allCases {
            for slot in [PIVSlot.signature, .cardAuthentication] {
                let transport = AppletTransport()
                let certificate = try Self.provision(transport, slot: slot, algorithm: algorithm)
                var asked: [Int?] = []
                let key = try PIVKeyOperations(transport: transport, slot: slot) { tries in asked.append(tries); return Self.pin }
                XCTAssertEqual(key.publicKey, certificate.publicKey)
                let start = transport.log.count
                for scheme in SignatureScheme.allCases where scheme.isCompatible(with: key.publicKey.algorithm) {
                    let message = Array("ceremony head \(algorithm) \(slot) \(scheme)".utf8)
                    let signature = try key.sign(message, scheme: scheme)
                    XCTAssertTrue(certificate.publicKey.verify(signature: signature, for: message, scheme: scheme), "\(algorithm) \(slot) \(scheme)")
                    XCTAssertFalse(certificate.publicKey.verify(signature: signature, for: message + [1], scheme: scheme))
                    signatures += 1
                }
                let preferred = try key.sign(Array("default".utf8))
                XCTAssertTrue(certificate.publicKey.verify(signature: preferred, for: Array("default".utf8)), "\(algorithm) \(slot)")

                // What went over the wire: each GENERAL AUTHENTICATE in a transaction of its own,
                // right after VERIFY with the PIN for 9C, with no PIN at all for 9E.
                let commands = Array(zip(transport.log, transport.transactionOf).dropFirst(start))
                let operations = Set(commands.filter { $0.0.ins == 0x87 }.map(\.1))
                XCTAssertEqual(operations.count, 3, "one transaction per signature: two schemes and the preferred one")
                for transaction in operations {
                    XCTAssertNotEqual(transaction, 0)
                    let inside = commands.filter { $0.1 == transaction }.map(\.0).filter { $0.ins != 0xC0 }
                    let firstGA = try XCTUnwrap(inside.firstIndex { $0.ins == 0x87 })
                    XCTAssertTrue(inside[firstGA...].allSatisfy { $0.ins == 0x87 && $0.p2 == slot.rawValue })
                    if slot == .signature {
                        XCTAssertEqual(inside.map(\.ins).prefix(firstGA), [0xA4, 0x20, 0x20], "SELECT, counter, VERIFY, then the signature")
                        XCTAssertEqual(inside[firstGA - 1].data, Array("123456".utf8) + [0xFF, 0xFF])
                    } else {
                        XCTAssertEqual(inside.map(\.ins).prefix(firstGA), [0xA4], "9E: SELECT, then the signature; no PIN")
                    }
                }
                XCTAssertEqual(asked, slot == .signature ? [3] : [], "the PIN is asked once per instance for 9C, never for 9E")
            }
        }
        XCTAssertEqual(signatures, 12, "P-256 and P-384 with two ECDSA schemes each, RSA with two paddings, in two slots")
    }

    /// The applet, not only the client, enforces the policy: 9C needs a VERIFY right before
    /// each signature; 9D needs the PIN once; 9E needs none.
    func testTheAppletEnforcesPINAlwaysOn9CAndNoPINOn9E() throws {
        let transport = AppletTransport()
        for slot in [PIVSlot.signature, .keyManagement, .cardAuthentication] {
            try Self.provision(transport, slot: slot, algorithm: .eccP256)
        }
        let client = PIVClient(transport: transport)
        let digest = SignatureScheme.ecdsaSHA256.digest([1, 2, 3])
        let peer = try PrivateKey.generate(.ecP256).publicKey.ecPoint!
        transport.applet.reset()
        try client.select()
        XCTAssertThrowsError(try client.signDigest(digest, slot: .signature, algorithm: .eccP256)) {
            XCTAssertEqual($0 as? PIVError, .securityStatusNotSatisfied)
        }
        XCTAssertThrowsError(try client.ecdh(peerPoint: peer, slot: .keyManagement, algorithm: .eccP256)) {
            XCTAssertEqual($0 as? PIVError, .securityStatusNotSatisfied)
        }
        XCTAssertNoThrow(try client.signDigest(digest, slot: .cardAuthentication, algorithm: .eccP256), "9E without any PIN")
        try client.verifyPIN(Self.pin)
        XCTAssertNoThrow(try client.signDigest(digest, slot: .signature, algorithm: .eccP256), "9C right after VERIFY")
        XCTAssertThrowsError(try client.signDigest(digest, slot: .signature, algorithm: .eccP256), "a second 9C signature needs a second VERIFY") {
            XCTAssertEqual($0 as? PIVError, .securityStatusNotSatisfied)
        }
        XCTAssertNoThrow(try client.ecdh(peerPoint: peer, slot: .keyManagement, algorithm: .eccP256), "9D: the PIN once per session")
        XCTAssertNoThrow(try client.ecdh(peerPoint: peer, slot: .keyManagement, algorithm: .eccP256))
        // A reset (another program, or the card pulled) clears everything, 9E excepted.
        try client.verifyPIN(Self.pin)
        transport.applet.reset()
        try client.select()
        XCTAssertThrowsError(try client.signDigest(digest, slot: .signature, algorithm: .eccP256)) {
            XCTAssertEqual($0 as? PIVError, .securityStatusNotSatisfied)
        }
        XCTAssertNoThrow(try client.signDigest(digest, slot: .cardAuthentication, algorithm: .eccP256))
    }

    /// A certificate that is not the card key's gives no signature at all.
    func testACertificateForAnotherKeyYieldsNoSignature() throws {
        for slot in [PIVSlot.signature, .cardAuthentication] {
            for algorithm in PIVAlgorithm.allCases {
                let transport = AppletTransport()
                let client = PIVClient(transport: transport)
                try client.select()
                try client.authenticateManagementKey(SecureBytes(PIVIdentifiers.defaultManagementKey))
                let cardKey = try client.generateKeyPair(slot: slot, algorithm: algorithm)
                let other = try PrivateKey.generate(algorithm == .rsa2048 ? .rsa(bits: 2048) : algorithm == .eccP256 ? .ecP256 : .ecP384)
                try client.writeCertificate(try Certificate.selfSigned(subject: "CN=other", key: other, days: 1), slot: slot)
                let key = try PIVKeyOperations(transport: transport, slot: slot) { _ in Self.pin }
                XCTAssertThrowsError(try key.sign([1, 2, 3]), "\(slot) \(algorithm)") {
                    XCTAssertEqual($0 as? PIVError, .invalidSignature(slot: slot.rawValue))
                    XCTAssertTrue(String(describing: $0).contains("does not verify"), "\($0)")
                }
                // Control: the same card with its own key's certificate signs.
                try client.select()
                try client.authenticateManagementKey(SecureBytes(PIVIdentifiers.defaultManagementKey))
                let own = try Certificate.issue(subject: "CN=own", publicKey: cardKey, issuer: Self.issuer.certificate,
                                                issuerKey: Self.issuer.key, days: 1, keyUsage: "critical,digitalSignature")
                try client.writeCertificate(own, slot: slot)
                let matched = try PIVKeyOperations(transport: transport, slot: slot) { _ in Self.pin }
                XCTAssertTrue(own.publicKey.verify(signature: try matched.sign([1, 2, 3]), for: [1, 2, 3]), "\(slot) \(algorithm)")
            }
        }
    }

    /// Slot 9C follows the same PIN rules as 9D: tries shown before asking, never retried,
    /// the last try refused unless allowed, blocked refused before asking.
    func testSignatureSlotFollowsThePINRules() throws {
        let transport = AppletTransport()
        try Self.provision(transport, slot: .signature, algorithm: .eccP384)
        let wrong = SecureBytes(Array("000000".utf8))
        var asked: [Int?] = []

        let first = try PIVKeyOperations(transport: transport, slot: .signature) { tries in asked.append(tries); return wrong }
        XCTAssertThrowsError(try first.verifyPIN()) { XCTAssertEqual($0 as? PIVError, .pinIncorrect(triesLeft: 2)) }
        let counted = transport.log.count
        XCTAssertThrowsError(try first.sign([1])) { XCTAssertEqual($0 as? PIVError, .pinIncorrect(triesLeft: 2)) }
        XCTAssertEqual(transport.log.count, counted, "a failed instance does not touch the card again")
        XCTAssertEqual(asked, [3])
        XCTAssertEqual(try first.pinStatus(), .triesLeft(2))

        let second = try PIVKeyOperations(transport: transport, slot: .signature) { tries in asked.append(tries); return wrong }
        XCTAssertThrowsError(try second.sign([1])) { XCTAssertEqual($0 as? PIVError, .pinIncorrect(triesLeft: 1)) }
        XCTAssertEqual(asked, [3, 2])

        let careful = try PIVKeyOperations(transport: transport, slot: .signature) { tries in asked.append(tries); return Self.pin }
        XCTAssertThrowsError(try careful.sign([1])) { XCTAssertEqual($0 as? PIVError, .lastPinTryRefused) }
        XCTAssertEqual(asked, [3, 2], "the last try is refused before anyone is asked")

        let allowed = try PIVKeyOperations(transport: transport, slot: .signature, allowLastPinTry: true) { tries in asked.append(tries); return Self.pin }
        try allowed.verifyPIN()
        let signature = try allowed.sign([1])
        XCTAssertTrue(allowed.publicKey.verify(signature: signature, for: [1]))
        XCTAssertEqual(asked, [3, 2, 1])
        transport.applet.reset()
        XCTAssertEqual(try allowed.pinStatus(), .triesLeft(3), "a right PIN restores the counter")

        // Blocked: refused before asking.
        for _ in 0..<3 { _ = try? PIVClient(transport: transport).verifyPIN(wrong) }
        let blocked = try PIVKeyOperations(transport: transport, slot: .signature, allowLastPinTry: true) { tries in asked.append(tries); return Self.pin }
        XCTAssertThrowsError(try blocked.sign([1])) { XCTAssertEqual($0 as? PIVError, .pinBlocked) }
        XCTAssertEqual(asked, [3, 2, 1])
    }

    /// A slot that needs the PIN cannot be opened without a way to ask for it; 9E can.
    func testPINEntryIsRequiredExactlyWhereThePolicyNeedsIt() throws {
        let transport = AppletTransport()
        try Self.provision(transport, slot: .signature, algorithm: .eccP256)
        try Self.provision(transport, slot: .cardAuthentication, algorithm: .eccP256)
        XCTAssertThrowsError(try PIVKeyOperations(transport: transport, slot: .signature, askPIN: nil)) {
            XCTAssertEqual($0 as? PIVError, .pinUnavailable(slot: 0x9C))
        }
        let cardAuthentication = try PIVKeyOperations(transport: transport, slot: .cardAuthentication, askPIN: nil)
        XCTAssertNoThrow(try cardAuthentication.verifyPIN(), "nothing to verify for 9E")
        XCTAssertTrue(cardAuthentication.publicKey.verify(signature: try cardAuthentication.sign([7]), for: [7]))
        XCTAssertThrowsError(try PIVKeyOperations(transport: transport, slot: .cardManagement, askPIN: nil))
        XCTAssertThrowsError(try PIVKeyOperations(transport: transport, slot: .authentication) { _ in Self.pin }) {
            XCTAssertEqual($0 as? PIVError, .notFound, "an empty slot")
        }
        XCTAssertThrowsError(try cardAuthentication.sign([7], scheme: .rsaPSSSHA256)) {
            guard case PIVError.unsupportedAlgorithm = $0 else { return XCTFail("\($0)") }
        }
    }
}
