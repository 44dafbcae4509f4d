/// ISO/IEC 7816-4 §5.1 response APDU: response data followed by the two status bytes.
public struct ResponseAPDU: Equatable, Sendable {
    /// The response data (without the status word).
    public var data: [UInt8]
    /// SW1‖SW2.
    public var sw: StatusWord

    /// A response with `data` (none by default) and the status word `sw`.
    public init(data: [UInt8] = [], sw: StatusWord) {
        self.data = data
        self.sw = sw
    }

    /// A response with `data` and the status bytes SW1, SW2.
    public init(data: [UInt8], sw1: UInt8, sw2: UInt8) {
        self.init(data: data, sw: StatusWord(sw1: sw1, sw2: sw2))
    }

    /// Splits raw bytes from the reader; `nil` when fewer than the two status bytes arrived.
    public init?(raw: [UInt8]) {
        guard raw.count >= 2 else { return nil }
        self.init(data: Array(raw[..<(raw.count - 2)]), sw1: raw[raw.count - 2], sw2: raw[raw.count - 1])
    }

    /// The first status byte (`61` for "more data", `63` for "verification failed", …).
    public var sw1: UInt8 { sw.sw1 }
    /// The second status byte.
    public var sw2: UInt8 { sw.sw2 }

    /// `data ‖ SW1 SW2`, as it travels on the wire.
    public var raw: [UInt8] { data + sw.bytes }
}
