/// ISO/IEC 7816-4 §5.1 command APDU: a header (CLA INS P1 P2), optional command data and an
/// optional expected response length (Le).
///
/// This type only encodes one APDU; command chaining, `61xx` GET RESPONSE loops and `6Cxx`
/// retries live above the transport (TriadPIV's `APDUExchange`), in one place.
///
/// `data` may carry a PIN or key material; callers that put secrets here wipe their copy
/// after the exchange, and `PCSCCard` wipes the encoded buffer after `SCardTransmit`.
public struct CommandAPDU: Equatable, Sendable {
    public var cla: UInt8
    public var ins: UInt8
    public var p1: UInt8
    public var p2: UInt8
    public var data: [UInt8]
    /// Expected response length: `nil` = no Le field (ISO case 1/3); 1…65536 otherwise, where
    /// 256 (short) or 65536 (extended) encode as `00` / `00 00`.
    public var le: Int?

    public init(cla: UInt8 = 0x00, ins: UInt8, p1: UInt8, p2: UInt8, data: [UInt8] = [], le: Int? = nil) {
        self.cla = cla
        self.ins = ins
        self.p1 = p1
        self.p2 = p2
        self.data = data
        self.le = le
    }

    /// True when the short encoding cannot express this command (Lc > 255 or Le > 256).
    public var needsExtendedLength: Bool { data.count > 255 || (le ?? 0) > 256 }

    /// Encodes as a short APDU when possible, else as an extended one (ISO 7816-4 §5.1).
    /// Throws when the data or Le are larger than even the extended encoding allows.
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
}

/// Raised when a `CommandAPDU` cannot be encoded at all.
public enum APDUEncodingError: Error, Equatable, Sendable {
    case tooLong(dataCount: Int, le: Int?)
}

/// ISO/IEC 7816-4 §5.1 response APDU: response data followed by the two status bytes.
public struct ResponseAPDU: Equatable, Sendable {
    public var data: [UInt8]
    public var sw1: UInt8
    public var sw2: UInt8

    public init(data: [UInt8], sw1: UInt8, sw2: UInt8) {
        self.data = data
        self.sw1 = sw1
        self.sw2 = sw2
    }

    public init(data: [UInt8] = [], sw: UInt16) {
        self.init(data: data, sw1: UInt8(sw >> 8), sw2: UInt8(sw & 0xFF))
    }

    /// Splits raw bytes from the reader; `nil` when fewer than the two status bytes arrived.
    public init?(raw: [UInt8]) {
        guard raw.count >= 2 else { return nil }
        self.init(data: Array(raw[..<(raw.count - 2)]), sw1: raw[raw.count - 2], sw2: raw[raw.count - 1])
    }

    /// SW1‖SW2 as one number, e.g. `0x9000`.
    public var sw: UInt16 { UInt16(sw1) << 8 | UInt16(sw2) }

    /// `data ‖ SW1 SW2`, as it travels on the wire.
    public var raw: [UInt8] { data + [sw1, sw2] }
}
