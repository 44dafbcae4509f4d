#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import TriadCrypto

extension EncryptedFile {
    /// True when `path` starts with the Triad magic (docs/format.md §2: files keep their names,
    /// an encrypted file is recognised by its magic).
    public static func isEncrypted(at path: String) -> Bool {
        guard let handle = try? FileHandle(path: path, flags: O_RDONLY),
              let prefix = try? handle.read(count: Layout.magic.count) else { return false }
        return prefix == Layout.magic
    }

    /// The same test on a descriptor the caller holds open, without moving its offset
    /// (pread), so the caller can go on to encrypt exactly the inode it tested.
    public static func isEncrypted(fd: Int32) -> Bool {
        var prefix = [UInt8](repeating: 0, count: Layout.magic.count)
        let n = prefix.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        return n == Layout.magic.count && prefix == Layout.magic
    }

    /// Parses the header: structure, canonical lengths and the layout of known slot types.
    /// No key is needed and the MAC is not checked, so the result is only a claim until a
    /// file key verifies it (use it for `zone status`, never to trust a slot's contents).
    public static func readHeader(at path: String) throws -> FileHeader {
        let handle = try FileHandle(path: path, flags: O_RDONLY)
        return try readHeader(from: handle)
    }

    /// `readHeader` of a file opened beneath a root (docs/zone.md §1b), from its first byte.
    public static func readHeader(of file: OpenedFile) throws -> FileHeader {
        let handle = FileHandle(borrowing: file.fd, path: file.path)
        try handle.seek(to: 0)
        return try readHeader(from: handle)
    }

    /// Reads exactly the header from the current position of `handle`.
    static func readHeader(from handle: FileHandle) throws -> FileHeader {
        var bytes = try handle.read(count: Layout.fixedLength)
        guard bytes.count >= Layout.magic.count, Array(bytes[0..<Layout.magic.count]) == Layout.magic else {
            // A non-empty proper prefix of the magic is a file cut inside its first bytes.
            if !bytes.isEmpty, bytes.count < Layout.magic.count, Array(Layout.magic.prefix(bytes.count)) == bytes {
                throw FormatError.truncated(path: handle.path)
            }
            throw FormatError.notEncrypted(path: handle.path)
        }
        let total = try HeaderCodec.requiredLength(bytes, path: handle.path)
        bytes += try handle.read(count: total - bytes.count)
        let header = try HeaderCodec.parse(bytes, path: handle.path)
        try validateKnownSlots(header, path: handle.path)
        return header
    }

    /// `readHeader(from:)` from the first byte of the file, by positioned reads: one `pread`
    /// of up to 4 KiB holds a header with the usual slots, where the sequential read took a
    /// seek and two reads (`zone mount` reads a header at every open, docs/mount.md §9).
    static func readHeaderAtStart(of handle: FileHandle) throws -> FileHeader {
        var prefix = [UInt8](repeating: 0, count: 4096)
        let n = prefix.withUnsafeMutableBytes { pread(handle.fd, $0.baseAddress, $0.count, 0) }
        guard n >= 0 else { throw FormatError.io(path: handle.path, operation: "read", errno: errno) }
        prefix.removeLast(prefix.count - n)
        let fixed = Array(prefix.prefix(Layout.fixedLength))
        guard fixed.count >= Layout.magic.count, Array(fixed[0..<Layout.magic.count]) == Layout.magic else {
            if !fixed.isEmpty, fixed.count < Layout.magic.count, Array(Layout.magic.prefix(fixed.count)) == fixed {
                throw FormatError.truncated(path: handle.path)
            }
            throw FormatError.notEncrypted(path: handle.path)
        }
        let total = try HeaderCodec.requiredLength(fixed, path: handle.path)
        var bytes = Array(prefix.prefix(total))
        if bytes.count < total {
            // A short first read, or a header longer than 4 KiB: read on from where it stopped.
            var rest = [UInt8](repeating: 0, count: total - bytes.count)
            let got = try rest.withUnsafeMutableBytes { try handle.readFully(into: $0, at: bytes.count) }
            bytes += rest.prefix(got)
        }
        let header = try HeaderCodec.parse(bytes, path: handle.path)
        try validateKnownSlots(header, path: handle.path)
        return header
    }

