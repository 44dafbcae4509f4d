import TriadCrypto
import TriadPCSC

/// A PIV card's key (slot 9D by default) as a TriadCrypto `PrivateKeyOperations`, so a card
/// opens anything a software key opens (DESIGN.md §3, §5).
///
/// The PIN rule (DESIGN.md §5, CONTRACT.md "Identities"):
/// - before the PIN is first asked for, the retry counter is read (empty VERIFY, SP 800-73-4
///   Part 2 §3.2.1) and handed to the PIN prompt, which shows it;
/// - a blocked PIN, or a single try left without `allowLastPinTry`, is refused before the
///   card sees a PIN;
/// - every key operation is one PC/SC transaction: SELECT, the retry-counter check, VERIFY,
///   GENERAL AUTHENTICATE — the PIN-verified state cannot leak to, or be reset by, another
///   program in between;
/// - the PIN is asked once per instance (one command run) and kept in `SecureBytes`;
/// - never retried: after a failed VERIFY the instance refuses every further operation with
///   the same error, without touching the card.
public final class PIVKeyOperations: PrivateKeyOperations {
    public let publicKey: PublicKey
    /// The certificate read from the slot; its public key is the card key's.
    public let certificate: Certificate
    public let slot: PIVSlot
    public let algorithm: PIVAlgorithm
    public let allowLastPinTry: Bool
    let client: PIVClient
    /// Asks a person (or reads `--pin-fd`) for the PIN; gets the tries left (`nil` when the
    /// card already counts the PIN as verified and gives no number).
    let askPIN: (_ triesLeft: Int?) throws -> SecureBytes
    private var pin: SecureBytes?
    private var failure: PIVError?

    /// Reads the slot's certificate (one transaction: SELECT, GET DATA).
    /// - Throws: `PIVError` — `.noPIVApplet`, `.notFound` (no certificate in the slot),
    ///   `.unsupportedAlgorithm`, `.cardRemoved`, `.malformedResponse`.
    public init(transport: CardTransport, slot: PIVSlot = .keyManagement, allowLastPinTry: Bool = false,
                askPIN: @escaping (_ triesLeft: Int?) throws -> SecureBytes) throws {
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
        case let other: throw PIVError.unsupportedAlgorithm("the certificate in slot \(hex8(slot.rawValue)) holds an \(other) key")
        }
        self.client = client
        self.certificate = certificate
        self.publicKey = certificate.publicKey
        self.slot = slot
        self.allowLastPinTry = allowLastPinTry
        self.askPIN = askPIN
    }

    /// ECDH with the card key (GENERAL AUTHENTICATE, tag 85): Z, the shared x-coordinate.
    public func ecdh(with peer: PublicKey) throws -> SecureBytes {
        guard peer.algorithm == publicKey.algorithm, let point = peer.ecPoint else {
            throw PIVError.unsupportedAlgorithm("ECDH between the card's \(publicKey.algorithm) key and a \(peer.algorithm) key")
        }
        return try withVerifiedPIN { client in try client.ecdh(peerPoint: point, slot: slot, algorithm: algorithm) }
    }

    /// The raw RSA private operation on the card (GENERAL AUTHENTICATE, tag 81, chained).
    /// Shorter input is left-padded with zeros to the modulus length, as for software keys.
    public func rsaRawPrivate(_ input: [UInt8]) throws -> SecureBytes {
        guard algorithm == .rsa2048 else {
            throw PIVError.unsupportedAlgorithm("raw RSA on the card's \(publicKey.algorithm) key")
        }
        guard input.count <= algorithm.keyBytes else {
            throw PIVError.unsupportedAlgorithm("RSA input of \(input.count) bytes is longer than the card's modulus")
        }
        let block = [UInt8](repeating: 0, count: algorithm.keyBytes - input.count) + input
        return try withVerifiedPIN { client in try client.rsaDecrypt(block, slot: slot, algorithm: algorithm) }
    }

    /// Runs `operation` in one transaction after SELECT, the retry-counter check and VERIFY.
    func withVerifiedPIN(_ operation: (PIVClient) throws -> SecureBytes) throws -> SecureBytes {
        if let failure { throw failure }
        if pin == nil {
            // Look at the counter first, outside the transaction that will use the PIN, so that
            // no transaction is held open while a person types.
            let status = try Self.mapped { try client.transport.withTransaction { try client.select(); return try client.pinStatus() } }
            let tries = try admissible(status)
            pin = try askPIN(tries)
        }
        guard let pin else { throw PIVError.invalidPINFormat("no PIN was given") }
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
