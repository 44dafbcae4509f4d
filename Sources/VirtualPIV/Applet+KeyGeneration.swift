import TriadCrypto
import ISO7816

/// GENERATE ASYMMETRIC KEY PAIR (SP 800-73-4 Part 2 §3.3.2). The private key is made on
/// the card (OpenSSL's CSPRNG inside this process), stored in the state file, and never
/// leaves the card through any APDU; only the public key is returned.
extension VirtualPIVApplet {
    mutating func generateKeyPair(_ apdu: CommandAPDU) -> Reply {
        guard apdu.p1 == 0x00, PIVSlot.asymmetric.contains(apdu.p2) else { return .status(.incorrectP1P2) }
        guard adminAuthenticated else { return .status(.securityStatusNotSatisfied) }
        guard let outer = try? TLV.parseAll(apdu.data), outer.count == 1, outer[0].tag == 0xAC,
              let control = try? TLV.parseAll(outer[0].value),
              let mechanism = control.value(0x80), mechanism.count == 1 else {
            return .status(.incorrectData)
        }
        guard let algorithm = PIVAlgorithm.keyAlgorithm(mechanism[0]) else { return .status(.incorrectData) }
        let pinPolicy = control.value(0xAA)?.first ?? 0
        let touchPolicy = control.value(0xAB)?.first ?? 0
        let key: PrivateKey
        let slotKey: VirtualCardState.SlotKey
        do {
            key = try PrivateKey.generate(algorithm)
            slotKey = .init(algorithm: mechanism[0], pkcs8: try key.pkcs8DER(), origin: 1,
                            pinPolicy: pinPolicy, touchPolicy: touchPolicy)
        } catch {
            return .status(.noPreciseDiagnosis)
        }
        guard let publicTemplate = Self.publicKeyTemplate(key.publicKey) else { return .status(.noPreciseDiagnosis) }
        guard mutateState({ $0.keys[apdu.p2] = slotKey }) else { return .status(.memoryFailure) }
        return .ok(TLV(tag: 0x7F49, value: publicTemplate).encoded)
    }

    /// The content of the `7F49` public key template (Part 2 Table 10): RSA `81` modulus,
    /// `82` exponent; EC `86` uncompressed point. ykpiv's parser needs exactly this order
    /// and, for EC, the one-byte outer length it produces (ykpiv util.c `ykpiv_util_generate_key`).
    static func publicKeyTemplate(_ key: PublicKey) -> [UInt8]? {
        switch key.algorithm {
        case let .rsa(bits):
            guard let n = key.rsaModulus, let e = key.rsaExponent else { return nil }
            let size = bits / 8
            let modulus = n.count >= size ? Array(n.suffix(size)) : [UInt8](repeating: 0, count: size - n.count) + n
            return TLV(tag: 0x81, value: modulus).encoded + TLV(tag: 0x82, value: e).encoded
        case .ecP256, .ecP384:
            guard let point = key.ecPoint else { return nil }
            return TLV(tag: 0x86, value: point).encoded
        }
    }
}
