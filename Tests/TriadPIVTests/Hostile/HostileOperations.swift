import ISO7816
import TriadCrypto
import TriadPCSC
@testable import TriadPIV
import VirtualPIV

/// One client operation under attack: the card it starts from, the command whose answer is
/// replaced, what a valid answer looks like, the variants specific to it, and the operation.
struct HostileOperation {
    let name: String
    let card: VirtualPIVApplet
    let isTarget: (CommandAPDU) -> Bool
    var shape: AnswerShape
    var variants: [HostileVariant] = []
    /// Status words that are valid answers here (e.g. `63C2` to a PIN status query).
    var excluded: Set<StatusWord> = []
    /// Whether the control's genuine answer may be reused by every case (a command whose
    /// answer nothing later depends on, such as GENERATE: saves a key generation per case).
    var reusesGenuine = false
    let run: (HostileCard) throws -> Void
}

extension HostileOperation {
    static let pin = HostileCards.pin
    static func client(_ t: HostileCard) -> PIVClient { PIVClient(transport: t) }
    static let mutualAuthStep1: [UInt8] = [0x7C, 0x02, 0x80, 0x00]
    static func isGeneralAuthenticate(p1: UInt8, p2: UInt8) -> (CommandAPDU) -> Bool {
        { $0.ins == 0x87 && $0.p1 == p1 && $0.p2 == p2 && $0.data != mutualAuthStep1 }
    }

