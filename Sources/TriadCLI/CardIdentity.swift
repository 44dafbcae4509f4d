import TriadCrypto

/// How a `piv:` identity gets its PIN and how careful it must be with the retry counter
/// (CONTRACT.md, "Identities and certificates"; DESIGN.md §5).
public struct PINOptions: Sendable {
    /// Read the PIN from this file descriptor instead of the terminal (`--pin-fd N`).
    public var pinFD: Int32?
    /// Spend the last remaining PIN try (`--allow-last-pin-try`); refused otherwise.
    public var allowLastPinTry: Bool
    public init(pinFD: Int32? = nil, allowLastPinTry: Bool = false) {
        self.pinFD = pinFD
        self.allowLastPinTry = allowLastPinTry
    }
}

/// Opens the card behind a `piv:` / `piv:READER` identity.
public enum CardIdentity {
    /// - Parameter readerSubstring: nil or empty picks the first reader holding a PIV card.
    /// - Returns: the card's slot 9D key, usable wherever a software key is.
    public static func open(readerSubstring: String?, pin: PINOptions) throws -> any PrivateKeyOperations {
        throw CardIdentityUnavailable()
    }
}

/// Thrown until the PIV client lands in this target (issue 3).
public struct CardIdentityUnavailable: Error, CustomStringConvertible {
    public var description: String { "smartcard identities (piv:) are not available in this build" }
}
