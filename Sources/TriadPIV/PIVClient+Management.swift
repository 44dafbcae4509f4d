import TriadCrypto
import TriadPCSC
import ISO7816

/// Card administration: the management key (9B), key generation and certificates.
extension PIVClient {
    // MARK: - Management-key mutual authentication (SP 800-73-4 Part 2 §3.2.4, Appendix A.1)

    /// Proves knowledge of the card management key, and makes the card prove it too.
    ///
    /// 1. `7C 02 80 00` → `7C {80 E_K(W)}`; we decrypt the witness W.
    /// 2. `7C {80 W, 81 C}` with a fresh random challenge C → `7C {82 E_K(C)}`; we check it.
    ///
    /// - Throws: `.authenticationFailed` for a wrong key (card `6982`) or a card that cannot
    ///   encrypt our challenge; `.malformedResponse` for wrong lengths or tags.
    public func authenticateManagementKey(_ key: SecureBytes, algorithm: ManagementKeyAlgorithm = .tripleDES) throws {
        guard key.count == algorithm.keyLength else {
            throw PIVError.invalidPINFormat(problem: "a management key for algorithm \(hex8(algorithm.rawValue)) has \(algorithm.keyLength) bytes, this one has \(key.count)")
        }
        let cipher = algorithm.blockCipher
        let block = algorithm.blockLength
        let p1 = algorithm.rawValue, p2 = PIVSlot.cardManagement.rawValue
        let step1 = try exchange.send(CommandAPDU(ins: Instruction.generalAuthenticate.rawValue, p1: p1, p2: p2,
                                                  data: [0x7C, 0x02, 0x80, 0x00], le: 256), instruction: .generalAuthenticate)
        guard step1.sw == 0x9000 else { throw PIVError.status(step1.sw, for: .generalAuthenticate, reference: 0x9B) }
        let encryptedWitness = try Self.dynamicAuthenticationField(step1.data, tag: 0x80, length: block, context: "management-key witness")
        let witness: [UInt8]
        let challenge = SecureRandom.bytes(count: block)
        let expected: [UInt8]
        do {
            witness = try cipher.decryptBlock(encryptedWitness, key: key)
            expected = try cipher.encryptBlock(challenge, key: key)
        } catch {
            throw PIVError.malformedResponse(problem: "management-key cipher failed: \(error)")
        }
        let body = TLV(tag: 0x80, value: witness).encoded + TLV(tag: 0x81, value: challenge).encoded
        let step2 = try exchange.send(CommandAPDU(ins: Instruction.generalAuthenticate.rawValue, p1: p1, p2: p2,
                                                  data: TLV(tag: 0x7C, value: body).encoded, le: 256),
                                      instruction: .generalAuthenticate)
        guard step2.sw == 0x9000 else { throw PIVError.status(step2.sw, for: .generalAuthenticate, reference: 0x9B) }
        let response = try Self.dynamicAuthenticationField(step2.data, tag: 0x82, length: block, context: "management-key response")
        // Constant-time comparison of the card's answer with E_K(C).
        var diff: UInt8 = 0
        for (a, b) in zip(response, expected) { diff |= a ^ b }
        guard diff == 0 else { throw PIVError.authenticationFailed }
    }

    /// Replaces the management key (YubiKey SET MANAGEMENT KEY `00 FF FF FF`, data
    /// `alg ‖ 9B ‖ len ‖ key`). Needs a prior `authenticateManagementKey`.
    public func setManagementKey(_ key: SecureBytes, algorithm: ManagementKeyAlgorithm = .tripleDES) throws {
        guard key.count == algorithm.keyLength else {
            throw PIVError.invalidPINFormat(problem: "a management key for algorithm \(hex8(algorithm.rawValue)) has \(algorithm.keyLength) bytes, this one has \(key.count)")
        }
        var data = [algorithm.rawValue, PIVSlot.cardManagement.rawValue, UInt8(key.count)] + key.bytes
        defer { wipe(&data) }
        var command = CommandAPDU(ins: Instruction.setManagementKey.rawValue, p1: 0xFF, p2: 0xFF, data: data)
        defer { wipe(&command.data) }
        let r = try exchange.send(command, instruction: .setManagementKey)
        guard r.sw == 0x9000 else { throw PIVError.status(r.sw, for: .setManagementKey) }
        try Self.expectNoData(r, .setManagementKey)
    }

