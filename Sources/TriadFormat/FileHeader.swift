import TriadCrypto

/// The parsed header of an encrypted file: the fixed core, the key slots and the MAC
/// (docs/format.md §2–§4). Parsing checks structure and canonical lengths only; the MAC
/// needs the file key and is checked by `HeaderCodec.verify`.
public struct FileHeader: Sendable {
    /// The format version (1, docs/format.md §2).
    public let version: UInt16
    /// The payload suite: 1 sequential, 2 rewritable in place (docs/format.md §13).
    public let suite: UInt8
    /// log2 of the segment size (16: 64 KiB; 12: 4 KiB, suite 2 only).
    public let log2SegmentSize: UInt8
    /// The random file id; every key derivation and slot wrap is bound to it.
    public let fileID: [UInt8]
    /// The zone the file was encrypted in (docs/format.md §2).
    public let zoneID: [UInt8]
    /// The key slots, in file order; unknown types are kept and covered by the MAC.
    public let slots: [KeySlot]
    /// Bytes from offset 0 to the first payload byte (core + key block + MAC).
    public let encodedLength: Int
    /// The header MAC as stored (offset encodedLength − 32).
    public let mac: [UInt8]
    /// The exact bytes the MAC covers (core ‖ slot area length ‖ slot count ‖ slots).
    let authenticated: [UInt8]

    /// The 60-byte core, the input of every key derivation.
    var core: [UInt8] { Array(authenticated[0..<Layout.coreLength]) }
    /// Plaintext bytes per full segment.
    public var segmentSize: Int { 1 << Int(log2SegmentSize) }
    /// The payload suite named by the core (docs/format.md §2, §13); parsing admits only known ones.
    public var payloadSuite: PayloadSuite { PayloadSuite(rawValue: suite) ?? .stream }
    /// The segment geometry the core names; parsing admits only allowed pairs (§2).
    public var layout: SegmentLayout { SegmentLayout(suite: payloadSuite, log2SegmentSize: log2SegmentSize) ?? .stream }
    /// The exact header bytes (core ‖ key block ‖ MAC), e.g. to bind a write journal to them.
    public var encoded: [UInt8] { authenticated + mac }
}

/// Byte layout constants of format version 1 (docs/format.md §2). All integers are big-endian.
enum Layout {
    /// 0x89 'T' 'R' 'D' CR LF ^Z LF: the high bit catches 7-bit channels, CR LF and LF catch
    /// newline conversion, ^Z stops `type` on DOS (the PNG signature's reasoning).
    static let magic: [UInt8] = [0x89, 0x54, 0x52, 0x44, 0x0D, 0x0A, 0x1A, 0x0A]
    static let version: UInt16 = 1
    /// AES-256-GCM segments, HKDF-SHA256 derivations, HMAC-SHA256 header MAC.
    static let suiteAES256GCM: UInt8 = 0x01
    /// Suite 1's segment size (2^16); suite 2 also allows 2^12 (`SegmentLayout`).
    static let segmentSize = 1 << 16
    static let tagLength = 16
    static let fileIDLength = 32
    static let zoneIDLength = 16
    static let fileKeyLength = 32
    static let coreLength = 60          // magic 8, version 2, suite 1, log2 1, file id 32, zone id 16
    static let fixedLength = 66         // core + slot area length (4) + slot count (2)
    static let macLength = 32
    /// Upper bound on the slot area, so a hostile header cannot make a reader allocate without limit.
    static let maxSlotAreaLength = 1 << 20
}

enum HeaderCodec {
    /// Parses a header from `bytes`, which must hold at least the whole header.
    /// Throws `.truncated` when `bytes` ends inside the header; use `requiredLength` first
    /// when reading from a stream.
    static func parse(_ bytes: [UInt8], path: String) throws -> FileHeader {
        guard bytes.count >= Layout.magic.count, Array(bytes[0..<Layout.magic.count]) == Layout.magic else {
            if bytes.count < Layout.magic.count, Array(Layout.magic.prefix(bytes.count)) == bytes, !bytes.isEmpty {
                throw FormatError.truncated(path: path)
            }
            throw FormatError.notEncrypted(path: path)
        }
        let total = try requiredLength(bytes, path: path)
        guard bytes.count >= total else { throw FormatError.truncated(path: path) }
        var reader = ByteReader(bytes, start: 8)
        let version = reader.u16()
        let suite = reader.u8()
        let log2 = reader.u8()
        let fileID = reader.take(Layout.fileIDLength)
        let zoneID = reader.take(Layout.zoneIDLength)
        let areaLength = Int(reader.u32())
        let count = Int(reader.u16())
        var slots: [KeySlot] = []
        slots.reserveCapacity(count)
        let areaEnd = Layout.fixedLength + areaLength
        for index in 0..<count {
            guard areaEnd - reader.offset >= 4 else {
                throw FormatError.malformedHeader(path: path, reason: "slot \(index) of \(count) does not fit in the slot area")
            }
            let type = reader.u16()
            let length = Int(reader.u16())
            guard areaEnd - reader.offset >= length else {
                throw FormatError.malformedHeader(path: path, reason: "slot \(index) body of \(length) bytes overruns the slot area")
            }
            guard type != SlotType.reserved else {
                throw FormatError.malformedHeader(path: path, reason: "slot \(index) has the reserved type 0x0000")
            }
            slots.append(KeySlot(type: type, body: reader.take(length)))
        }
        guard reader.offset == areaEnd else {
            throw FormatError.malformedHeader(path: path, reason: "slot area length \(areaLength) does not match its \(count) slots")
        }
        let mac = reader.take(Layout.macLength)
        return FileHeader(version: version, suite: suite, log2SegmentSize: log2, fileID: fileID, zoneID: zoneID,
                          slots: slots, encodedLength: total, mac: mac,
                          authenticated: Array(bytes[0..<areaEnd]))
    }