    /// Every operation of the client, in a fixed order (seeds depend on it).
    static func all() -> [HostileOperation] {
        var rng = SeededGenerator(state: 42)
        let p256Peer = try! PrivateKey.generate(.ecP256).publicKey, p384Peer = try! PrivateKey.generate(.ecP384).publicKey
        let otherP256 = try! PrivateKey.generate(.ecP256), otherP384 = try! PrivateKey.generate(.ecP384)
        let foreignCertificate = try! Certificate.selfSigned(subject: "CN=foreign", key: otherP256, days: 1)
        let digest32 = rng.bytes(32), digest48 = rng.bytes(48)
        let rsaInput = [0x00, 0x02] + rng.bytes(254)
        let certificateObject = { (inner: [UInt8]) in TLV(tag: 0x53, value: inner).encoded }
        let certificateDER = { (genuine: [UInt8]) -> [UInt8] in
            (try? TLV.parseAll((try? TLV.parseAll(genuine))?.first?.value ?? []))?.value(0x70) ?? []
        }

        var operations: [HostileOperation] = [
            HostileOperation(name: "SELECT", card: HostileCards.blank, isTarget: { $0.ins == 0xA4 }, shape: .tlv(emptyIsValid: true),
                             variants: [
                                HostileVariant("foreign AID", data: { _ in TLV(tag: 0x61, value: TLV(tag: 0x4F, value: [0xA0, 0, 0, 0, 0x62]).encoded).encoded }),
                                HostileVariant("4F twice", data: { g in Template.appending(g, TLV(tag: 0x4F, value: Template.inner(g).value(0x4F) ?? [])) }),
                             ], reusesGenuine: true, run: { try client($0).select() }),
            HostileOperation(name: "VERIFY status", card: HostileCards.blank, isTarget: { $0.ins == 0x20 && $0.data.isEmpty && $0.p1 == 0 },
                             shape: .none, excluded: [0x63C2, 0x63C0, 0x6300, 0x6983], run: { _ = try client($0).pinStatus() }),
            HostileOperation(name: "VERIFY", card: HostileCards.blank, isTarget: { $0.ins == 0x20 && !$0.data.isEmpty }, shape: .none,
                             run: { let c = client($0); try c.select(); try c.verifyPIN(pin) }),
            HostileOperation(name: "VERIFY logout", card: HostileCards.blank, isTarget: { $0.ins == 0x20 && $0.p1 == 0xFF }, shape: .none,
                             run: { let c = client($0); try c.select(); try c.logout() }),
            HostileOperation(name: "CHANGE REFERENCE DATA PIN", card: HostileCards.blank, isTarget: { $0.ins == 0x24 }, shape: .none,
                             run: { let c = client($0); try c.select(); try c.changePIN(old: pin, new: SecureBytes(Array("654321".utf8))) }),
            HostileOperation(name: "CHANGE REFERENCE DATA PUK", card: HostileCards.blank, isTarget: { $0.ins == 0x24 }, shape: .none,
                             run: { let c = client($0); try c.select(); try c.changePUK(old: HostileCards.puk, new: SecureBytes(Array("87654321".utf8))) }),
            HostileOperation(name: "RESET RETRY COUNTER", card: HostileCards.blank, isTarget: { $0.ins == 0x2C }, shape: .none,
                             run: { let c = client($0); try c.select(); try c.unblockPIN(puk: HostileCards.puk, newPIN: pin) }),
        ]

        // Management-key mutual authentication (Part 2 Appendix A.1): each step with each
        // cipher block size; the card behind checks the witness we return.
        for (label, card, key, algorithm) in [("3DES", HostileCards.blank, SecureBytes(PIVIdentifiers.defaultManagementKey), ManagementKeyAlgorithm.tripleDES),
                                              ("AES-128", HostileCards.aes128, HostileCards.aes128Key, .aes128),
                                              ("AES-256", HostileCards.aes256, HostileCards.aes256Key, .aes256)] {
            let block = algorithm.blockLength
            let run: (HostileCard) throws -> Void = { let c = client($0); try c.select(); try c.authenticateManagementKey(key, algorithm: algorithm) }
            operations.append(HostileOperation(
                name: "management key step 1 (\(label))", card: card,
                isTarget: { $0.ins == 0x87 && $0.p2 == 0x9B && $0.data == mutualAuthStep1 }, shape: .tlv(emptyIsValid: false),
                variants: [
                    HostileVariant("witness one byte short", data: { Template.mapValue($0) { Array($0.dropLast()) } }),
                    HostileVariant("witness one byte long", data: { Template.mapValue($0) { $0 + [0] } }),
                    HostileVariant("witness under tag 81", data: { Template.retag($0, to: 0x81) }),
                    HostileVariant("witness under tag 82", data: { Template.retag($0, to: 0x82) }),
                    HostileVariant("witness and a challenge 81", data: { Template.appending($0, TLV(tag: 0x81, value: [UInt8](repeating: 0xA5, count: block))) }),
                    HostileVariant("witness twice", data: { g in Template.appending(g, Template.inner(g)[0]) }),
                    HostileVariant("witness with a bit flipped", data: { Template.flip($0, at: 0) }),
                ], run: run))
            operations.append(HostileOperation(
                name: "management key step 2 (\(label))", card: card,
                isTarget: isGeneralAuthenticate(p1: algorithm.rawValue, p2: 0x9B), shape: .tlv(emptyIsValid: false),
                variants: [
                    HostileVariant("response one byte short", data: { Template.mapValue($0) { Array($0.dropLast()) } }),
                    HostileVariant("response one byte long", data: { Template.mapValue($0) { $0 + [0] } }),
                    HostileVariant("response under tag 80", data: { Template.retag($0, to: 0x80) }),
                    HostileVariant("response with a bit flipped", data: { Template.flip($0, at: -1) }),
                    HostileVariant("our challenge echoed", { command, genuine in
                        Template.rebuild(genuine, [TLV(tag: 0x82, value: Template.inner(command.data).value(0x81) ?? [])])
                    }),
                ], run: run))
        }

        operations += [
            HostileOperation(name: "SET MANAGEMENT KEY", card: HostileCards.blank, isTarget: { $0.ins == 0xFF }, shape: .none,
                             run: { let c = client($0); try c.select()
                                 try c.authenticateManagementKey(SecureBytes(PIVIdentifiers.defaultManagementKey))
                                 try c.setManagementKey(SecureBytes([UInt8](repeating: 0x33, count: 24)), algorithm: .tripleDES) }),
            HostileOperation(name: "PUT DATA certificate", card: HostileCards.blank, isTarget: { $0.ins == 0xDB }, shape: .none,
                             run: { let c = client($0); try c.select()
                                 try c.authenticateManagementKey(SecureBytes(PIVIdentifiers.defaultManagementKey))
                                 try c.writeCertificate(foreignCertificate) }),
            HostileOperation(name: "GET DATA certificate", card: HostileCards.p256, isTarget: { $0.ins == 0xCB }, shape: .tlv(emptyIsValid: false),
                             variants: [
                                HostileVariant("no 70", data: { _ in certificateObject([0x71, 0x01, 0x00, 0xFE, 0x00]) }),
                                HostileVariant("garbage certificate", data: { _ in certificateObject(TLV(tag: 0x70, value: [UInt8](repeating: 0x30, count: 300)).encoded) }),
                                HostileVariant("certificate cut short", data: { g in certificateObject(TLV(tag: 0x70, value: Array(certificateDER(g).dropLast(10))).encoded) }),
                                HostileVariant("compressed (CertInfo 01)", data: { g in certificateObject(TLV(tag: 0x70, value: certificateDER(g)).encoded + [0x71, 0x01, 0x01]) }),
                                HostileVariant("CertInfo of 2 bytes", data: { g in certificateObject(TLV(tag: 0x70, value: certificateDER(g)).encoded + [0x71, 0x02, 0x00, 0x00]) }),
                                HostileVariant("unknown tag 99", data: { g in certificateObject(TLV(tag: 0x70, value: certificateDER(g)).encoded + [0x99, 0x00]) }),
                                HostileVariant("70 twice", data: { g in certificateObject(TLV(tag: 0x70, value: certificateDER(g)).encoded + TLV(tag: 0x70, value: certificateDER(g)).encoded) }),
                                HostileVariant("empty 70", data: { _ in certificateObject([0x70, 0x00]) }),
                                HostileVariant("empty object", data: { _ in certificateObject([]) }),
                             ], reusesGenuine: true, run: { let c = client($0); try c.select(); _ = try c.readCertificate() }),
            HostileOperation(name: "GET VERSION", card: HostileCards.blank, isTarget: { $0.ins == 0xFD }, shape: .fixed(length: 3),
                             excluded: [0x6D00, 0x6E00, 0x6A81], reusesGenuine: true, run: { let c = client($0); try c.select(); _ = try c.version() }),
            HostileOperation(name: "GET SERIAL", card: HostileCards.blank, isTarget: { $0.ins == 0xF8 }, shape: .fixed(length: 4),
                             excluded: [0x6D00, 0x6E00, 0x6A81], reusesGenuine: true, run: { let c = client($0); try c.select(); _ = try c.serial() }),
        ]

        // GENERATE ASYMMETRIC KEY PAIR (Part 2 §3.3.2).
        operations.append(HostileOperation(
            name: "GENERATE RSA-2048", card: HostileCards.blank, isTarget: { $0.ins == 0x47 }, shape: .tlv(emptyIsValid: false),
            variants: rsaTemplateVariants(otherPoint: p256Peer.ecPoint!), reusesGenuine: true,
            run: { let c = client($0); try c.select()
                try c.authenticateManagementKey(SecureBytes(PIVIdentifiers.defaultManagementKey))
                _ = try c.generateKeyPair(slot: .keyManagement, algorithm: .rsa2048) }))
        for (algorithm, other) in [(PIVAlgorithm.eccP256, p384Peer), (.eccP384, p256Peer)] {
            operations.append(HostileOperation(
                name: "GENERATE \(algorithm)", card: HostileCards.blank, isTarget: { $0.ins == 0x47 }, shape: .tlv(emptyIsValid: false),
                variants: ecPointVariants(otherCurvePoint: other.ecPoint!, seed: UInt64(algorithm.rawValue)), reusesGenuine: true,
                run: { let c = client($0); try c.select()
                    try c.authenticateManagementKey(SecureBytes(PIVIdentifiers.defaultManagementKey))
                    _ = try c.generateKeyPair(slot: .keyManagement, algorithm: algorithm) }))
        }

        // GENERAL AUTHENTICATE with the slot keys, through the client's commands.
        operations.append(HostileOperation(
            name: "GENERAL AUTHENTICATE RSA (9D)", card: HostileCards.rsa, isTarget: isGeneralAuthenticate(p1: 0x07, p2: 0x9D),
            shape: .tlv(emptyIsValid: false),
            variants: [HostileVariant("result one byte short", data: { Template.mapValue($0) { Array($0.dropLast()) } }),
                       HostileVariant("result one byte long", data: { Template.mapValue($0) { $0 + [0] } }),
                       HostileVariant("result under tag 81", data: { Template.retag($0, to: 0x81) }),
                       HostileVariant("82 twice", data: { Template.appending($0, TLV(tag: 0x82, value: [])) })],
            run: { let c = client($0); try c.select(); try c.verifyPIN(pin); _ = try c.rsaRawOperation(rsaInput, slot: .keyManagement) }))
        for (algorithm, peer) in [(PIVAlgorithm.eccP256, p256Peer), (.eccP384, p384Peer)] {
            operations.append(HostileOperation(
                name: "GENERAL AUTHENTICATE ECDH \(algorithm) (9D)", card: HostileCards.card(for: algorithm),
                isTarget: isGeneralAuthenticate(p1: algorithm.rawValue, p2: 0x9D), shape: .tlv(emptyIsValid: false),
                variants: sharedSecretVariants(),
                run: { let c = client($0); try c.select(); try c.verifyPIN(pin); _ = try c.ecdh(peerPoint: peer.ecPoint!, slot: .keyManagement, algorithm: algorithm) }))
        }
        for (algorithm, slot, digest) in [(PIVAlgorithm.eccP256, PIVSlot.signature, digest32), (.eccP384, .signature, digest48),
                                          (.eccP256, .cardAuthentication, digest32)] {
            operations.append(HostileOperation(
                name: "GENERAL AUTHENTICATE ECDSA \(algorithm) (\(hex8(slot.rawValue)))", card: HostileCards.card(for: algorithm),
                isTarget: isGeneralAuthenticate(p1: algorithm.rawValue, p2: slot.rawValue), shape: .tlv(emptyIsValid: false),
                variants: ecdsaStructureVariants(maximum: algorithm.maximumECDSASignatureBytes),
                run: { let c = client($0); try c.select()
                    if slot.requiresPIN { try c.verifyPIN(pin) }
                    _ = try c.signDigest(digest, slot: slot, algorithm: algorithm) }))
        }

        // The key operations as the rest of Triad uses them (PIVKeyOperations): the PIN
        // rule's commands, and signatures, which are verified with the slot's certificate.
        operations += [
            HostileOperation(name: "PIVKeyOperations certificate", card: HostileCards.p256, isTarget: { $0.ins == 0xCB }, shape: .tlv(emptyIsValid: false),
                             variants: [HostileVariant("garbage certificate", data: { _ in certificateObject(TLV(tag: 0x70, value: [UInt8](repeating: 0x30, count: 200)).encoded) }),
                                        HostileVariant("empty object", data: { _ in certificateObject([]) })],
                             reusesGenuine: true, run: { _ = try PIVKeyOperations(transport: $0) { _ in pin } }),
            HostileOperation(name: "PIVKeyOperations PIN counter", card: HostileCards.p256, isTarget: { $0.ins == 0x20 && $0.data.isEmpty && $0.p1 == 0 },
                             shape: .none, excluded: [0x63C2],
                             run: { _ = try PIVKeyOperations(transport: $0) { _ in pin }.ecdh(with: p256Peer) }),
            HostileOperation(name: "PIVKeyOperations VERIFY", card: HostileCards.p256, isTarget: { $0.ins == 0x20 && !$0.data.isEmpty }, shape: .none,
                             run: { _ = try PIVKeyOperations(transport: $0) { _ in pin }.ecdh(with: p256Peer) }),
            HostileOperation(name: "PIVKeyOperations ECDH", card: HostileCards.p256, isTarget: isGeneralAuthenticate(p1: 0x11, p2: 0x9D),
                             shape: .tlv(emptyIsValid: false), variants: sharedSecretVariants(),
                             run: { _ = try PIVKeyOperations(transport: $0) { _ in pin }.ecdh(with: p256Peer) }),
        ]
        for (algorithm, slot, other) in [(PIVAlgorithm.eccP256, PIVSlot.signature, otherP256), (.eccP384, .signature, otherP384),
                                         (.eccP256, .cardAuthentication, otherP256)] {
            operations.append(HostileOperation(
                name: "PIVKeyOperations sign \(algorithm) (\(hex8(slot.rawValue)))", card: HostileCards.card(for: algorithm),
                isTarget: isGeneralAuthenticate(p1: algorithm.rawValue, p2: slot.rawValue), shape: .tlv(emptyIsValid: false),
                variants: ecdsaStructureVariants(maximum: algorithm.maximumECDSASignatureBytes) + ecdsaContentVariants(otherKey: other),
                run: { _ = try PIVKeyOperations(transport: $0, slot: slot) { _ in pin }.sign(Array("transcript head".utf8)) }))
        }
        for (slot, scheme) in [(PIVSlot.signature, SignatureScheme.rsaPSSSHA256), (.cardAuthentication, .rsaPKCS1v15SHA256)] {
            operations.append(HostileOperation(
                name: "PIVKeyOperations sign RSA-2048 \(scheme.rawValue) (\(hex8(slot.rawValue)))", card: HostileCards.rsa,
                isTarget: isGeneralAuthenticate(p1: 0x07, p2: slot.rawValue), shape: .tlv(emptyIsValid: false),
                variants: [HostileVariant("result one byte short", data: { Template.mapValue($0) { Array($0.dropLast()) } }),
                           HostileVariant("result under tag 81", data: { Template.retag($0, to: 0x81) }),
                           HostileVariant("result with its first bit flipped", data: { Template.flip($0, at: 0) }),
                           HostileVariant("result with its last bit flipped", data: { Template.flip($0, at: -1) }),
                           HostileVariant("all-zero result", data: { Template.mapValue($0) { [UInt8](repeating: 0, count: $0.count) } }),
                           HostileVariant("result shifted by one byte", data: { Template.mapValue($0) { [0] + $0.dropLast() } })],
                run: { _ = try PIVKeyOperations(transport: $0, slot: slot) { _ in pin }.sign(Array("transcript head".utf8), scheme: scheme) }))
        }
        return operations
    }

