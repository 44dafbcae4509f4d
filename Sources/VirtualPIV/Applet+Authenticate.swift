import TriadCrypto
import ISO7816

/// GENERAL AUTHENTICATE (SP 800-73-4 Part 2 §3.2.4): the dynamic authentication template
/// `7C` with witness `80`, challenge `81`, response `82` and exponentiation `85`.
extension VirtualPIVApplet {
    static let managementKeyReference: UInt8 = 0x9B

    mutating func generalAuthenticate(_ apdu: CommandAPDU) -> Reply {
        guard let outer = try? TLV.parseAll(apdu.data), outer.count == 1, outer[0].tag == 0x7C,
              let template = try? TLV.parseAll(outer[0].value) else {
            return .status(.incorrectData)
        }
        if apdu.p2 == Self.managementKeyReference {
            return authenticateManagementKey(algorithm: apdu.p1, template: template)
        }
        guard PIVSlot.asymmetric.contains(apdu.p2) else { return .status(.referenceNotFound) }
        return privateKeyOperation(slot: apdu.p2, algorithm: apdu.p1, template: template)
    }

    /// Card-management key (9B) authentication, Part 2 Appendix A.1:
    /// - mutual: `80 00` → `80 E(W)`; then `80 W, 81 C` → `82 E(C)` and admin status;
    /// - external: `81 00` → `81 C`; then `82 E(C)` → admin status.
    /// The algorithm byte must be the key's, else `6A86` (ykpiv reads it from GET METADATA).
    mutating func authenticateManagementKey(algorithm: UInt8, template: [TLV]) -> Reply {
        let cipher = state.managementAlgorithm
        guard algorithm == cipher.pivAlgorithmID else {
            pendingWitness = nil; pendingChallenge = nil
            return .status(.incorrectP1P2)
        }
        let witness = template.value(0x80), challenge = template.value(0x81), response = template.value(0x82)
        do {
            if let witness, witness.isEmpty, challenge == nil {
                let w = SecureRandom.bytes(count: cipher.blockSize)
                pendingWitness = w
                pendingChallenge = nil
                let encrypted = try cipher.encryptBlock(w, key: state.managementKey)
                return .ok(TLV(tag: 0x7C, value: TLV(tag: 0x80, value: encrypted).encoded).encoded)
            }
            if let witness, !witness.isEmpty, let challenge, !challenge.isEmpty {
                let expected = pendingWitness
                pendingWitness = nil
                guard let expected, constantTimeEquals(expected, witness) else {
                    adminAuthenticated = false
                    return .status(.securityStatusNotSatisfied)
                }
                guard challenge.count == cipher.blockSize else { return .status(.incorrectData) }
                adminAuthenticated = true
                let answer = try cipher.encryptBlock(challenge, key: state.managementKey)
                return .ok(TLV(tag: 0x7C, value: TLV(tag: 0x82, value: answer).encoded).encoded)
            }
            if let challenge, challenge.isEmpty, witness == nil {
                let c = SecureRandom.bytes(count: cipher.blockSize)
                pendingChallenge = c
                pendingWitness = nil
                return .ok(TLV(tag: 0x7C, value: TLV(tag: 0x81, value: c).encoded).encoded)
            }
            if let response, !response.isEmpty, witness == nil, challenge == nil {
                let c = pendingChallenge
                pendingChallenge = nil
                guard let c, response.count == cipher.blockSize,
                      constantTimeEquals(try cipher.encryptBlock(c, key: state.managementKey), response) else {
                    adminAuthenticated = false
                    return .status(.securityStatusNotSatisfied)
                }
                adminAuthenticated = true
                return .ok()
            }
        } catch {
            return .status(.noPreciseDiagnosis)
        }
        return .status(.incorrectData)
    }

    /// Private-key operations on 9A/9C/9D/9E, all of which need the PIN except 9E (Card
    /// Authentication, Part 1 Table 4b). 9C is "PIN always": each signature needs its own VERIFY
    /// (the PIN status itself stays for the other slots).
    /// - RSA: `82 00, 81 <modulus-sized block>` → `82 <raw c^d mod n>`; the client removes
    ///   PKCS#1/OAEP padding (Part 2 Appendix A.3).
    /// - EC key agreement: `82 00, 85 <peer point>` → `82 Z` (x-coordinate, Appendix A.5).
    /// - ECDSA: `82 00, 81 <hash>` → `82 <DER signature>`.
    mutating func privateKeyOperation(slot: UInt8, algorithm: UInt8, template: [TLV]) -> Reply {
        guard let slotKey = state.keys[slot] else { return .status(.referenceNotFound) }
        guard algorithm == slotKey.algorithm else { return .status(.incorrectP1P2) }
        guard let response = template.value(0x82), response.isEmpty else { return .status(.incorrectData) }
        if slot != PIVSlot.cardAuthentication && slotKey.pinPolicy != PIVSlot.pinPolicyNever {
            guard pinVerified else { return .status(.securityStatusNotSatisfied) }
            if slot == PIVSlot.digitalSignature || slotKey.pinPolicy == PIVSlot.pinPolicyAlways {
                guard pinAlwaysToken else { return .status(.securityStatusNotSatisfied) }
                pinAlwaysToken = false
            }
        }
        guard let key = try? PrivateKey(pkcs8DER: slotKey.pkcs8) else { return .status(.memoryFailure) }
        var result: SecureBytes
        do {
            if let point = template.value(0x85) {
                guard let curve = PIVAlgorithm.keyAlgorithm(algorithm), curve.isEC,
                      point.count == curve.ecPointByteCount else { return .status(.incorrectData) }
                result = try key.ecdh(with: PublicKey(ecPoint: point, curve: curve))
            } else if let input = template.value(0x81) {
                if case let .rsa(bits)? = PIVAlgorithm.keyAlgorithm(algorithm) {
                    guard input.count == bits / 8 else { return .status(.incorrectData) }
                    result = try key.rsaRawPrivate(input)
                } else {
                    result = SecureBytes(try key.signDigest(input))
                }
            } else {
                return .status(.incorrectData)
            }
        } catch {
            return .status(.incorrectData)
        }
        var bytes = result.bytes
        defer { wipe(&bytes) }
        return .ok(TLV(tag: 0x7C, value: TLV(tag: 0x82, value: bytes).encoded).encoded)
    }
}

/// Key references of the asymmetric slots (SP 800-73-4 Part 1 Table 4b) and the YubiKey
/// policy values stored with them.
enum PIVSlot {
    static let authentication: UInt8 = 0x9A
    static let digitalSignature: UInt8 = 0x9C
    static let keyManagement: UInt8 = 0x9D
    static let cardAuthentication: UInt8 = 0x9E
    static let asymmetric: Set<UInt8> = [0x9A, 0x9C, 0x9D, 0x9E]
    static let pinPolicyNever: UInt8 = 1
    static let pinPolicyAlways: UInt8 = 3
}

/// PIV algorithm identifiers (SP 800-78-4 Table 6-2) mapped onto TriadCrypto's algorithms.
enum PIVAlgorithm {
    static func keyAlgorithm(_ id: UInt8) -> KeyAlgorithm? {
        switch id {
        case 0x07: return .rsa(bits: 2048)
        case 0x11: return .ecP256
        case 0x14: return .ecP384
        default: return nil
        }
    }
}
