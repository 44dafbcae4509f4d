import TriadCrypto
import TriadPCSC
import ISO7816

/// Private-key operations through GENERAL AUTHENTICATE (SP 800-73-4 Part 2 §3.2.4).
/// The PIN must be verified in the same card session (for 9C immediately before each
/// operation); `PIVKeyOperations` arranges that.
extension PIVClient {
    /// The raw RSA private operation `input^d mod n` (Part 2 Appendix A.2 signature and A.3
    /// key transport): the card returns the full-length block; padding is added (signing) or
    /// removed (key transport) in software (TriadCrypto).
    ///
    /// Request `7C 82 01 06 {82 00, 81 82 01 00 input}`, chained in 255-byte chunks.
    /// - Returns: the 256-byte raw result, in `SecureBytes`.
    public func rsaRawOperation(_ input: [UInt8], slot: PIVSlot = .keyManagement, algorithm: PIVAlgorithm = .rsa2048) throws -> SecureBytes {
        guard algorithm == .rsa2048 else { throw PIVError.unsupportedAlgorithm(algorithm: "RSA decryption needs an RSA key, the card key is \(algorithm)") }
        guard input.count == algorithm.keyBytes else {
            throw PIVError.unsupportedAlgorithm(algorithm: "RSA input has \(input.count) bytes; the card's RSA-2048 key takes exactly \(algorithm.keyBytes)")
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
        guard algorithm != .rsa2048 else { throw PIVError.unsupportedAlgorithm(algorithm: "ECDH needs an EC key, the card key is RSA") }
        guard peerPoint.count == algorithm.pointBytes, peerPoint.first == 0x04 else {
            throw PIVError.unsupportedAlgorithm(algorithm: "the peer key does not match the card's \(algorithm) key")
        }
        let body = TLV(tag: 0x82, value: []).encoded + TLV(tag: 0x85, value: peerPoint).encoded
        let r = try exchange.send(CommandAPDU(ins: Instruction.generalAuthenticate.rawValue, p1: algorithm.rawValue, p2: slot.rawValue,
                                              data: TLV(tag: 0x7C, value: body).encoded, le: 256),
                                  instruction: .generalAuthenticate)
        return try Self.keyOperationResult(r, length: algorithm.keyBytes, slot: slot, context: "ECDH")
    }

    /// ECDSA signature of a hash the host computed (Part 2 Appendix A.4): the card signs the
    /// digest as it is (truncating it to the curve's order length as ECDSA does) and returns
    /// the DER `SEQUENCE { r, s }` (RFC 3279 §2.2.3).
    ///
    /// Request `7C L {82 00, 81 L digest}`; response `7C L {82 L signature}`. Only the shape is
    /// checked here (a DER SEQUENCE no longer than the curve allows); `PIVKeyOperations`
    /// verifies every signature with the slot's public key before returning it.
    public func signDigest(_ digest: [UInt8], slot: PIVSlot = .signature, algorithm: PIVAlgorithm) throws -> [UInt8] {
        guard algorithm != .rsa2048 else {
            throw PIVError.unsupportedAlgorithm(algorithm: "ECDSA needs an EC key, the card key is RSA; RSA signs with rsaRawOperation")
        }
        guard (1...64).contains(digest.count) else {
            throw PIVError.unsupportedAlgorithm(algorithm: "a digest of \(digest.count) bytes cannot be signed")
        }
        let body = TLV(tag: 0x82, value: []).encoded + TLV(tag: 0x81, value: digest).encoded
        let r = try exchange.send(CommandAPDU(ins: Instruction.generalAuthenticate.rawValue, p1: algorithm.rawValue, p2: slot.rawValue,
                                              data: TLV(tag: 0x7C, value: body).encoded, le: 256),
                                  instruction: .generalAuthenticate)
        guard r.sw == 0x9000 else { throw PIVError.status(r.sw, for: .generalAuthenticate, reference: slot.rawValue) }
        let context = "ECDSA signature"
        let signature = try Self.dynamicAuthenticationField(r.data, tag: 0x82, lengths: 8...algorithm.maximumECDSASignatureBytes,
                                                            context: context)
        // SEQUENCE of two INTEGERs spanning the whole value.
        let sequence = try TLV.parseSingle(signature, tag: 0x30, context: context)
        let integers: [TLV]
        do { integers = try TLV.parseAll(sequence.value) } catch let error as TLVError { throw PIVError.malformedResponse(problem: "\(context): \(error)") }
        guard integers.count == 2, integers.allSatisfy({ $0.tag == 0x02 && !$0.value.isEmpty }) else {
            throw PIVError.malformedResponse(problem: "\(context): not a DER SEQUENCE of two INTEGERs")
        }
        return signature
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
    /// The name SP 800-78-4 uses, e.g. "ECC P-256".
    public var description: String {
        switch self {
        case .rsa2048: return "RSA-2048"
        case .eccP256: return "ECC P-256"
        case .eccP384: return "ECC P-384"
        }
    }
}