    // MARK: - Variant families

    static func rsaTemplateVariants(otherPoint: [UInt8]) -> [HostileVariant] {
        func template(_ g: [UInt8], _ objects: ([UInt8], [UInt8]) -> [TLV]) -> [UInt8] {
            let inner = Template.inner(g)
            return Template.rebuild(g, objects(inner.value(0x81) ?? [], inner.value(0x82) ?? []))
        }
        return [
            HostileVariant("modulus one byte short", data: { template($0) { n, e in [TLV(tag: 0x81, value: Array(n.dropLast())), TLV(tag: 0x82, value: e)] } }),
            HostileVariant("modulus one byte long", data: { template($0) { n, e in [TLV(tag: 0x81, value: n + [1]), TLV(tag: 0x82, value: e)] } }),
            HostileVariant("modulus top bit clear", data: { template($0) { n, e in [TLV(tag: 0x81, value: [0x01] + n.dropFirst()), TLV(tag: 0x82, value: e)] } }),
            HostileVariant("empty exponent", data: { template($0) { n, _ in [TLV(tag: 0x81, value: n), TLV(tag: 0x82, value: [])] } }),
            HostileVariant("even exponent", data: { template($0) { n, _ in [TLV(tag: 0x81, value: n), TLV(tag: 0x82, value: [1, 0, 2])] } }),
            HostileVariant("5-byte exponent", data: { template($0) { n, _ in [TLV(tag: 0x81, value: n), TLV(tag: 0x82, value: [1, 0, 0, 0, 1])] } }),
            HostileVariant("no exponent", data: { template($0) { n, _ in [TLV(tag: 0x81, value: n)] } }),
            HostileVariant("EC point instead", data: { g in Template.rebuild(g, [TLV(tag: 0x86, value: otherPoint)]) }),
            HostileVariant("extra tag 86", data: { template($0) { n, e in [TLV(tag: 0x81, value: n), TLV(tag: 0x82, value: e), TLV(tag: 0x86, value: [])] } }),
            HostileVariant("81 twice", data: { template($0) { n, _ in [TLV(tag: 0x81, value: n), TLV(tag: 0x81, value: n)] } }),
        ]
    }

