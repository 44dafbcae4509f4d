import TriadCrypto
import TriadPCSC

/// A PIV card's key in one slot, usable wherever a software key is: as TriadCrypto
/// `PrivateKeyOperations` (ECDH, raw RSA — slot 9D opens what a key file opens) and as
/// `SigningKeyOperations` (slot 9C "digital signature" and 9E "card authentication" sign
/// what a key file signs). See docs/piv-client.md "Key operations and the PIN".
///
/// The PIN rule, for slots that need a PIN (`PIVSlot.requiresPIN`: 9A, 9C, 9D):
/// - before the PIN is first asked for, the retry counter is read (empty VERIFY, SP 800-73-4
///   Part 2 §3.2.1) and handed to the PIN prompt, which shows it;
/// - a blocked PIN, or a single try left without `allowLastPinTry`, is refused before the
///   card sees a PIN;
/// - every key operation is one PC/SC transaction: SELECT, the retry-counter check, VERIFY,
///   GENERAL AUTHENTICATE — the PIN-verified state cannot leak to, or be reset by, another
///   program in between, and 9C's "PIN always" (VERIFY right before each signature,
///   Part 1 §3.1.2) holds;
/// - the PIN is asked once per instance (one command run) and kept in `SecureBytes`;
/// - never retried: after a failed VERIFY the instance refuses every further operation with
///   the same error, without touching the card. A new attempt needs a new instance.
///
/// Slot 9E needs no PIN (Part 1 §3.1.4): each operation is SELECT and GENERAL AUTHENTICATE
/// in one transaction, and the PIN prompt is never called.
///
/// Every signature is verified with the certificate's public key before it is returned, so a
/// card whose key does not match its certificate, or a faulty RSA computation, never yields a
/// signature (`PIVError.invalidSignature`).
public final class PIVKeyOperations: PrivateKeyOperations, SigningKeyOperations {
    /// The key that checks this slot's signatures and receives its wraps: the certificate's.
    public let publicKey: PublicKey
    /// The certificate read from the slot; its public key is the card key's.
    public let certificate: Certificate
    /// The slot the key is in.
    public let slot: PIVSlot
    /// The key's algorithm, from the certificate.
    public let algorithm: PIVAlgorithm
    /// Whether the last PIN try may be spent (`--allow-last-pin-try`).
    public let allowLastPinTry: Bool
    let client: PIVClient
    /// Asks a person (or reads `--pin-fd`) for the PIN; gets the tries left (`nil` when the
    /// card already counts the PIN as verified and gives no number).
    let askPIN: ((_ triesLeft: Int?) throws -> SecureBytes)?
    private var pin: SecureBytes?
    private var failure: PIVError?

    /// Reads the slot's certificate (one transaction: SELECT, GET DATA).
    /// - Parameters:
    ///   - slot: 9D (default) to unwrap, 9C or 9E to sign, 9A for either.
    ///   - askPIN: called once, at the first operation that needs the PIN; may be nil for 9E.
    /// - Throws: `PIVError` — `.noPIVApplet`, `.notFound` (no certificate in the slot),
    ///   `.unsupportedAlgorithm`, `.cardRemoved`, `.malformedResponse`, `.pinUnavailable`.
    public init(transport: CardTransport, slot: PIVSlot = .keyManagement, allowLastPinTry: Bool = false,
                askPIN: ((_ triesLeft: Int?) throws -> SecureBytes)?) throws {
        guard slot != .cardManagement else { throw PIVError.unsupportedAlgorithm(algorithm: "slot 9B holds the management key, not a key pair") }
        guard askPIN != nil || !slot.requiresPIN else { throw PIVError.pinUnavailable(slot: slot.rawValue) }
        let client = PIVClient(transport: transport)
        let certificate: Certificate = try Self.mapped {
            try transport.withTransaction {
                try client.select()
                return try client.readCertificate(slot: slot)
            }
        }
        switch certificate.publicKey.algorithm {
        case .rsa(bits: 2048): algorithm = .rsa2048
        case .ecP256: algorithm = .eccP256
        case .ecP384: algorithm = .eccP384
        case let other: throw PIVError.unsupportedAlgorithm(algorithm: "the certificate in slot \(hex8(slot.rawValue)) holds an \(other) key")
        }
        self.client = client
        self.certificate = certificate
        self.publicKey = certificate.publicKey
        self.slot = slot
        self.allowLastPinTry = allowLastPinTry
        self.askPIN = askPIN
    }

    /// The card this key is on.
    public var transport: CardTransport { client.transport }

    // MARK: - PrivateKeyOperations

    /// ECDH with the card key (GENERAL AUTHENTICATE, tag 85): Z, the shared x-coordinate.
    public func ecdh(with peer: PublicKey) throws -> SecureBytes {
        guard peer.algorithm == publicKey.algorithm, let point = peer.ecPoint else {
            throw PIVError.unsupportedAlgorithm(algorithm: "ECDH between the card's \(publicKey.algorithm) key and a \(peer.algorithm) key")
        }
        return try withCardSession { client in try client.ecdh(peerPoint: point, slot: slot, algorithm: algorithm) }
    }

