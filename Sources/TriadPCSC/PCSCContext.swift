internal import CPCSC

/// A pcsc-lite resource-manager context (`SCardEstablishContext`), released in `deinit`.
///
/// One context per command run is enough; cards connected through it keep it alive.
public final class PCSCContext: @unchecked Sendable {
    let handle: SCARDCONTEXT

    /// Connects to pcscd.
    /// - Throws: `PCSCError` with kind `.noService` when pcscd is not running.
    public init() throws {
        var ctx: SCARDCONTEXT = 0
        try PCSCError.check(SCardEstablishContext(DWORD(SCARD_SCOPE_SYSTEM), nil, nil, &ctx), "SCardEstablishContext")
        handle = ctx
    }

    deinit {
        _ = SCardReleaseContext(handle)
    }

    /// The names of the attached readers, in pcscd's order; empty when there are none.
    public func readers() throws -> [String] {
        var length: DWORD = 0
        var rc = SCardListReaders(handle, nil, nil, &length)
        if rc == SCARD_E_NO_READERS_AVAILABLE { return [] }
        try PCSCError.check(rc, "SCardListReaders")
        guard length > 0, length < 1 << 20 else { return [] }
        var buffer = [CChar](repeating: 0, count: Int(length))
        rc = SCardListReaders(handle, nil, &buffer, &length)
        if rc == SCARD_E_NO_READERS_AVAILABLE { return [] }
        try PCSCError.check(rc, "SCardListReaders")
        // A multi-string: names separated by NUL, ending with an empty name.
        var names: [String] = []
        var current: [UInt8] = []
        for c in buffer.prefix(Int(length)) {
            if c == 0 {
                if current.isEmpty { break }
                names.append(String(decoding: current, as: UTF8.self))
                current.removeAll()
            } else {
                current.append(UInt8(bitPattern: c))
            }
        }
        return names
    }

    /// What a reader reports right now (`SCardGetStatusChange` with `SCARD_STATE_UNAWARE`).
    public struct ReaderState: Equatable, Sendable {
        /// The reader this state is about.
        public let reader: String
        /// `SCARD_STATE_*` flags, lower 16 bits only (the upper ones count events).
        public let flags: UInt32
        /// The card's Answer-To-Reset, empty without a card.
        public let atr: [UInt8]
        /// A card is in the reader and answers (present, not mute).
        public var isCardPresent: Bool { flags & UInt32(SCARD_STATE_PRESENT) != 0 && flags & UInt32(SCARD_STATE_MUTE) == 0 }
        /// Another program holds the card exclusively.
        public var isExclusive: Bool { flags & UInt32(SCARD_STATE_EXCLUSIVE) != 0 }
    }

    /// Reads the current state of `reader` without waiting.
    public func state(of reader: String) throws -> ReaderState {
        try reader.withCString { name in
            var state = SCARD_READERSTATE()
            state.szReader = name
            state.dwCurrentState = DWORD(SCARD_STATE_UNAWARE)
            let rc = SCardGetStatusChange(handle, 0, &state, 1)
            // SCARD_E_TIMEOUT just means "no change relative to UNAWARE" on some versions.
            if rc != SCARD_E_TIMEOUT { try PCSCError.check(rc, "SCardGetStatusChange") }
            let atr = withUnsafeBytes(of: state.rgbAtr) { Array($0.prefix(min(Int(state.cbAtr), 33))) }
            return ReaderState(reader: reader, flags: UInt32(truncatingIfNeeded: state.dwEventState) & 0xFFFF, atr: atr)
        }
    }

    /// Waits up to `timeoutMilliseconds` for `reader` to hold a card.
    /// - Returns: true when a card is present.
    public func waitForCard(in reader: String, timeoutMilliseconds: UInt32) throws -> Bool {
        try reader.withCString { name in
            var state = SCARD_READERSTATE()
            state.szReader = name
            state.dwCurrentState = DWORD(SCARD_STATE_UNAWARE)
            var remaining = Int(timeoutMilliseconds)
            while true {
                let rc = SCardGetStatusChange(handle, DWORD(min(remaining, 200)), &state, 1)
                if rc != SCARD_E_TIMEOUT { try PCSCError.check(rc, "SCardGetStatusChange") }
                let flags = UInt32(truncatingIfNeeded: state.dwEventState) & 0xFFFF
                if flags & UInt32(SCARD_STATE_PRESENT) != 0 && flags & UInt32(SCARD_STATE_MUTE) == 0 { return true }
                remaining -= 200
                if remaining <= 0 { return false }
                state.dwCurrentState = state.dwEventState
            }
        }
    }

    /// How to share the card with other clients (`SCARD_SHARE_*`).
    public enum ShareMode: Sendable {
        /// Other programs may use the card between our transactions (yubico-piv-tool, OpenSC).
        case shared
        /// Nobody else may connect while we hold the handle (a whole ceremony).
        case exclusive
        var value: DWORD { self == .shared ? DWORD(SCARD_SHARE_SHARED) : DWORD(SCARD_SHARE_EXCLUSIVE) }
    }

    /// Connects to the card in `reader` with T=1 or T=0, whichever the card offers.
    public func connect(reader: String, share: ShareMode = .shared) throws -> PCSCCard {
        var card: SCARDHANDLE = 0
        var protocolInUse: DWORD = 0
        let rc = reader.withCString { name in
            SCardConnect(handle, name, share.value, DWORD(SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1), &card, &protocolInUse)
        }
        try PCSCError.check(rc, "SCardConnect")
        return PCSCCard(context: self, handle: card, protocol: protocolInUse, reader: reader, shareMode: share.value)
    }
}