    /// Known slot types must have their exact layout even when no identity of ours uses
    /// them (age's partitioning-oracle rule: check body lengths before any trial decryption).
    static func validateKnownSlots(_ header: FileHeader, path: String) throws {
        for slot in header.slots {
            do {
                switch slot.type {
                case SlotType.zone: _ = try ZoneSlotInfo(slot: slot)
                case SlotType.recovery, SlotType.recoveryKEM: _ = try RecoverySlotInfo(slot: slot)
                default: break
                }
            } catch let error as FormatError {
                throw FormatError.malformedHeader(path: path, reason: error.description)
            }
        }
    }

    /// Finds the file key with the first identity that has a slot for it, then verifies the
    /// header MAC with it before anything else happens (docs/format.md §7.2). A key that
    /// unwraps but fails the MAC means the core or a slot was altered: that is fatal, never
    /// "try the next identity", so a forged slot cannot steer which key is used.
    static func unlockFileKey(_ header: FileHeader, identities: [any Identity], path: String) throws -> SecureBytes {
        var firstError: Error?
        for identity in identities {
            let candidate: SecureBytes?
            do {
                candidate = try identity.unwrap(header.slots, fileID: header.fileID)
            } catch FormatError.slotUnwrapFailed(_, let reason) {
                firstError = firstError ?? FormatError.slotUnwrapFailed(path: path, reason: reason)
                continue
            } catch FormatError.malformedSlot(_, let reason) {
                throw FormatError.malformedHeader(path: path, reason: reason)
            }
            guard let fileKey = candidate else { continue }
            guard HeaderCodec.verify(header, fileKey: fileKey) else {
                throw FormatError.headerAuthenticationFailed(path: path)
            }
            return fileKey
        }
        throw firstError ?? FormatError.noMatchingKey(path: path)
    }

    /// The file key of `header`, found and MAC-checked exactly as a reader does (§7.2):
    /// for a caller that must check a claim bound to the file key before it decides what to do
    /// with the file (the zone layer's key-origin commitment, docs/zone.md §7). The caller
    /// holds it in `SecureBytes`, which wipes it.
    public static func verifiedFileKey(_ header: FileHeader, identities: [any Identity], path: String) throws -> SecureBytes {
        try unlockFileKey(header, identities: identities, path: path)
    }

    /// Checks the payload length against the segment geometry (docs/format.md §6.3) and
    /// returns (segment count, plaintext length).
    public static func geometry(payloadLength: Int, layout: SegmentLayout = .stream,
                                path: String) throws -> (segments: UInt64, plaintext: UInt64) {
        let sealed = layout.sealedSegment
        let overhead = layout.overhead
        guard payloadLength >= overhead else { throw FormatError.truncated(path: path) }
        let segments = (payloadLength + sealed - 1) / sealed
        let last = payloadLength - (segments - 1) * sealed
        guard last >= overhead else { throw FormatError.truncated(path: path) }
        if segments > 1 && last == overhead {
            throw FormatError.malformedPayload(path: path, reason: "an empty final segment follows other segments")
        }
        return (UInt64(segments), UInt64(payloadLength - segments * overhead))
    }
}

extension EncryptedFile {
    /// What a file is, from its first bytes and size alone (no key): for listings that show
    /// plaintext sizes (`zone mount`'s getattr, docs/mount.md §1.2).
    public enum Shape: Equatable, Sendable {
        /// Not a Triad file (or empty): shown as it is.
        case plaintext
        /// A well-formed header and payload geometry: the plaintext length it implies.
        case encrypted(plaintextLength: UInt64, suite: PayloadSuite, headerLength: Int)
        /// Starts with the magic but cannot be a valid file.
        case damaged
    }

    /// Reads at most 66 bytes at offset 0 of `fd` (pread) and classifies the file.
    public static func shape(fd: Int32, fileSize: Int) -> Shape {
        guard fileSize > 0 else { return .plaintext }
        var prefix = [UInt8](repeating: 0, count: Layout.fixedLength)
        let n = prefix.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n >= Layout.magic.count, Array(prefix[0..<Layout.magic.count]) == Layout.magic else {
            if n > 0, n < Layout.magic.count, Array(Layout.magic.prefix(n)) == Array(prefix[0..<n]) { return .damaged }
            return .plaintext
        }
        guard n == Layout.fixedLength, let total = try? HeaderCodec.requiredLength(prefix, path: ""),
              let suite = PayloadSuite(rawValue: prefix[10]),
              let layout = SegmentLayout(suite: suite, log2SegmentSize: prefix[11]),
              let g = try? geometry(payloadLength: fileSize - total, layout: layout, path: "") else { return .damaged }
        return .encrypted(plaintextLength: g.plaintext, suite: suite, headerLength: total)
    }
}
