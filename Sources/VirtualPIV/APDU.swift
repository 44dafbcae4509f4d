/// A command APDU as ISO/IEC 7816-4 §5.1 defines it (short and extended length forms).
///
/// The virtual card sees APDUs exactly as clients send them through pcscd and vpcd
/// (vpcd passes bytes through unchanged, research/piv.md §5), so every case form must be
/// accepted: case 1 (`00 20 00 80`, OpenSC's empty VERIFY on T=1), case 2
/// (`00 20 00 80 00`, ykpiv), case 3 (ykpiv 2.2.0 sends GENERAL AUTHENTICATE without Le)
/// and case 4.
public struct CommandAPDU: Equatable, Sendable {
    public var cla: UInt8
    public var ins: UInt8
    public var p1: UInt8
    public var p2: UInt8
    public var data: [UInt8]
    /// Expected response length; nil when absent. A short Le of `00` means 256.
    public var le: Int?

    public init(cla: UInt8, ins: UInt8, p1: UInt8, p2: UInt8, data: [UInt8] = [], le: Int? = nil) {
        self.cla = cla; self.ins = ins; self.p1 = p1; self.p2 = p2; self.data = data; self.le = le
    }

    /// Parses raw bytes; nil when the length fields do not add up (the card answers `6700`).
    public init?(bytes b: [UInt8]) {
        guard b.count >= 4 else { return nil }
        cla = b[0]; ins = b[1]; p1 = b[2]; p2 = b[3]
        data = []; le = nil
        let body = Array(b.dropFirst(4))
        switch body.count {
        case 0:
            return
        case 1:
            le = body[0] == 0 ? 256 : Int(body[0])
            return
        default:
            break
        }
        if body[0] != 0 {
            // Short case 3 or 4.
            let lc = Int(body[0])
            if body.count == 1 + lc {
                data = Array(body[1...])
            } else if body.count == 2 + lc {
                data = Array(body[1...lc])
                le = body[lc + 1] == 0 ? 256 : Int(body[lc + 1])
            } else {
                return nil
            }
            return
        }
        // Extended forms start with a 00 byte.
        if body.count == 3 {
            let n = Int(body[1]) << 8 | Int(body[2])
            le = n == 0 ? 65536 : n
            return
        }
        guard body.count >= 3 else { return nil }
        let lc = Int(body[1]) << 8 | Int(body[2])
        guard lc > 0 else { return nil }
        if body.count == 3 + lc {
            data = Array(body[3...])
        } else if body.count == 5 + lc {
            data = Array(body[3..<(3 + lc)])
            let n = Int(body[3 + lc]) << 8 | Int(body[4 + lc])
            le = n == 0 ? 65536 : n
        } else {
            return nil
        }
    }

    /// True when CLA bit 5 (`0x10`) announces that more chunks of this command follow
    /// (ISO/IEC 7816-4 §5.1.1.1 command chaining).
    public var isChained: Bool { cla & 0x10 != 0 }
}

/// ISO 7816-4 and SP 800-73-4 Part 2 §2.3 (Table 6) status words the card answers with.
public enum StatusWord: UInt16, Sendable {
    case success = 0x9000
    case wrongLength = 0x6700
    case securityStatusNotSatisfied = 0x6982
    case authenticationMethodBlocked = 0x6983
    case conditionsOfUseNotSatisfied = 0x6985
    case incorrectData = 0x6A80
    case functionNotSupported = 0x6A81
    case fileNotFound = 0x6A82
    case notEnoughMemory = 0x6A84
    case incorrectP1P2 = 0x6A86
    case referenceNotFound = 0x6A88
    case memoryFailure = 0x6581
    case instructionNotSupported = 0x6D00
    case classNotSupported = 0x6E00
    case noPreciseDiagnosis = 0x6F00

    public var bytes: [UInt8] { [UInt8(rawValue >> 8), UInt8(rawValue & 0xFF)] }
}

/// `63Cx`: verification failed, x tries left (SP 800-73-4 Part 2 §3.2.1).
func triesLeftSW(_ n: Int) -> [UInt8] { [0x63, 0xC0 | UInt8(min(max(n, 0), 15))] }

/// The outcome of one command before response chunking: data plus status word.
struct Reply {
    var data: [UInt8]
    var sw: [UInt8]

    static func ok(_ data: [UInt8] = []) -> Reply { Reply(data: data, sw: StatusWord.success.bytes) }
    static func status(_ sw: StatusWord) -> Reply { Reply(data: [], sw: sw.bytes) }
    static func raw(_ sw: [UInt8]) -> Reply { Reply(data: [], sw: sw) }
}