    static func ecPointVariants(otherCurvePoint: [UInt8], seed: UInt64) -> [HostileVariant] {
        var rng = SeededGenerator(state: seed)
        let random = rng.bytes(200)
        func point(_ g: [UInt8]) -> [UInt8] { Template.inner(g).value(0x86) ?? [] }
        func with(_ g: [UInt8], _ p: [UInt8]) -> [UInt8] { Template.rebuild(g, [TLV(tag: 0x86, value: p)]) }
        return [
            HostileVariant("point one byte short", data: { with($0, Array(point($0).dropLast())) }),
            HostileVariant("point one byte long", data: { with($0, point($0) + [0]) }),
            HostileVariant("compressed prefix 02", data: { with($0, [0x02] + point($0).dropFirst()) }),
            HostileVariant("hybrid prefix 06", data: { with($0, [0x06] + point($0).dropFirst()) }),
            HostileVariant("point off the curve", data: { g in var p = point(g); p[p.count - 1] ^= 0x01; return with(g, p) }),
            HostileVariant("random point", data: { g in with(g, [0x04] + random.prefix(point(g).count - 1)) }),
            HostileVariant("the other curve's point", data: { with($0, otherCurvePoint) }),
            HostileVariant("zero point", data: { g in with(g, [0x04] + [UInt8](repeating: 0, count: point(g).count - 1)) }),
            HostileVariant("point under tag 81", data: { Template.retag($0, to: 0x81) }),
            HostileVariant("86 twice", data: { g in Template.rebuild(g, [TLV(tag: 0x86, value: point(g)), TLV(tag: 0x86, value: point(g))]) }),
        ]
    }

