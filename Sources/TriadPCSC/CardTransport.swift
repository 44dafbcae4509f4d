import ISO7816

/// Something that moves one APDU to a card and one response back.
///
/// The PIV client is written against this protocol only (go-piv/piv-go keeps its PC/SC
/// binding apart from the PIV protocol the same way), so it runs over pcscd through
/// `PCSCCard`, or in unit tests over an in-process applet or a hostile fake.
///
/// A transport does exactly one exchange per `transmit`: no chaining, no GET RESPONSE.
public protocol CardTransport: AnyObject {
    /// Where the card sits, for messages: the PC/SC reader name (`Virtual PCD 00 01`).
    var reader: String { get }

    /// Sends one command APDU and returns the card's response.
    /// - Throws: the transport's own error (`PCSCError` for pcscd).
    func transmit(_ apdu: CommandAPDU) throws -> ResponseAPDU

    /// Runs `body` while no other client can talk to the card (PC/SC
    /// `SCardBeginTransaction` … `SCardEndTransaction`), so that VERIFY and the key
    /// operation that depends on it cannot be interleaved with another program's commands.
    func withTransaction<T>(_ body: () throws -> T) throws -> T
}

extension CardTransport {
    /// Transports without a reader (an in-process card) describe themselves generically.
    public var reader: String { "in-process card" }
}
