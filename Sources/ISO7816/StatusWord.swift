/// The two status bytes SW1‖SW2 that end every response (ISO/IEC 7816-4 §5.6, Tables 5
/// and 6), with the values PIV uses named as SP 800-73-4 Part 2 §3 and its Table 6 name them.
///
/// A status word is a number (`0x9000`): integer literals and ranges work as they do for
/// `UInt16`, so `r.sw == 0x9000` and `case 0x63C1...0x63CF` read as the specifications print
/// them.
public struct StatusWord: RawRepresentable, Hashable, Comparable, Sendable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    /// SW1‖SW2 as one number, e.g. `0x9000`.
    public var rawValue: UInt16

    /// The status word with this value.
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    /// `0x6A82` written where a status word is expected.
    public init(integerLiteral value: UInt16) { rawValue = value }
    /// The status word of the two bytes as they arrive.
    public init(sw1: UInt8, sw2: UInt8) { rawValue = UInt16(sw1) << 8 | UInt16(sw2) }

    /// The first status byte.
    public var sw1: UInt8 { UInt8(rawValue >> 8) }
    /// The second status byte.
    public var sw2: UInt8 { UInt8(rawValue & 0xFF) }
    /// SW1 SW2 as they travel on the wire.
    public var bytes: [UInt8] { [sw1, sw2] }

    /// Four upper-case hex digits, as the specifications print status words (`6A82`).
    public var description: String {
        let s = String(rawValue, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - s.count)) + s
    }

    /// Numeric order, so ranges such as `0x63C1...0x63CF` work.
    public static func < (lhs: StatusWord, rhs: StatusWord) -> Bool { lhs.rawValue < rhs.rawValue }

    // MARK: Normal processing (ISO 7816-4 Table 5)

    /// `9000`: normal processing, no further qualification.
    public static let success: StatusWord = 0x9000

    /// `61xx`: `xx` more response bytes wait for GET RESPONSE (`00` means 256 or more).
    public static func moreDataAvailable(_ count: Int) -> StatusWord {
        StatusWord(sw1: 0x61, sw2: UInt8(min(max(count, 0), 256) & 0xFF))
    }

    /// For `61xx`, the number of bytes waiting (1…256); nil for other status words.
    public var bytesAvailable: Int? { sw1 == 0x61 ? (sw2 == 0 ? 256 : Int(sw2)) : nil }

    /// For `6Cxx` (wrong Le), the Le to repeat the command with (1…256); nil otherwise.
    public var correctLe: Int? { sw1 == 0x6C ? (sw2 == 0 ? 256 : Int(sw2)) : nil }

    /// `63Cx`: verification failed, `x` tries left (SP 800-73-4 Part 2 §3.2.1; 0…15).
    public static func verificationFailed(triesLeft n: Int) -> StatusWord {
        StatusWord(sw1: 0x63, sw2: 0xC0 | UInt8(min(max(n, 0), 15)))
    }

    // MARK: Errors (ISO 7816-4 Table 6; SP 800-73-4 Part 2 Table 6)

    /// `6581`: memory failure (the card could not store a change).
    public static let memoryFailure: StatusWord = 0x6581
    /// `6700`: wrong length (the length fields do not add up).
    public static let wrongLength: StatusWord = 0x6700
    /// `6982`: security status not satisfied (PIN or management key needed).
    public static let securityStatusNotSatisfied: StatusWord = 0x6982
    /// `6983`: authentication method blocked (retry counter at 0).
    public static let authenticationMethodBlocked: StatusWord = 0x6983
    /// `6985`: conditions of use not satisfied.
    public static let conditionsOfUseNotSatisfied: StatusWord = 0x6985
    /// `6A80`: incorrect parameters in the command data field.
    public static let incorrectData: StatusWord = 0x6A80
    /// `6A81`: function not supported.
    public static let functionNotSupported: StatusWord = 0x6A81
    /// `6A82`: file or application not found (no such data object, no PIV application).
    public static let fileNotFound: StatusWord = 0x6A82
    /// `6A84`: not enough memory space in the file.
    public static let notEnoughMemory: StatusWord = 0x6A84
    /// `6A86`: incorrect parameters P1-P2.
    public static let incorrectP1P2: StatusWord = 0x6A86
    /// `6A88`: referenced data or reference data not found (no key in the slot).
    public static let referenceNotFound: StatusWord = 0x6A88
    /// `6D00`: instruction code not supported or invalid.
    public static let instructionNotSupported: StatusWord = 0x6D00
    /// `6E00`: class not supported.
    public static let classNotSupported: StatusWord = 0x6E00
    /// `6F00`: no precise diagnosis.
    public static let noPreciseDiagnosis: StatusWord = 0x6F00
}
