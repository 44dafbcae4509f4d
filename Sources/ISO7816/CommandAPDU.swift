/// ISO/IEC 7816-4 §5.1 command APDU: a header (CLA INS P1 P2), optional command data and an
/// optional expected response length (Le).
///
/// One value type for both ends of the wire: the PIV client encodes it (`encoded()`), the
/// virtual card parses it (`init?(bytes:)`). Command chaining, `61xx` GET RESPONSE loops and
/// `6Cxx` retries live above it (TriadPIV's `APDUExchange`, VirtualPIV's applet), in one
/// place each.
///
/// `data` may carry a PIN or key material; callers that put secrets here wipe their copy
/// after the exchange, and TriadPCSC's `PCSCCard` wipes the encoded buffer after transmitting.
public struct CommandAPDU: Equatable, Sendable {
    /// Class byte; bit 5 (`10`) announces that more chunks of a chained command follow.
    public var cla: UInt8
    /// Instruction byte.
    public var ins: UInt8
    /// Parameter bytes.
    public var p1: UInt8
    /// Second parameter byte.
    public var p2: UInt8
    /// Command data (Lc bytes); empty for ISO cases 1 and 2.
    public var data: [UInt8]
    /// Expected response length: `nil` = no Le field (ISO cases 1 and 3); 1…65536 otherwise,
    /// where 256 (short) or 65536 (extended) encode as `00` / `00 00`.
    public var le: Int?

    /// A command; CLA `00`, no data and no Le unless given.
    public init(cla: UInt8 = 0x00, ins: UInt8, p1: UInt8, p2: UInt8, data: [UInt8] = [], le: Int? = nil) {
        self.cla = cla
        self.ins = ins
        self.p1 = p1
        self.p2 = p2
        self.data = data
        self.le = le
    }

    /// True when CLA bit 5 (`10`) announces that more chunks of this command follow
    /// (ISO/IEC 7816-4 §5.1.1.1 command chaining).
    public var isChained: Bool { cla & 0x10 != 0 }

    /// True when the short encoding cannot express this command (Lc > 255 or Le > 256).
    public var needsExtendedLength: Bool { data.count > 255 || (le ?? 0) > 256 }

    /// Encodes as a short APDU when possible, else as an extended one (ISO 7816-4 §5.1).
    /// - Throws: `APDUEncodingError.tooLong` when the data or Le exceed even the extended
    ///   encoding.
    public func encoded() throws -> [UInt8] {
        guard data.count <= 65535, (le ?? 1) >= 1, (le ?? 1) <= 65536 else {
            throw APDUEncodingError.tooLong(dataCount: data.count, le: le)
        }
        var out: [UInt8] = [cla, ins, p1, p2]
        out.reserveCapacity(4 + 3 + data.count + 3)
        if !needsExtendedLength {
            if !data.isEmpty {
                out.append(UInt8(data.count))
                out.append(contentsOf: data)
            }
            if let le { out.append(UInt8(truncatingIfNeeded: le == 256 ? 0 : le)) }
            return out
        }
        // Extended: a 00 marker, then 2-byte Lc and/or 2-byte Le.
        out.append(0x00)
        if !data.isEmpty {
            out.append(UInt8(data.count >> 8))
            out.append(UInt8(data.count & 0xFF))
            out.append(contentsOf: data)
        }
        if let le {
            let v = le == 65536 ? 0 : le
            out.append(UInt8(v >> 8))
            out.append(UInt8(v & 0xFF))
        }
        return out
    }

    /// Parses raw bytes in any of the four cases, short or extended (ISO 7816-4 §5.1,
    /// Table 1): case 1 `00 20 00 80`, case 2 `00 20 00 80 00`, case 3 (data, no Le) and
    /// case 4. `nil` when the length fields do not add up (a card answers `6700`).
    public init?(bytes b: [UInt8]) {
        guard b.count >= 4 else { return nil }
        self.init(cla: b[0], ins: b[1], p1: b[2], p2: b[3])
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
        // Extended forms start with a 00 byte and need two more length bytes.
        guard body.count >= 3 else { return nil }
        if body.count == 3 {
            let n = Int(body[1]) << 8 | Int(body[2])
            le = n == 0 ? 65536 : n
            return
        }
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
}

/// Raised when a `CommandAPDU` cannot be encoded at all.
public enum APDUEncodingError: Error, Equatable, Sendable {
    /// More than 65,535 data bytes, or an Le outside 1…65536.
    case tooLong(dataCount: Int, le: Int?)
}
