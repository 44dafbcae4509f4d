internal import CPCSC

/// Watches one reader for its card leaving (`SCardGetStatusChange`), for `zone mount`
/// (docs/mount.md §7): the mount's keys must be wiped within a second of the card leaving.
///
/// The wait blocks in pcscd until the reader's state changes (no timeout by default: an idle
/// mount uses no CPU); `cancel()` (`SCardCancel`) ends it from another thread. A card pulled
/// and put back still counts as a removal: pcscd's event counter (the upper 16 bits of the
/// event state) moves.
public final class ReaderWatch: @unchecked Sendable {
    /// The reader watched.
    public let reader: String
    private let context: PCSCContext

    /// Watches `reader` through a PC/SC context of its own.
    public init(reader: String) throws {
        self.reader = reader
        context = try PCSCContext()
    }

    /// Blocks until the card in the reader is gone (or the reader itself is), or `shouldStop`
    /// returns true. Returns true for a removal, false when stopped.
    /// `pollMilliseconds` bounds each call in pcscd (`UInt32.max`: no bound, the default);
    /// a cancelled call returns to the `shouldStop` check.
    public func waitForRemoval(pollMilliseconds: UInt32 = .max, shouldStop: () -> Bool) throws -> Bool {
        try reader.withCString { name in
            var state = SCARD_READERSTATE()
            state.szReader = name
            state.dwCurrentState = DWORD(SCARD_STATE_UNAWARE)
            var firstEvents: DWORD?
            while !shouldStop() {
                let rc = SCardGetStatusChange(context.handle, DWORD(pollMilliseconds), &state, 1)
                if rc == SCARD_E_TIMEOUT || rc == SCARD_E_CANCELLED { continue }
                if rc == SCARD_E_UNKNOWN_READER || rc == SCARD_E_NO_READERS_AVAILABLE { return true }
                try PCSCError.check(rc, "SCardGetStatusChange")
                let flags = UInt32(truncatingIfNeeded: state.dwEventState) & 0xFFFF
                let events = state.dwEventState >> 16
                if flags & UInt32(SCARD_STATE_PRESENT) == 0 || flags & UInt32(SCARD_STATE_MUTE) != 0
                    || flags & UInt32(SCARD_STATE_UNAVAILABLE) != 0 || flags & UInt32(SCARD_STATE_UNKNOWN) != 0 {
                    return true
                }
                if let first = firstEvents, events != first { return true }
                if firstEvents == nil { firstEvents = events }
                state.dwCurrentState = state.dwEventState & ~DWORD(SCARD_STATE_CHANGED)
            }
            return false
        }
    }

    /// Ends a `waitForRemoval` blocked in pcscd (from any thread): it then asks its
    /// `shouldStop` again. A call not yet in pcscd is not affected, so callers repeat it until
    /// the waiting thread has returned.
    public func cancel() {
        _ = SCardCancel(context.handle)
    }

    /// The first reader whose name contains `substring` (case-insensitive; any reader when
    /// nil) that holds a card now: the reader a `piv:` identity was just opened in.
    public static func readerHoldingCard(matching substring: String?) throws -> String? {
        let context = try PCSCContext()
        for reader in try context.readers() {
            if let s = substring, !s.isEmpty, !reader.lowercased().contains(s.lowercased()) { continue }
            if (try? context.state(of: reader).isCardPresent) == true { return reader }
        }
        return nil
    }
}
