internal import CPCSC

/// A failed pcsc-lite call, named after the `SCARD_*` return code so that a log line or an
/// error message can be looked up in pcsc-lite's `pcsclite.h` directly.
///
/// The layers above only need to tell a handful of situations apart (no service, no reader,
/// no card, card removed or reset, timeout, someone else holds the card); `kind` gives that
/// classification, `code` keeps the raw value.
public struct PCSCError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The situations a caller acts on differently.
    public enum Kind: Equatable, Sendable {
        /// pcscd is not running (`SCARD_E_NO_SERVICE`, `SCARD_E_SERVICE_STOPPED`).
        case noService
        /// No reader is attached, or the named one is gone (`SCARD_E_NO_READERS_AVAILABLE`,
        /// `SCARD_E_UNKNOWN_READER`, `SCARD_E_READER_UNAVAILABLE`).
        case noReader
        /// The reader is empty (`SCARD_E_NO_SMARTCARD`).
        case noCard
        /// The card was pulled (or its virtual card process died) while we held a handle
        /// (`SCARD_W_REMOVED_CARD`, `SCARD_W_UNPOWERED_CARD`, `SCARD_W_UNRESPONSIVE_CARD`).
        case cardRemoved
        /// Another client reset the card; its security state (PIN verified) is gone
        /// (`SCARD_W_RESET_CARD`).
        case cardReset
        /// A wait ran out (`SCARD_E_TIMEOUT`).
        case timeout
        /// Another application holds the card exclusively (`SCARD_E_SHARING_VIOLATION`).
        case sharingViolation
        /// Anything else: a bug on our side or in the reader stack.
        case other
    }

    /// The raw `LONG` returned by pcsc-lite.
    public let code: Int
    /// The pcsc-lite function that returned it.
    public let function: String

    /// The error `code` returned by the pcsc-lite `function`.
    public init(code: Int, function: String) {
        self.code = code
        self.function = function
    }

    /// The `SCARD_*` name of `code`, or its hex value when unknown.
    public var name: String { PCSCError.names[UInt32(truncatingIfNeeded: code)] ?? "0x" + String(UInt32(truncatingIfNeeded: code), radix: 16, uppercase: true) }

    /// The situation `code` stands for.
    public var kind: Kind {
        switch UInt32(truncatingIfNeeded: code) {
        case 0x8010_001D, 0x8010_001E: return .noService
        case 0x8010_002E, 0x8010_0009, 0x8010_0017: return .noReader
        case 0x8010_000C: return .noCard
        case 0x8010_0069, 0x8010_0067, 0x8010_0066: return .cardRemoved
        case 0x8010_0068: return .cardReset
        case 0x8010_000A: return .timeout
        case 0x8010_000B: return .sharingViolation
        default: return .other
        }
    }

    /// The function, the `SCARD_*` name and what to do.
    public var description: String {
        switch kind {
        case .noService: return "\(function) failed: \(name): pcscd is not running; start it (systemctl start pcscd)"
        case .noReader: return "\(function) failed: \(name): no smartcard reader is available; attach the reader"
        case .noCard: return "\(function) failed: \(name): the reader holds no card; insert the card"
        case .cardRemoved: return "\(function) failed: \(name): the card was removed; insert it again and repeat the step"
        case .cardReset: return "\(function) failed: \(name): another program reset the card; repeat the step"
        case .timeout: return "\(function) failed: \(name): the card did not answer in time; reinsert it and repeat the step"
        case .sharingViolation: return "\(function) failed: \(name): another program holds the card exclusively; close it and repeat the step"
        case .other: return "\(function) failed: \(name)"
        }
    }

    /// Turns a pcsc-lite return code into a thrown error; `SCARD_S_SUCCESS` passes.
    @inline(__always)
    static func check(_ rc: LONG, _ function: String) throws {
        if rc != SCARD_S_SUCCESS { throw PCSCError(code: Int(rc), function: function) }
    }

    /// Names from pcsc-lite's `pcsclite.h`.
    static let names: [UInt32: String] = [
        0x8010_0001: "SCARD_F_INTERNAL_ERROR", 0x8010_0002: "SCARD_E_CANCELLED",
        0x8010_0003: "SCARD_E_INVALID_HANDLE", 0x8010_0004: "SCARD_E_INVALID_PARAMETER",
        0x8010_0005: "SCARD_E_INVALID_TARGET", 0x8010_0006: "SCARD_E_NO_MEMORY",
        0x8010_0007: "SCARD_F_WAITED_TOO_LONG", 0x8010_0008: "SCARD_E_INSUFFICIENT_BUFFER",
        0x8010_0009: "SCARD_E_UNKNOWN_READER", 0x8010_000A: "SCARD_E_TIMEOUT",
        0x8010_000B: "SCARD_E_SHARING_VIOLATION", 0x8010_000C: "SCARD_E_NO_SMARTCARD",
        0x8010_000D: "SCARD_E_UNKNOWN_CARD", 0x8010_000E: "SCARD_E_CANT_DISPOSE",
        0x8010_000F: "SCARD_E_PROTO_MISMATCH", 0x8010_0010: "SCARD_E_NOT_READY",
        0x8010_0011: "SCARD_E_INVALID_VALUE", 0x8010_0012: "SCARD_E_SYSTEM_CANCELLED",
        0x8010_0013: "SCARD_F_COMM_ERROR", 0x8010_0014: "SCARD_F_UNKNOWN_ERROR",
        0x8010_0015: "SCARD_E_INVALID_ATR", 0x8010_0016: "SCARD_E_NOT_TRANSACTED",
        0x8010_0017: "SCARD_E_READER_UNAVAILABLE", 0x8010_0019: "SCARD_E_PCI_TOO_SMALL",
        0x8010_001A: "SCARD_E_READER_UNSUPPORTED", 0x8010_001B: "SCARD_E_DUPLICATE_READER",
        0x8010_001C: "SCARD_E_CARD_UNSUPPORTED", 0x8010_001D: "SCARD_E_NO_SERVICE",
        0x8010_001E: "SCARD_E_SERVICE_STOPPED", 0x8010_001F: "SCARD_E_UNSUPPORTED_FEATURE",
        0x8010_0020: "SCARD_E_ICC_INSTALLATION", 0x8010_0021: "SCARD_E_ICC_CREATEORDER",
        0x8010_0023: "SCARD_E_DIR_NOT_FOUND", 0x8010_0024: "SCARD_E_FILE_NOT_FOUND",
        0x8010_0025: "SCARD_E_NO_DIR", 0x8010_0026: "SCARD_E_NO_FILE",
        0x8010_0027: "SCARD_E_NO_ACCESS", 0x8010_0028: "SCARD_E_WRITE_TOO_MANY",
        0x8010_0029: "SCARD_E_BAD_SEEK", 0x8010_002A: "SCARD_E_INVALID_CHV",
        0x8010_002B: "SCARD_E_UNKNOWN_RES_MNG", 0x8010_002C: "SCARD_E_NO_SUCH_CERTIFICATE",
        0x8010_002D: "SCARD_E_CERTIFICATE_UNAVAILABLE", 0x8010_002E: "SCARD_E_NO_READERS_AVAILABLE",
        0x8010_002F: "SCARD_E_COMM_DATA_LOST", 0x8010_0030: "SCARD_E_NO_KEY_CONTAINER",
        0x8010_0031: "SCARD_E_SERVER_TOO_BUSY",
        0x8010_0065: "SCARD_W_UNSUPPORTED_CARD", 0x8010_0066: "SCARD_W_UNRESPONSIVE_CARD",
        0x8010_0067: "SCARD_W_UNPOWERED_CARD", 0x8010_0068: "SCARD_W_RESET_CARD",
        0x8010_0069: "SCARD_W_REMOVED_CARD", 0x8010_006A: "SCARD_W_SECURITY_VIOLATION",
        0x8010_006B: "SCARD_W_WRONG_CHV", 0x8010_006C: "SCARD_W_CHV_BLOCKED",
        0x8010_006D: "SCARD_W_EOF", 0x8010_006E: "SCARD_W_CANCELLED_BY_USER",
        0x8010_006F: "SCARD_W_CARD_NOT_AUTHENTICATED",
    ]
}
