import ISO7816
import XCTest
import TriadCrypto
import TriadPCSC
@testable import TriadPIV

/// A card that answers the plumbing (SELECT, VERIFY, chained chunks, the first step of
/// management-key authentication) correctly and the command under test with a hostile
/// behaviour. It counts exchanges so a runaway loop is caught instead of hanging the test.
final class HostileTransport: CardTransport {
    var isTarget: (CommandAPDU) -> Bool = { _ in false }
    var behaviour: HostileBehaviour?
    var hostileActive = false
    private(set) var calls = 0
    private(set) var runaway = false
    private(set) var targetHit = false
    static let callLimit = 400

    struct Runaway: Error {}

    func transmit(_ apdu: CommandAPDU) throws -> ResponseAPDU {
        calls += 1
        guard calls <= Self.callLimit else { runaway = true; throw Runaway() }
        if hostileActive, let behaviour {
            if apdu.cla & 0x10 == 0, isTarget(apdu) { targetHit = true; return behaviour.respond(apdu) }
            if targetHit, apdu.ins == 0xC0 { return behaviour.respond(apdu) }
            if targetHit, apdu.le != nil, apdu.ins == 0x87 || apdu.ins == 0xCB || apdu.ins == 0x47 {
                return behaviour.respond(apdu) // the 6Cxx repeat of the target
            }
        }
        return Self.plumbing(apdu)
    }

    func withTransaction<T>(_ body: () throws -> T) throws -> T { try body() }

    static let certificate: Certificate = {
        let key = try! PrivateKey.generate(.ecP256)
        return try! Certificate.selfSigned(subject: "CN=hostile-9d", key: key, days: 30)
    }()

    static func plumbing(_ c: CommandAPDU) -> ResponseAPDU {
        if c.cla & 0x10 != 0 { return ResponseAPDU(sw: 0x9000) }
        switch c.ins {
        case 0xA4: return ResponseAPDU(sw: 0x9000)
        case 0x20: return c.data.isEmpty && c.p1 == 0 ? ResponseAPDU(sw: 0x63C3) : ResponseAPDU(sw: 0x9000)
        case 0x87 where c.data == [0x7C, 0x02, 0x80, 0x00]:
            let block = c.p1 == 0x03 ? 8 : 16
            return ResponseAPDU(data: [0x7C, UInt8(block + 2), 0x80, UInt8(block)] + [UInt8](repeating: 0x5A, count: block), sw: 0x9000)
        case 0xCB:
            let contents = TLV(tag: 0x70, value: certificate.der).encoded + [0x71, 0x01, 0x00, 0xFE, 0x00]
            let all = TLV(tag: 0x53, value: contents).encoded
            if all.count <= 256 { return ResponseAPDU(data: all, sw: 0x9000) }
            return ResponseAPDU(data: Array(all.prefix(256)), sw: .moreDataAvailable(min(all.count - 256, 255)))
        case 0xC0:
            let contents = TLV(tag: 0x70, value: certificate.der).encoded + [0x71, 0x01, 0x00, 0xFE, 0x00]
            let all = TLV(tag: 0x53, value: contents).encoded
            return ResponseAPDU(data: Array(all.dropFirst(256)), sw: 0x9000)
        default: return ResponseAPDU(sw: 0x6D00)
        }
    }
}

/// Every client operation against a few hundred generated bad responses: each must end in a
/// `PIVError` — no crash, no hang, no silent success (brief item 5e).
final class HostileResponseTests: XCTestCase {
    struct Operation {
        let name: String
        let isTarget: (CommandAPDU) -> Bool
        let good: [UInt8]
        var variants: [(String, [UInt8])] = []
        var excluded: Set<StatusWord> = []
        var dataRequired = true
        var structured = true
        /// Whether `good` with 9000 is a complete valid answer (false for the management-key
        /// steps, whose answers depend on the key).
        var goodSucceeds = true
        let run: (HostileTransport) throws -> Void
    }

    static let pin = SecureBytes(Array("123456".utf8))

    static func ga(_ tag: UInt32, _ value: [UInt8]) -> [UInt8] { TLV(tag: 0x7C, value: TLV(tag: tag, value: value).encoded).encoded }
    static func point(_ alg: KeyAlgorithm) -> [UInt8] { try! PrivateKey.generate(alg).publicKey.ecPoint! }

