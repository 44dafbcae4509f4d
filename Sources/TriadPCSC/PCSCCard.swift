internal import CPCSC
import Glibc
import ISO7816

/// A connection to one card (`SCardConnect`), disconnected in `deinit`.
///
/// On disconnect the card is reset (`SCARD_RESET_CARD`), which clears the PIN-verified and
/// management-key-authenticated states on the card (SP 800-73-4 Part 2 §2.4: security status
/// indicators are volatile), so no other program inherits our login.
public final class PCSCCard: CardTransport, @unchecked Sendable {
    /// Keeps the context alive as long as the card handle.
    public let context: PCSCContext
    /// The PC/SC name of the reader holding the card.
    public let reader: String
    let handle: SCARDHANDLE
    private(set) var activeProtocol: DWORD
    let shareMode: DWORD
    private var inTransaction = false
    /// True between the start of a transaction and its first successful exchange: a reset
    /// reported there happened before our transaction and is recovered by reconnecting.
    private var pristine = false

    init(context: PCSCContext, handle: SCARDHANDLE, protocol: DWORD, reader: String, shareMode: DWORD) {
        self.context = context
        self.handle = handle
        self.activeProtocol = `protocol`
        self.reader = reader
        self.shareMode = shareMode
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
        var rc = SCardTransmit(handle, &pci, command, DWORD(command.count), nil, &buffer, &length)
        if rc == SCARD_W_RESET_CARD && pristine {
            // Another program reset the card before our transaction began (pcsc-lite reports
            // it on our next call). Nothing of ours was lost: reconnect and send again.
            try reconnect()
            pci.dwProtocol = activeProtocol
            length = DWORD(buffer.count)
            rc = SCardTransmit(handle, &pci, command, DWORD(command.count), nil, &buffer, &length)
        }
        if rc != SCARD_S_SUCCESS { throw classifyTransmitFailure(rc) }
        pristine = false
        guard let response = ResponseAPDU(raw: Array(buffer.prefix(Int(length)))) else {
            // Fewer than two status bytes: the reader stack lost the answer (vpcd does this
            // when the card's socket closes mid-exchange). Was the card pulled?
            throw classifyTransmitFailure(LONG(SCARD_E_COMM_DATA_LOST))
        }
        return response
    }

    /// pcscd answers a transmit to a card that has just vanished with a reader error
    /// (`SCARD_E_NOT_TRANSACTED`, `SCARD_F_COMM_ERROR`) until its presence poll (every 400 ms,
    /// pcsc-lite `PCSCLITE_STATUS_POLL_RATE`) notices the removal. Ask `SCardStatus` for up to
    /// a second so that a pulled card is reported as removed rather than as a vague error.
    private func classifyTransmitFailure(_ rc: LONG) -> PCSCError {
        let original = PCSCError(code: Int(rc), function: "SCardTransmit")
        guard original.kind == .other else { return original }
        for _ in 0..<10 {
            do {
                if try !status().present { return PCSCError(code: Int(SCARD_W_REMOVED_CARD), function: "SCardTransmit") }
            } catch let error as PCSCError {
                return error.kind == .other ? original : error
            } catch {
                return original
            }
            usleep(100_000)
        }
        return original
    }

    /// Brackets `body` with `SCardBeginTransaction` / `SCardEndTransaction(SCARD_LEAVE_CARD)`.
    /// Nested calls join the outer transaction.
    public func withTransaction<T>(_ body: () throws -> T) throws -> T {
        if inTransaction { return try body() }
        var rc = SCardBeginTransaction(handle)
        if rc == SCARD_W_RESET_CARD {
            try reconnect()
            rc = SCardBeginTransaction(handle)
        }
        try PCSCError.check(rc, "SCardBeginTransaction")
        inTransaction = true
        pristine = true
        defer {
            inTransaction = false
            pristine = false
            _ = SCardEndTransaction(handle, DWORD(SCARD_LEAVE_CARD))
        }
        return try body()
    }

    /// Re-establishes the connection after a reset (`SCardReconnect`, leaving the card as is).
    public func reconnect() throws {
        var proto: DWORD = 0
        try PCSCError.check(SCardReconnect(handle, shareMode, DWORD(SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1), DWORD(SCARD_LEAVE_CARD), &proto),
                            "SCardReconnect")
        activeProtocol = proto
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
