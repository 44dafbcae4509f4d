import ISO7816
import XCTest
import TriadCrypto
import TriadPCSC
@testable import TriadPIV
import VirtualPIV

/// Which of the client's own checks refuses a hostile answer. `HostileResponseTests` asks
/// only for *some* `PIVError`; for several answers a later layer also refuses (TriadCrypto
/// will not build an RSA key under 2048 bits nor an EC key from a point that does not start
/// with `04`), so dropping the client's check would go unnoticed there. Here each answer is
/// built to fail exactly one check of the client, and the test asserts that check's error and
/// what was sent after it. The harness is `HostileCard` (the project's applet in process,
/// only the answer to the command under test replaced); each negative case has its control in
/// the same harness: the genuine answer, through the replacement path, succeeds.
final class HostileResponseCheckTests: XCTestCase {
    static let managementKeys: [(label: String, card: VirtualPIVApplet, key: SecureBytes, algorithm: ManagementKeyAlgorithm)] = [
        ("3DES", HostileCards.blank, SecureBytes(PIVIdentifiers.defaultManagementKey), .tripleDES),
        ("AES-128", HostileCards.aes128, HostileCards.aes128Key, .aes128),
        ("AES-256", HostileCards.aes256, HostileCards.aes256Key, .aes256),
    ]

    static func isStep1(_ c: CommandAPDU) -> Bool { c.ins == 0x87 && c.p2 == 0x9B && c.data == HostileOperation.mutualAuthStep1 }
    static func isStep2(_ c: CommandAPDU) -> Bool { c.ins == 0x87 && c.p2 == 0x9B && c.data != HostileOperation.mutualAuthStep1 }

    /// The answer to the target replaced by `make(command, genuine data)` with `9000`.
    static func answering(_ name: String, _ make: @escaping (CommandAPDU, [UInt8]) -> [UInt8]) -> HostileBehaviour {
        HostileBehaviour(name: name) { command, genuine in ResponseAPDU(data: make(command, genuine.data), sw: .success) }
    }

    static let genuine = HostileBehaviour(name: "genuine") { _, answer in answer }

    // MARK: - Management key, step 1: the witness template (SP 800-73-4 Part 2 Appendix A.1)

    /// Step 1's answer must be `7C {80 E_K(W)}` and nothing else (docs/piv-client.md, "APDUs
    /// per operation"). Each malformed template below still ends in the genuine encrypted
    /// witness, so a client that took the witness from the end of the answer without reading
    /// the template would decrypt the right W and the card would accept step 2. The client
    /// must refuse the template itself, as malformed, and never send step 2.
    func testMalformedWitnessTemplateIsRefusedBeforeStepTwo() throws {
        for (label, card, key, algorithm) in Self.managementKeys {
            let block = algorithm.blockLength
            let run = { (t: HostileCard) in let c = PIVClient(transport: t); try c.select(); try c.authenticateManagementKey(key, algorithm: algorithm) }
            // Control: the genuine template, through the replacement path: select, step 1, step 2.
            let control = HostileCard(applet: card, isTarget: Self.isStep1, behaviour: Self.genuine)
            XCTAssertNoThrow(try run(control), label)
            XCTAssertEqual(control.calls, 3, label)

            let witnessAtTheEnd: [(String, ([UInt8]) -> [UInt8])] = [
                ("witness under tag 81", { Template.retag($0, to: 0x81) }),
                ("witness under tag 82", { Template.retag($0, to: 0x82) }),
                ("a challenge 81 before the witness", { g in Template.rebuild(g, [TLV(tag: 0x81, value: [UInt8](repeating: 0xA5, count: block))] + Template.inner(g)) }),
                ("witness twice", { g in Template.appending(g, Template.inner(g)[0]) }),
                ("witness without the 7C template", { g in Template.inner(g)[0].encoded }),
                ("outer tag 7D", { g in TLV(tag: 0x7D, value: Template.inner(g).flatMap(\.encoded)).encoded }),
            ]
            for (name, make) in witnessAtTheEnd {
                let t = HostileCard(applet: card, isTarget: Self.isStep1, behaviour: Self.answering(name) { _, g in make(g) })
                XCTAssertThrowsError(try run(t), "\(label) / \(name)") { error in
                    guard case PIVError.malformedResponse(let problem) = error else { return XCTFail("\(label) / \(name): \(error)") }
                    XCTAssertTrue(problem.hasPrefix("management-key witness"), "\(label) / \(name): \(problem)")
                }
                XCTAssertEqual(t.targetHits, 1, "\(label) / \(name)")
                XCTAssertEqual(t.calls, 2, "\(label) / \(name): step 2 was sent after a malformed witness template")
            }
            // The one-object template of the wrong tag, exactly: the client names the tag it wanted.
            let retagged = HostileCard(applet: card, isTarget: Self.isStep1, behaviour: Self.answering("81") { _, g in Template.retag(g, to: 0x81) })
            XCTAssertThrowsError(try run(retagged)) {
                XCTAssertEqual($0 as? PIVError, .malformedResponse(problem: "management-key witness: expected only tag 80 in the dynamic authentication template"), label)
            }
        }
    }