    static func operations() -> [Operation] {
        var rng = SeededGenerator(state: 42)
        let fullAID: [UInt8] = [0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00]
        let selectGood = TLV(tag: 0x61, value: TLV(tag: 0x4F, value: fullAID).encoded
                             + TLV(tag: 0x79, value: TLV(tag: 0x4F, value: Array(fullAID.prefix(5))).encoded).encoded).encoded
        let cert = HostileTransport.certificate.der
        let certObject = { (inner: [UInt8]) in TLV(tag: 0x53, value: inner).encoded }
        let p256 = point(.ecP256), p384 = point(.ecP384)
        let modulus = [0xC1] + rng.bytes(254) + [0x01]
        let rsaGood = TLV(tag: 0x7F49, value: TLV(tag: 0x81, value: modulus).encoded + TLV(tag: 0x82, value: [1, 0, 1]).encoded).encoded
        let rsaInput = [0x00, 0x02] + rng.bytes(254)
        func isGA(_ p1: UInt8) -> (CommandAPDU) -> Bool { { $0.ins == 0x87 && $0.p1 == p1 && $0.data != [0x7C, 0x02, 0x80, 0x00] } }
        func client(_ t: HostileTransport) -> PIVClient { PIVClient(transport: t) }
        let noData = Set<StatusWord>()

        return [
            Operation(name: "SELECT", isTarget: { $0.ins == 0xA4 }, good: selectGood,
                      variants: [("foreign AID", TLV(tag: 0x61, value: TLV(tag: 0x4F, value: [0xA0, 0, 0, 0, 0x62]).encoded).encoded),
                                 ("duplicate 4F", TLV(tag: 0x61, value: TLV(tag: 0x4F, value: fullAID).encoded + TLV(tag: 0x4F, value: fullAID).encoded).encoded)],
                      dataRequired: false, run: { try client($0).select() }),
            Operation(name: "VERIFY status", isTarget: { $0.ins == 0x20 && $0.data.isEmpty && $0.p1 == 0 }, good: [],
                      excluded: [0x63C2, 0x63C0, 0x6300, 0x6983], dataRequired: false, run: { _ = try client($0).pinStatus() }),
            Operation(name: "VERIFY", isTarget: { $0.ins == 0x20 && !$0.data.isEmpty }, good: [], excluded: noData, dataRequired: false,
                      run: { try client($0).verifyPIN(pin) }),
            Operation(name: "VERIFY logout", isTarget: { $0.ins == 0x20 && $0.p1 == 0xFF }, good: [], dataRequired: false,
                      run: { try client($0).logout() }),
            Operation(name: "CHANGE REFERENCE DATA PIN", isTarget: { $0.ins == 0x24 }, good: [], dataRequired: false,
                      run: { try client($0).changePIN(old: pin, new: SecureBytes(Array("654321".utf8))) }),
            Operation(name: "CHANGE REFERENCE DATA PUK", isTarget: { $0.ins == 0x24 }, good: [], dataRequired: false,
                      run: { try client($0).changePUK(old: SecureBytes(Array("12345678".utf8)), new: SecureBytes(Array("87654321".utf8))) }),
            Operation(name: "RESET RETRY COUNTER", isTarget: { $0.ins == 0x2C }, good: [], dataRequired: false,
                      run: { try client($0).unblockPIN(puk: SecureBytes(Array("12345678".utf8)), newPIN: pin) }),
            Operation(name: "mutual auth step 1 (3DES)", isTarget: { $0.ins == 0x87 && $0.data == [0x7C, 0x02, 0x80, 0x00] },
                      good: ga(0x80, rng.bytes(8)),
                      variants: [("witness 7 bytes", ga(0x80, rng.bytes(7))), ("witness 16 bytes", ga(0x80, rng.bytes(16))),
                                 ("tag 81", ga(0x81, rng.bytes(8))),
                                 ("80 and 81", TLV(tag: 0x7C, value: TLV(tag: 0x80, value: rng.bytes(8)).encoded + TLV(tag: 0x81, value: rng.bytes(8)).encoded).encoded)],
                      goodSucceeds: false,
                      run: { try client($0).authenticateManagementKey(SecureBytes(PIVIdentifiers.defaultManagementKey), algorithm: .tripleDES) }),
            Operation(name: "mutual auth step 1 (AES-128)", isTarget: { $0.ins == 0x87 && $0.data == [0x7C, 0x02, 0x80, 0x00] },
                      good: ga(0x80, rng.bytes(16)), variants: [("witness 8 bytes", ga(0x80, rng.bytes(8)))],
                      goodSucceeds: false,
                      run: { try client($0).authenticateManagementKey(SecureBytes(rng.bytes(16)), algorithm: .aes128) }),
            Operation(name: "mutual auth step 2 (3DES)", isTarget: isGA(0x03), good: ga(0x82, rng.bytes(8)),
                      variants: [("response 7 bytes", ga(0x82, rng.bytes(7))), ("response 9 bytes", ga(0x82, rng.bytes(9))), ("tag 80", ga(0x80, rng.bytes(8)))],
                      goodSucceeds: false,
                      run: { try client($0).authenticateManagementKey(SecureBytes(PIVIdentifiers.defaultManagementKey), algorithm: .tripleDES) }),
            Operation(name: "mutual auth step 2 (AES-256)", isTarget: isGA(0x0C), good: ga(0x82, rng.bytes(16)),
                      variants: [("response 8 bytes", ga(0x82, rng.bytes(8)))],
                      goodSucceeds: false,
                      run: { try client($0).authenticateManagementKey(SecureBytes(rng.bytes(32)), algorithm: .aes256) }),
            Operation(name: "SET MANAGEMENT KEY", isTarget: { $0.ins == 0xFF }, good: [], dataRequired: false,
                      run: { try client($0).setManagementKey(SecureBytes(rng.bytes(24)), algorithm: .tripleDES) }),
            Operation(name: "GENERATE RSA-2048", isTarget: { $0.ins == 0x47 }, good: rsaGood,
                      variants: [
                        ("modulus 255 bytes", TLV(tag: 0x7F49, value: TLV(tag: 0x81, value: Array(modulus.dropLast())).encoded + TLV(tag: 0x82, value: [1, 0, 1]).encoded).encoded),
                        ("modulus 257 bytes", TLV(tag: 0x7F49, value: TLV(tag: 0x81, value: modulus + [1]).encoded + TLV(tag: 0x82, value: [1, 0, 1]).encoded).encoded),
                        ("modulus top bit clear", TLV(tag: 0x7F49, value: TLV(tag: 0x81, value: [0x01] + modulus.dropFirst()).encoded + TLV(tag: 0x82, value: [1, 0, 1]).encoded).encoded),
                        ("empty exponent", TLV(tag: 0x7F49, value: TLV(tag: 0x81, value: modulus).encoded + TLV(tag: 0x82, value: []).encoded).encoded),
                        ("even exponent", TLV(tag: 0x7F49, value: TLV(tag: 0x81, value: modulus).encoded + TLV(tag: 0x82, value: [1, 0, 2]).encoded).encoded),
                        ("5-byte exponent", TLV(tag: 0x7F49, value: TLV(tag: 0x81, value: modulus).encoded + TLV(tag: 0x82, value: [1, 0, 0, 0, 1]).encoded).encoded),
                        ("no exponent", TLV(tag: 0x7F49, value: TLV(tag: 0x81, value: modulus).encoded).encoded),
                        ("EC point instead", TLV(tag: 0x7F49, value: TLV(tag: 0x86, value: p256).encoded).encoded),
                        ("extra tag", TLV(tag: 0x7F49, value: TLV(tag: 0x81, value: modulus).encoded + TLV(tag: 0x82, value: [1, 0, 1]).encoded + [0x86, 0x00]).encoded),
                        ("duplicate 81", TLV(tag: 0x7F49, value: TLV(tag: 0x81, value: modulus).encoded + TLV(tag: 0x81, value: modulus).encoded).encoded),
                      ],
                      run: { _ = try client($0).generateKeyPair(algorithm: .rsa2048) }),
            Operation(name: "GENERATE P-256", isTarget: { $0.ins == 0x47 }, good: TLV(tag: 0x7F49, value: TLV(tag: 0x86, value: p256).encoded).encoded,
                      variants: ecPointVariants(p256, other: p384, rng: &rng),
                      run: { _ = try client($0).generateKeyPair(algorithm: .eccP256) }),
            Operation(name: "GENERATE P-384", isTarget: { $0.ins == 0x47 }, good: TLV(tag: 0x7F49, value: TLV(tag: 0x86, value: p384).encoded).encoded,
                      variants: ecPointVariants(p384, other: p256, rng: &rng),
                      run: { _ = try client($0).generateKeyPair(algorithm: .eccP384) }),
            Operation(name: "GET DATA certificate", isTarget: { $0.ins == 0xCB }, good: certObject(TLV(tag: 0x70, value: cert).encoded + [0x71, 0x01, 0x00, 0xFE, 0x00]),
                      variants: [
                        ("no 70", certObject([0x71, 0x01, 0x00, 0xFE, 0x00])),
                        ("garbage certificate", certObject(TLV(tag: 0x70, value: rng.bytes(300)).encoded)),
                        ("certificate cut short", certObject(TLV(tag: 0x70, value: Array(cert.dropLast(10))).encoded)),
                        ("compressed", certObject(TLV(tag: 0x70, value: cert).encoded + [0x71, 0x01, 0x01])),
                        ("CertInfo 2 bytes", certObject(TLV(tag: 0x70, value: cert).encoded + [0x71, 0x02, 0x00, 0x00])),
                        ("unknown tag", certObject(TLV(tag: 0x70, value: cert).encoded + [0x99, 0x00])),
                        ("duplicate 70", certObject(TLV(tag: 0x70, value: cert).encoded + TLV(tag: 0x70, value: cert).encoded)),
                        ("empty 70", certObject([0x70, 0x00])),
                        ("empty object", certObject([])),
                      ],
                      run: { _ = try client($0).readCertificate() }),
            Operation(name: "PUT DATA certificate", isTarget: { $0.ins == 0xDB }, good: [], dataRequired: false,
                      run: { try client($0).writeCertificate(HostileTransport.certificate) }),
            Operation(name: "GET VERSION", isTarget: { $0.ins == 0xFD }, good: [5, 4, 3], excluded: [0x6D00, 0x6E00, 0x6A81],
                      structured: false, run: { _ = try client($0).version() }),
            Operation(name: "GET SERIAL", isTarget: { $0.ins == 0xF8 }, good: [0, 0, 0, 42], excluded: [0x6D00, 0x6E00, 0x6A81],
                      structured: false, run: { _ = try client($0).serial() }),
            Operation(name: "GENERAL AUTHENTICATE RSA", isTarget: isGA(0x07), good: ga(0x82, rng.bytes(256)),
                      variants: [("result 255 bytes", ga(0x82, rng.bytes(255))), ("result 257 bytes", ga(0x82, rng.bytes(257))),
                                 ("tag 81", ga(0x81, rng.bytes(256))),
                                 ("82 twice", TLV(tag: 0x7C, value: TLV(tag: 0x82, value: rng.bytes(256)).encoded + [0x82, 0x00]).encoded)],
                      run: { _ = try client($0).rsaRawOperation(rsaInput) }),
            Operation(name: "GENERAL AUTHENTICATE ECDH P-256", isTarget: isGA(0x11), good: ga(0x82, rng.bytes(32)),
                      variants: sharedSecretVariants(32, rng: &rng),
                      run: { _ = try client($0).ecdh(peerPoint: p256, algorithm: .eccP256) }),
            Operation(name: "GENERAL AUTHENTICATE ECDH P-384", isTarget: isGA(0x14), good: ga(0x82, rng.bytes(48)),
                      variants: sharedSecretVariants(48, rng: &rng),
                      run: { _ = try client($0).ecdh(peerPoint: p384, algorithm: .eccP384) }),
            Operation(name: "PIVKeyOperations ECDH", isTarget: isGA(0x11), good: ga(0x82, rng.bytes(32)),
                      variants: sharedSecretVariants(32, rng: &rng),
                      run: { t in
                          t.hostileActive = false
                          let ops = try PIVKeyOperations(transport: t) { _ in pin }
                          t.hostileActive = true
                          _ = try ops.ecdh(with: try PublicKey(ecPoint: p256, curve: .ecP256))
                      }),
            Operation(name: "PIVKeyOperations VERIFY", isTarget: { $0.ins == 0x20 && !$0.data.isEmpty }, good: [], dataRequired: false,
                      goodSucceeds: false,
                      run: { t in
                          t.hostileActive = false
                          let ops = try PIVKeyOperations(transport: t) { _ in pin }
                          t.hostileActive = true
                          _ = try ops.ecdh(with: try PublicKey(ecPoint: p256, curve: .ecP256))
                      }),
            Operation(name: "PIVKeyOperations certificate", isTarget: { $0.ins == 0xCB }, good: certObject(TLV(tag: 0x70, value: cert).encoded),
                      variants: [("garbage certificate", certObject(TLV(tag: 0x70, value: rng.bytes(200)).encoded)), ("empty object", certObject([]))],
                      run: { t in _ = try PIVKeyOperations(transport: t) { _ in pin } }),
        ]
    }

