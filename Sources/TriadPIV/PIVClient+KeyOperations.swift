import TriadCrypto
import TriadPCSC

/// Private-key operations through GENERAL AUTHENTICATE (SP 800-73-4 Part 2 §3.2.4).
/// The PIN must be verified in the same card session; `PIVKeyOperations` arranges that.
extension PIVClient {
    /// RSA key transport (Part 2 Appendix A.3): the card computes `c^d mod n` and returns the
    /// full-length, still padded block; padding is removed in software (TriadCrypto).
    ///
    /// Request `7C 82 01 06 {82 00, 81 82 01 00 c}`, chained in 255-byte chunks.
    /// - Returns: the 256-byte raw result, in `SecureBytes`.
    public func rsaDecrypt(_ input: [UInt8], slot: PIVSlot = .keyManagement, algorithm: PIVAlgorithm = .rsa2048) throws -> SecureBytes {
        guard algorithm == .rsa2048 else { throw PIVError.unsupportedAlgorithm("RSA decryption needs an RSA key, the card key is \(algorithm)") }
        guard input.count == algorithm.keyBytes else {
            throw PIVError.unsupportedAlgorithm("RSA input has \(input.count) bytes; the card's RSA-2048 key takes exactly \(algorithm.keyBytes)")
        }
        let body = TLV(tag: 0x82, value: []).encoded + TLV(tag: 0x81, value: input).encoded
        let r = try exchange.send(CommandAPDU(ins: Instruction.generalAuthenticate.rawValue, p1: algorithm.rawValue, p2: slot.rawValue,
                                              data: TLV(tag: 0x7C, value: body).encoded, le: 256),
                                  instruction: .generalAuthenticate)
        return try Self.keyOperationResult(r, length: algorithm.keyBytes, slot: slot, context: "RSA decryption")
    }

    /// ECDH key agreement (Part 2 Appendix A.4, ECC CDH of SP 800-56A §5.7.1.2): the card
    /// returns the x-coordinate Z of d·Q. `peerPoint` is the uncompressed point `04 ‖ X ‖ Y`.
    ///
    /// Request `7C L {82 00, 85 L point}`; response `7C L {82 L Z}`.
    public func ecdh(peerPoint: [UInt8], slot: PIVSlot = .keyManagement, algorithm: PIVAlgorithm) throws -> SecureBytes {
        guard algorithm != .rsa2048 else { throw PIVError.unsupportedAlgorithm("ECDH needs an EC key, the card key is RSA") }
        guard peerPoint.count == algorithm.pointBytes, peerPoint.first == 0x04 else {
            throw PIVError.unsupportedAlgorithm("the peer key does not match the card's \(algorithm) key")
        }
        let body = TLV(tag: 0x82, value: []).encoded + TLV(tag: 0x85, value: peerPoint).encoded
        let r = try exchange.send(CommandAPDU(ins: Instruction.generalAuthenticate.rawValue, p1: algorithm.rawValue, p2: slot.rawValue,
                                              data: TLV(tag: 0x7C, value: body).encoded, le: 256),
                                  instruction: .generalAuthenticate)
        return try Self.keyOperationResult(r, length: algorithm.keyBytes, slot: slot, context: "ECDH")
    }

    /// Checks the status word and pulls the `82` response out of `7C`, wiping the copies.
    static func keyOperationResult(_ r: ResponseAPDU, length: Int, slot: PIVSlot, context: String) throws -> SecureBytes {
        var response = r
        defer { wipe(&response.data) }
        guard r.sw == 0x9000 else { throw PIVError.status(r.sw, for: .generalAuthenticate, reference: slot.rawValue) }
        var value = try dynamicAuthenticationField(response.data, tag: 0x82, length: length, context: context)
        defer { wipe(&value) }
        return SecureBytes(value)
    }
}

extension PIVAlgorithm: CustomStringConvertible {
    public var description: String {
        switch self {
        case .rsa2048: return "RSA-2048"
        case .eccP256: return "ECC P-256"
        case .eccP384: return "ECC P-384"
        }
    }
}