    // MARK: - Management key, step 2: the card's answer to our challenge

    /// Mutual authentication: the card must prove it knows the key by returning E_K(C) for our
    /// fresh challenge C (Part 2 Appendix A.1; docs/piv-client.md: "compared in constant
    /// time"). A well-formed `7C {82 …}` of the right length holding anything else — one bit
    /// off, our challenge echoed unencrypted, C encrypted under another key — is a card that
    /// does not know the key, refused as `.authenticationFailed`.
    func testWrongAnswerToOurChallengeFailsAuthentication() throws {
        for (label, card, key, algorithm) in Self.managementKeys {
            let run = { (t: HostileCard) in let c = PIVClient(transport: t); try c.select(); try c.authenticateManagementKey(key, algorithm: algorithm) }
            let control = HostileCard(applet: card, isTarget: Self.isStep2, behaviour: Self.genuine)
            XCTAssertNoThrow(try run(control), label)
            XCTAssertEqual(control.targetHits, 1, label)

            let otherKey = SecureBytes([UInt8](repeating: 0x5A, count: algorithm.keyLength))
            let challenge = { (c: CommandAPDU) in Template.inner(c.data).value(0x81) ?? [] }
            let wrong: [(String, (CommandAPDU, [UInt8]) -> [UInt8])] = [
                ("first bit flipped", { _, g in Template.flip(g, at: 0) }),
                ("last bit flipped", { _, g in Template.flip(g, at: -1) }),
                ("our challenge echoed", { c, g in Template.rebuild(g, [TLV(tag: 0x82, value: challenge(c))]) }),
                ("our challenge under another key", { c, g in
                    Template.rebuild(g, [TLV(tag: 0x82, value: (try? algorithm.blockCipher.encryptBlock(challenge(c), key: otherKey)) ?? [])])
                }),
                ("all zero", { _, g in Template.mapValue(g) { [UInt8](repeating: 0, count: $0.count) } }),
            ]
            for (name, make) in wrong {
                let t = HostileCard(applet: card, isTarget: Self.isStep2, behaviour: Self.answering(name, make))
                XCTAssertThrowsError(try run(t), "\(label) / \(name)") { XCTAssertEqual($0 as? PIVError, .authenticationFailed, "\(label) / \(name)") }
                XCTAssertEqual(t.targetHits, 1, "\(label) / \(name)")
            }
        }
    }

    // MARK: - GENERATE ASYMMETRIC KEY PAIR (Part 2 §3.3.2)