    static func ecPointVariants(_ p: [UInt8], other: [UInt8], rng: inout SeededGenerator) -> [(String, [UInt8])] {
        func wrap(_ v: [UInt8]) -> [UInt8] { TLV(tag: 0x7F49, value: TLV(tag: 0x86, value: v).encoded).encoded }
        var offCurve = p
        offCurve[offCurve.count - 1] ^= 0x01
        return [
            ("point one byte short", wrap(Array(p.dropLast()))), ("point one byte long", wrap(p + [0])),
            ("compressed prefix", wrap([0x02] + p.dropFirst())), ("hybrid prefix", wrap([0x06] + p.dropFirst())),
            ("point off the curve", wrap(offCurve)), ("random point", wrap([0x04] + rng.bytes(p.count - 1))),
            ("other curve's point", wrap(other)), ("zero point", wrap([0x04] + [UInt8](repeating: 0, count: p.count - 1))),
            ("tag 81 instead of 86", TLV(tag: 0x7F49, value: TLV(tag: 0x81, value: p).encoded).encoded),
            ("86 twice", TLV(tag: 0x7F49, value: TLV(tag: 0x86, value: p).encoded + TLV(tag: 0x86, value: p).encoded).encoded),
        ]
    }

    static func sharedSecretVariants(_ n: Int, rng: inout SeededGenerator) -> [(String, [UInt8])] {
        [("Z one short", ga(0x82, rng.bytes(n - 1))), ("Z one long", ga(0x82, rng.bytes(n + 1))),
         ("Z as a point", ga(0x82, [0x04] + rng.bytes(2 * n))), ("empty Z", ga(0x82, [])),
         ("tag 85", ga(0x85, rng.bytes(n))), ("wrong outer tag 7D", TLV(tag: 0x7D, value: TLV(tag: 0x82, value: rng.bytes(n)).encoded).encoded)]
    }