    // MARK: - GENERATE ASYMMETRIC KEY PAIR (Part 2 §3.3.2)

    /// Generates a key pair on the card. Needs the management key.
    /// - Parameters:
    ///   - pinPolicy, touchPolicy: the YubiKey extension tags `AA` and `AB` inside the `AC`
    ///     control template (Yubico's `ykpiv.h`; SP 800-73-4 leaves the PIN rule to the slot).
    ///     Nil sends nothing, and the card applies its default (9E: PIN never, touch never).
    /// - Returns: the public key, parsed from `7F49 {81 n, 82 e}` or `7F49 {86 point}`.
    public func generateKeyPair(slot: PIVSlot = .keyManagement, algorithm: PIVAlgorithm,
                                pinPolicy: PINPolicy? = nil, touchPolicy: TouchPolicy? = nil) throws -> PublicKey {
        var control = TLV(tag: 0x80, value: [algorithm.rawValue]).encoded
        if let pinPolicy { control += TLV(tag: 0xAA, value: [pinPolicy.rawValue]).encoded }
        if let touchPolicy { control += TLV(tag: 0xAB, value: [touchPolicy.rawValue]).encoded }
        let template = TLV(tag: 0xAC, value: control).encoded
        let r = try exchange.send(CommandAPDU(ins: Instruction.generateAsymmetricKeyPair.rawValue, p1: 0x00, p2: slot.rawValue,
                                              data: template, le: 256), instruction: .generateAsymmetricKeyPair)
        guard r.sw == 0x9000 else { throw PIVError.status(r.sw, for: .generateAsymmetricKeyPair) }
        let outer = try TLV.parseSingle(r.data, tag: 0x7F49, context: "GENERATE public key template")
        let fields = try TLV.children(of: outer.value, context: "GENERATE public key template")
        switch algorithm {
        case .rsa2048:
            guard fields.count == 2, let n = fields[0x81], let e = fields[0x82] else {
                throw PIVError.malformedResponse(problem: "GENERATE: an RSA key needs exactly tags 81 and 82")
            }
            guard n.count == algorithm.keyBytes, n[0] & 0x80 != 0 else {
                throw PIVError.malformedResponse(problem: "GENERATE: the RSA modulus has \(n.count) bytes, not a 2048-bit number")
            }
            guard (1...4).contains(e.count), e.last! & 1 == 1, e.reduce(0, { $0 << 8 | UInt32($1) }) >= 3 else {
                throw PIVError.malformedResponse(problem: "GENERATE: the RSA public exponent is not valid")
            }
            return try Self.publicKey { try PublicKey(rsaModulus: n, exponent: e) }
        case .eccP256, .eccP384:
            guard fields.count == 1, let point = fields[0x86] else {
                throw PIVError.malformedResponse(problem: "GENERATE: an EC key needs exactly tag 86")
            }
            return try Self.ecPublicKey(point, algorithm: algorithm, context: "GENERATE")
        }
    }

    // MARK: - Certificates (Part 1 §3.3.2 and Table 10: 70 cert, 71 CertInfo, FE EDC)

