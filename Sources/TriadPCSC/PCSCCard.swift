import CPCSC

/// A connection to one card (`SCardConnect`), disconnected in `deinit`.
///
/// On disconnect the card is reset (`SCARD_RESET_CARD`), which clears the PIN-verified and
/// management-key-authenticated states on the card (SP 800-73-4 Part 2 §2.4: security status
/// indicators are volatile), so no other program inherits our login.
public final class PCSCCard: CardTransport, @unchecked Sendable {
    /// Keeps the context alive as long as the card handle.
    public let context: PCSCContext
    public let reader: String
    let handle: SCARDHANDLE
    let activeProtocol: DWORD
    private var inTransaction = false

    init(context: PCSCContext, handle: SCARDHANDLE, protocol: DWORD, reader: String) {
        self.context = context
        self.handle = handle
        self.activeProtocol = `protocol`
        self.reader = reader
    }

    deinit {
        if inTransaction { _ = SCardEndTransaction(handle, DWORD(SCARD_LEAVE_CARD)) }
        _ = SCardDisconnect(handle, DWORD(SCARD_RESET_CARD))
    }

    /// The negotiated protocol: "T=0" or "T=1".
    public var protocolName: String { activeProtocol == DWORD(SCARD_PROTOCOL_T0) ? "T=0" : "T=1" }

    /// Sends one APDU with `SCardTransmit`. Extended-length APDUs go out as they are; the
    /// PIV layer only produces short ones (chaining instead), as every PIV reader supports.
    /// The encoded command (which may hold a PIN) is wiped afterwards.
    public func transmit(_ apdu: CommandAPDU) throws -> ResponseAPDU {
        var command = try apdu.encoded()
        defer { for i in command.indices { command[i] = 0 } }
        var pci = SCARD_IO_REQUEST(dwProtocol: activeProtocol, cbPciLength: DWORD(MemoryLayout<SCARD_IO_REQUEST>.size))
        var buffer = [UInt8](repeating: 0, count: 65548) // MAX_BUFFER_SIZE_EXTENDED (pcsclite.h)
        defer { for i in buffer.indices { buffer[i] = 0 } }
        var length = DWORD(buffer.count)
        let rc = SCardTransmit(handle, &pci, command, DWORD(command.count), nil, &buffer, &length)
        try PCSCError.check(rc, "SCardTransmit")
        guard let response = ResponseAPDU(raw: Array(buffer.prefix(Int(length)))) else {
            // Fewer than two status bytes: the reader stack lost the answer.
            throw PCSCError(code: Int(SCARD_E_COMM_DATA_LOST), function: "SCardTransmit")
        }
        return response
    }

    /// Brackets `body` with `SCardBeginTransaction` / `SCardEndTransaction(SCARD_LEAVE_CARD)`.
    /// Nested calls join the outer transaction.
    public func withTransaction<T>(_ body: () throws -> T) throws -> T {
        if inTransaction { return try body() }
        try PCSCError.check(SCardBeginTransaction(handle), "SCardBeginTransaction")
        inTransaction = true
        defer {
            inTransaction = false
            _ = SCardEndTransaction(handle, DWORD(SCARD_LEAVE_CARD))
        }
        return try body()
    }

    /// The card's ATR and whether it is still present (`SCardStatus`).
    public func status() throws -> (present: Bool, atr: [UInt8]) {
        var state: DWORD = 0
        var proto: DWORD = 0
        var atr = [UInt8](repeating: 0, count: Int(MAX_ATR_SIZE))
        var atrLength = DWORD(atr.count)
        var nameLength: DWORD = 0
        let rc = SCardStatus(handle, nil, &nameLength, &state, &proto, &atr, &atrLength)
        try PCSCError.check(rc, "SCardStatus")
        let flags = UInt32(truncatingIfNeeded: state) & 0xFFFF
        return (flags & UInt32(SCARD_PRESENT) != 0, Array(atr.prefix(Int(atrLength))))
    }
}