    func testEveryOperationRefusesEveryHostileResponse() throws {
        var total = 0
        var failures: [String] = []
        for (index, op) in Self.operations().enumerated() {
            let behaviours = HostileCatalog.behaviours(good: op.good, variants: op.variants, seed: UInt64(1000 + index),
                                                       excludingStatusWords: op.excluded, dataRequired: op.dataRequired,
                                                       structured: op.structured)
            for behaviour in behaviours {
                total += 1
                let transport = HostileTransport()
                transport.isTarget = op.isTarget
                transport.behaviour = behaviour
                transport.hostileActive = true
                do {
                    try op.run(transport)
                    failures.append("\(op.name) / \(behaviour.name): silent success")
                } catch is PIVError {
                    // Expected: a typed error.
                } catch {
                    failures.append("\(op.name) / \(behaviour.name): non-PIV error \(error)")
                }
                if transport.runaway { failures.append("\(op.name) / \(behaviour.name): runaway exchange") }
                if !transport.targetHit { failures.append("\(op.name) / \(behaviour.name): never reached the command under test") }
            }
            // Control: the same harness with the valid answer succeeds, so the errors above
            // come from the bad responses and not from the harness.
            if op.goodSucceeds {
                let transport = HostileTransport()
                transport.isTarget = op.isTarget
                transport.behaviour = HostileBehaviour(name: "good") { _ in ResponseAPDU(data: op.good, sw: 0x9000) }
                transport.hostileActive = true
                do { try op.run(transport) } catch { failures.append("\(op.name) / valid answer: \(error)") }
            }
        }
        XCTAssertGreaterThan(total, 500, "the hostile catalogue shrank")
        XCTAssertEqual(failures, [], "\(failures.count) of \(total) hostile cases misbehaved")
    }

    /// The caps hold: an endless 61xx chain stops after `maximumRounds` GET RESPONSEs.
    func testEndlessResponseChainStopsAtTheCap() {
        let transport = HostileTransport()
        transport.isTarget = { $0.ins == 0xCB }
        transport.behaviour = HostileBehaviour(name: "endless") { _ in ResponseAPDU(data: [0x53], sw: 0x6101) }
        transport.hostileActive = true
        XCTAssertThrowsError(try PIVClient(transport: transport).getData(object: [0x5F, 0xC1, 0x0B])) { error in
            guard case PIVError.malformedResponse(let why) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(why.contains("GET RESPONSE"), why)
        }
        XCTAssertEqual(transport.calls, APDUExchange.maximumRounds + 1)
    }
}