    /// Reads the DER certificate in `slot` (`53 {70 cert, 71 info, FE}`).
    /// - Throws: `.notFound` for an empty slot; `.malformedResponse` for a bad layout or a
    ///   compressed certificate (CertInfo bit 0), which this client does not inflate.
    public func readCertificate(slot: PIVSlot = .keyManagement) throws -> Certificate {
        guard let object = slot.certificateObject else { throw PIVError.notFound }
        let contents = try getData(object: object)
        if contents.isEmpty { throw PIVError.notFound }
        let fields = try TLV.children(of: contents, context: "certificate object")
        guard let der = fields[0x70], !der.isEmpty else {
            throw PIVError.malformedResponse(problem: "certificate object without a certificate (tag 70)")
        }
        if let info = fields[0x71] {
            guard info.count == 1 else { throw PIVError.malformedResponse(problem: "CertInfo (tag 71) must be one byte") }
            guard info[0] & 0x01 == 0 else { throw PIVError.unsupportedAlgorithm(algorithm: "the certificate on the card is compressed (CertInfo 01)") }
        }
        for tag in fields.keys where ![0x70, 0x71, 0xFE].contains(tag) {
            throw PIVError.malformedResponse(problem: "certificate object has unexpected tag \(TLV.tagName(tag))")
        }
        do { return try Certificate(der: der) } catch {
            throw PIVError.malformedResponse(problem: "the certificate in slot \(hex8(slot.rawValue)) is not valid DER X.509")
        }
    }

    /// Stores a certificate in `slot` as `70 cert, 71 00, FE 00`. Needs the management key.
    public func writeCertificate(_ certificate: Certificate, slot: PIVSlot = .keyManagement) throws {
        guard let object = slot.certificateObject else { throw PIVError.notFound }
        let contents = TLV(tag: 0x70, value: certificate.der).encoded + TLV(tag: 0x71, value: [0x00]).encoded
            + TLV(tag: 0xFE, value: []).encoded
        try putData(object: object, contents: contents)
    }

    // MARK: - Helpers shared with the key operations

    /// Parses `7C L { tag L value }` and checks the value length.
    static func dynamicAuthenticationField(_ data: [UInt8], tag: UInt32, length: Int, context: String) throws -> [UInt8] {
        try dynamicAuthenticationField(data, tag: tag, lengths: length...length, context: context)
    }

    /// Parses `7C L { tag L value }` and checks that the value length is in `lengths`.
    static func dynamicAuthenticationField(_ data: [UInt8], tag: UInt32, lengths: ClosedRange<Int>, context: String) throws -> [UInt8] {
        let outer = try TLV.parseSingle(data, tag: 0x7C, context: context)
        let fields = try TLV.children(of: outer.value, context: context)
        guard fields.count == 1, let value = fields[tag] else {
            throw PIVError.malformedResponse(problem: "\(context): expected only tag \(TLV.tagName(tag)) in the dynamic authentication template")
        }
        guard lengths.contains(value.count) else {
            let expected = lengths.count == 1 ? "\(lengths.lowerBound)" : "\(lengths.lowerBound) to \(lengths.upperBound)"
            throw PIVError.malformedResponse(problem: "\(context): \(value.count) bytes where \(expected) were expected")
        }
        return value
    }

    static func ecPublicKey(_ point: [UInt8], algorithm: PIVAlgorithm, context: String) throws -> PublicKey {
        guard point.count == algorithm.pointBytes, point.first == 0x04 else {
            throw PIVError.malformedResponse(problem: "\(context): the EC point has \(point.count) bytes, not an uncompressed \(algorithm) point")
        }
        return try publicKey { try PublicKey(ecPoint: point, curve: algorithm == .eccP256 ? .ecP256 : .ecP384) }
    }

    static func publicKey(_ make: () throws -> PublicKey) throws -> PublicKey {
        do { return try make() } catch { throw PIVError.malformedResponse(problem: "the card's public key is not valid: \(error)") }
    }
}

extension ManagementKeyAlgorithm {
    var blockCipher: BlockCipher {
        switch self {
        case .tripleDES: return .tripleDES
        case .aes128: return .aes128
        case .aes192: return .aes192
        case .aes256: return .aes256
        }
    }
}

func hex8(_ v: UInt8) -> String {
    let s = String(v, radix: 16, uppercase: true)
    return s.count == 1 ? "0" + s : s
}