    /// The raw RSA private operation on the card (GENERAL AUTHENTICATE, tag 81, chained).
    /// Shorter input is left-padded with zeros to the modulus length, as for software keys.
    public func rsaRawPrivate(_ input: [UInt8]) throws -> SecureBytes {
        guard algorithm == .rsa2048 else {
            throw PIVError.unsupportedAlgorithm(algorithm: "raw RSA on the card's \(publicKey.algorithm) key")
        }
        guard input.count <= algorithm.keyBytes else {
            throw PIVError.unsupportedAlgorithm(algorithm: "RSA input of \(input.count) bytes is longer than the card's modulus")
        }
        let block = [UInt8](repeating: 0, count: algorithm.keyBytes - input.count) + input
        return try withCardSession { client in try client.rsaRawOperation(block, slot: slot, algorithm: algorithm) }
    }

    // MARK: - SigningKeyOperations

    /// Signs `message`: the host hashes it with the scheme's hash; an EC card key signs the
    /// digest (Part 2 Appendix A.4), an RSA card key applies the raw operation to the block
    /// the host padded (EMSA-PSS or EMSA-PKCS1-v1_5, RFC 8017 §9; Appendix A.2). The result is
    /// verified with the certificate's public key before it is returned.
    /// - Throws: `PIVError` — `.unsupportedAlgorithm` for a scheme that does not fit the
    ///   key, the PIN errors, `.invalidSignature`, transport errors.
    public func sign(_ message: [UInt8], scheme: SignatureScheme) throws -> [UInt8] {
        guard scheme.isCompatible(with: publicKey.algorithm) else {
            throw PIVError.unsupportedAlgorithm(algorithm: "signature scheme \(scheme.rawValue) with the card's \(publicKey.algorithm) key")
        }
        let digest = scheme.digest(message)
        let signature: [UInt8]
        if scheme.isECDSA {
            signature = try withCardSession { client in try client.signDigest(digest, slot: slot, algorithm: algorithm) }
        } else {
            let block: [UInt8]
            do { block = try publicKey.rsaSignatureBlock(digest: digest, scheme: scheme) } catch {
                throw PIVError.unsupportedAlgorithm(algorithm: "RSA signature padding: \(error)")
            }
            signature = try withCardSession { client in try client.rsaRawOperation(block, slot: slot, algorithm: algorithm) }.bytes
        }
        guard publicKey.verify(signature: signature, for: message, scheme: scheme) else {
            throw PIVError.invalidSignature(slot: slot.rawValue)
        }
        return signature
    }

    // MARK: - The PIN

    /// The PIN's retry counter now (one transaction: SELECT, empty VERIFY); spends no try.
    public func pinStatus() throws -> PIVClient.PINStatus {
        try Self.mapped { try client.transport.withTransaction { try client.select(); return try client.pinStatus() } }
    }

    /// Asks for the PIN (unless this instance has it already) and verifies it on the card
    /// now, in a transaction of its own, so that a wrong PIN shows at the step where it was
    /// typed rather than at the first signature. Same rules as every operation: the counter
    /// first, a blocked PIN or an unallowed last try refused, never retried. Nothing for 9E.
    public func verifyPIN() throws {
        _ = try withCardSession { _ in () }
    }

    /// Runs `operation` in one transaction after SELECT and, when the slot needs the PIN, the
    /// retry-counter check and VERIFY.
    func withCardSession<T>(_ operation: (PIVClient) throws -> T) throws -> T {
        if let failure { throw failure }
        guard slot.requiresPIN else {
            return try Self.mapped { try client.transport.withTransaction { try client.select(); return try operation(client) } }
        }
        if pin == nil {
            // Look at the counter first, outside the transaction that will use the PIN, so that
            // no transaction is held open while a person types.
            let tries = try admissible(try pinStatus())
            guard let askPIN else { throw PIVError.pinUnavailable(slot: slot.rawValue) }
            pin = try askPIN(tries)
        }
        guard let pin else { throw PIVError.invalidPINFormat(problem: "no PIN was given") }
        return try Self.mapped {
            try client.transport.withTransaction {
                try client.select()
                _ = try admissible(try client.pinStatus())
                do {
                    try client.verifyPIN(pin)
                } catch let error as PIVError {
                    // Never retry: this instance is done, and the PIN is dropped.
                    self.pin = nil
                    self.failure = error
                    throw error
                }
                return try operation(client)
            }
        }
    }

    /// Refuses a blocked PIN and, unless allowed, the last try.
    /// - Returns: the tries left, or nil when the card says the PIN is already verified.
    private func admissible(_ status: PIVClient.PINStatus) throws -> Int? {
        switch status {
        case .verified: return nil
        case .blocked: throw PIVError.pinBlocked
        case .triesLeft(let n):
            if n <= 1 && !allowLastPinTry { throw PIVError.lastPinTryRefused }
            return n
        }
    }

    /// Runs `body` and turns any transport error into a `PIVError`.
    static func mapped<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch { throw PIVError.transport(error) }
    }
}