    /// Checks the fixed part (`bytes` holds at least `Layout.fixedLength` bytes) and returns
    /// the total header length it announces.
    static func requiredLength(_ bytes: [UInt8], path: String) throws -> Int {
        guard bytes.count >= Layout.fixedLength else { throw FormatError.truncated(path: path) }
        var reader = ByteReader(bytes, start: 8)
        let version = reader.u16()
        guard version == Layout.version else { throw FormatError.unsupportedVersion(path: path, version: version) }
        let suite = reader.u8()
        guard let payloadSuite = PayloadSuite(rawValue: suite) else { throw FormatError.unsupportedSuite(path: path, suite: suite) }
        let log2 = reader.u8()
        guard SegmentLayout(suite: payloadSuite, log2SegmentSize: log2) != nil else {
            throw FormatError.unsupportedSegmentSize(path: path, suite: suite, log2: log2)
        }
        reader.offset = Layout.coreLength
        let areaLength = Int(reader.u32())
        let count = Int(reader.u16())
        guard areaLength <= Layout.maxSlotAreaLength else {
            throw FormatError.malformedHeader(path: path, reason: "slot area of \(areaLength) bytes exceeds the 1 MiB limit")
        }
        guard count >= 1 else { throw FormatError.malformedHeader(path: path, reason: "the header has no key slot") }
        guard areaLength >= 4 * count else {
            throw FormatError.malformedHeader(path: path, reason: "slot area length \(areaLength) is too small for \(count) slots")
        }
        return Layout.fixedLength + areaLength + Layout.macLength
    }

    /// The core for a new file.
    static func core(fileID: [UInt8], zoneID: [UInt8], layout: SegmentLayout = .stream) -> [UInt8] {
        var out = Layout.magic
        out.appendBE(Layout.version)
        out.append(layout.suite.rawValue)
        out.append(layout.log2SegmentSize)
        out += fileID
        out += zoneID
        return out
    }

    /// Encodes core ‖ key block ‖ MAC, the MAC keyed from the file key (docs/format.md §4).
    static func encode(core: [UInt8], slots: [KeySlot], fileKey: SecureBytes) throws -> [UInt8] {
        guard !slots.isEmpty else { throw FormatError.invalidArgument(problem: "a header needs at least one key slot") }
        var out = core
        let area = slots.reduce(0) { $0 + $1.encodedLength }
        guard area <= Layout.maxSlotAreaLength, slots.count <= Int(UInt16.max) else {
            throw FormatError.invalidArgument(problem: "the key slots exceed the 1 MiB header limit")
        }
        out.appendBE(UInt32(area))
        out.appendBE(UInt16(slots.count))
        for slot in slots {
            guard slot.type != SlotType.reserved, slot.body.count <= Int(UInt16.max) else {
                throw FormatError.malformedSlot(type: slot.type, reason: "reserved type or body over 65535 bytes")
            }
            out.appendBE(slot.type)
            out.appendBE(UInt16(slot.body.count))
            out += slot.body
        }
        let macKey = KeySchedule.headerKey(fileKey: fileKey, core: core)
        out += HMACSHA256.authenticate(out, key: macKey)
        return out
    }

    /// Verifies the header MAC with a candidate file key, in constant time.
    static func verify(_ header: FileHeader, fileKey: SecureBytes) -> Bool {
        guard fileKey.count == Layout.fileKeyLength else { return false }
        let macKey = KeySchedule.headerKey(fileKey: fileKey, core: header.core)
        return HMACSHA256.isValid(header.mac, for: header.authenticated, key: macKey)
    }
}

/// Big-endian cursor over a byte array whose bounds the caller has already checked.
struct ByteReader {
    let bytes: [UInt8]
    var offset: Int
    init(_ bytes: [UInt8], start: Int = 0) { self.bytes = bytes; self.offset = start }
    mutating func u8() -> UInt8 { defer { offset += 1 }; return bytes[offset] }
    mutating func u16() -> UInt16 { UInt16(u8()) << 8 | UInt16(u8()) }
    mutating func u32() -> UInt32 { UInt32(u16()) << 16 | UInt32(u16()) }
    mutating func take(_ n: Int) -> [UInt8] { defer { offset += n }; return Array(bytes[offset..<offset + n]) }
}

extension Array where Element == UInt8 {
    mutating func appendBE(_ v: UInt16) { append(UInt8(v >> 8)); append(UInt8(v & 0xFF)) }
    mutating func appendBE(_ v: UInt32) { appendBE(UInt16(v >> 16)); appendBE(UInt16(v & 0xFFFF)) }
}