    static func sharedSecretVariants() -> [HostileVariant] {
        [
            HostileVariant("Z one byte short", data: { Template.mapValue($0) { Array($0.dropLast()) } }),
            HostileVariant("Z one byte long", data: { Template.mapValue($0) { $0 + [0] } }),
            HostileVariant("Z as a point", data: { Template.mapValue($0) { [0x04] + $0 + $0 } }),
            HostileVariant("empty Z", data: { Template.mapValue($0) { _ in [] } }),
            HostileVariant("Z under tag 85", data: { Template.retag($0, to: 0x85) }),
            HostileVariant("outer tag 7D", data: { g in TLV(tag: 0x7D, value: Template.inner(g).flatMap(\.encoded)).encoded }),
        ]
    }

    /// Signatures that are not DER `SEQUENCE { INTEGER r, INTEGER s }` of the curve's size.
    static func ecdsaStructureVariants(maximum: Int) -> [HostileVariant] {
        func integers(_ g: [UInt8]) -> [TLV] {
            (try? TLV.parseAll((try? TLV.parseAll(Template.inner(g).value(0x82) ?? []))?.first?.value ?? [])) ?? []
        }
        func signature(_ g: [UInt8], _ value: [UInt8]) -> [UInt8] { Template.rebuild(g, [TLV(tag: 0x82, value: value)]) }
        func sequence(_ tlvs: [TLV]) -> [UInt8] { TLV(tag: 0x30, value: tlvs.flatMap(\.encoded)).encoded }
        return [
            HostileVariant("SET instead of SEQUENCE", data: { g in signature(g, TLV(tag: 0x31, value: integers(g).flatMap(\.encoded)).encoded) }),
            HostileVariant("one INTEGER", data: { g in signature(g, sequence(Array(integers(g).prefix(1)))) }),
            HostileVariant("three INTEGERs", data: { g in signature(g, sequence(integers(g) + [TLV(tag: 0x02, value: [1])])) }),
            HostileVariant("BIT STRING for s", data: { g in signature(g, sequence([integers(g)[0], TLV(tag: 0x03, value: integers(g)[1].value)])) }),
            HostileVariant("empty r", data: { g in signature(g, sequence([TLV(tag: 0x02, value: []), integers(g)[1]])) }),
            HostileVariant("trailing byte after the SEQUENCE", data: { g in signature(g, sequence(integers(g)) + [0]) }),
            HostileVariant("longer than the curve allows", data: { g in
                signature(g, sequence([TLV(tag: 0x02, value: [0x01] + [UInt8](repeating: 0x55, count: maximum / 2)), integers(g)[1]]))
            }),
            HostileVariant("7 bytes", data: { g in signature(g, [0x30, 0x05, 0x02, 0x01, 0x01, 0x02, 0x00]) }),
        ]
    }