    static func generate(_ algorithm: PIVAlgorithm) -> (HostileCard) throws -> PublicKey {
        { t in
            let c = PIVClient(transport: t)
            try c.select()
            try c.authenticateManagementKey(SecureBytes(PIVIdentifiers.defaultManagementKey))
            return try c.generateKeyPair(slot: .keyManagement, algorithm: algorithm)
        }
    }

    /// An RSA-2048 answer's modulus must be 256 bytes with the top bit set (docs/piv-client.md,
    /// GENERATE row): 256 bytes starting `01` or `00` hold a number under 2048 bits. The
    /// client refuses it with its own message; TriadCrypto would refuse such a key too, but
    /// with another message, which is how this test tells the two apart.
    func testRSAModulusUnder2048BitsIsRefusedByTheClient() throws {
        let control = HostileCard(applet: HostileCards.blank, isTarget: { $0.ins == 0x47 }, behaviour: Self.genuine)
        let key = try Self.generate(.rsa2048)(control)
        XCTAssertEqual(key.rsaModulus?.count, 256)
        let genuine = try XCTUnwrap(control.genuineAnswer)
        for (name, first) in [("top byte 01 (2041 bits)", UInt8(0x01)), ("top byte 00 (at most 2040 bits)", 0x00), ("top byte 7F (2047 bits)", 0x7F)] {
            let t = HostileCard(applet: HostileCards.blank, isTarget: { $0.ins == 0x47 }, behaviour: Self.answering(name) { _, g in
                let inner = Template.inner(g)
                return Template.rebuild(g, [TLV(tag: 0x81, value: [first] + (inner.value(0x81) ?? []).dropFirst()), TLV(tag: 0x82, value: inner.value(0x82) ?? [])])
            }, genuine: genuine)
            XCTAssertThrowsError(try Self.generate(.rsa2048)(t), name) {
                XCTAssertEqual($0 as? PIVError, .malformedResponse(problem: "GENERATE: the RSA modulus has 256 bytes, not a 2048-bit number"), name)
            }
            XCTAssertEqual(t.targetHits, 1, name)
        }
    }

    /// A generated EC point must be uncompressed, `04 ‖ X ‖ Y` (docs/piv-client.md, GENERATE
    /// row; SP 800-73-4 Part 2 §3.3.2 tag 86). The genuine point's coordinates under any other
    /// first byte — compressed `02`/`03`, hybrid `06`/`07` (which OpenSSL can decode), `00` —
    /// have the right length, and the client must refuse them itself for not being
    /// uncompressed, not leave it to TriadCrypto's key constructor.
    func testECPointThatIsNotUncompressedIsRefusedByTheClient() throws {
        for algorithm in [PIVAlgorithm.eccP256, .eccP384] {
            let control = HostileCard(applet: HostileCards.blank, isTarget: { $0.ins == 0x47 }, behaviour: Self.genuine)
            let key = try Self.generate(algorithm)(control)
            XCTAssertEqual(key.ecPoint?.first, 0x04)
            let genuine = try XCTUnwrap(control.genuineAnswer)
            for prefix: UInt8 in [0x02, 0x03, 0x06, 0x07, 0x00, 0x05] {
                let t = HostileCard(applet: HostileCards.blank, isTarget: { $0.ins == 0x47 }, behaviour: Self.answering("prefix \(prefix)") { _, g in
                    Template.rebuild(g, [TLV(tag: 0x86, value: [prefix] + (Template.inner(g).value(0x86) ?? []).dropFirst())])
                }, genuine: genuine)
                XCTAssertThrowsError(try Self.generate(algorithm)(t), "\(algorithm) prefix \(prefix)") {
                    XCTAssertEqual($0 as? PIVError, .malformedResponse(
                        problem: "GENERATE: the EC point has \(algorithm.pointBytes) bytes, not an uncompressed \(algorithm) point"), "\(algorithm) prefix \(prefix)")
                }
                XCTAssertEqual(t.targetHits, 1)
            }
        }
    }
}