    /// Well-formed signatures that are not the card key's signature of our digest.
    static func ecdsaContentVariants(otherKey: PrivateKey) -> [HostileVariant] {
        func digest(_ command: CommandAPDU) -> [UInt8] { Template.inner(command.data).value(0x81) ?? [] }
        func integers(_ g: [UInt8]) -> [TLV] {
            (try? TLV.parseAll((try? TLV.parseAll(Template.inner(g).value(0x82) ?? []))?.first?.value ?? [])) ?? []
        }
        func signature(_ g: [UInt8], _ value: [UInt8]) -> [UInt8] { Template.rebuild(g, [TLV(tag: 0x82, value: value)]) }
        return [
            HostileVariant("r and s swapped", data: { g in signature(g, TLV(tag: 0x30, value: integers(g).reversed().flatMap(\.encoded)).encoded) }),
            HostileVariant("s with a bit flipped", data: { g in
                var s = integers(g)[1].value
                s[s.count - 1] ^= 0x01
                return signature(g, TLV(tag: 0x30, value: integers(g)[0].encoded + TLV(tag: 0x02, value: s).encoded).encoded)
            }),
            HostileVariant("a valid signature of our digest by another key", { command, g in
                signature(g, (try? otherKey.signDigest(digest(command))) ?? [])
            }),
            HostileVariant("another key's signature of another digest", { command, g in
                signature(g, (try? otherKey.signDigest(digest(command).map { $0 ^ 0xFF })) ?? [])
            }),
        ]
    }
}
