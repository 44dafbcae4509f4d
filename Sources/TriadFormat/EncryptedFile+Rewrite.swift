#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import DurableFile
import TriadCrypto

extension EncryptedFile {
    /// Header-only rewrite (docs/format.md §8): unwraps the file key with one of `identities`,
    /// keeps the slots `keep` says yes to, adds slots from `add`, recomputes the MAC and copies
    /// the payload bytes unchanged (no re-encryption: the payload key depends on the file key
    /// and the core only, never on the slots). The rewritten file replaces `file` when the
    /// returned `PendingFile` is committed, and keeps its mode.
    public static func rewrap(_ file: OpenedFile, identities: [any Identity], keep: (KeySlot) -> Bool,
                              add: [any Recipient]) throws -> PendingFile {
        try rewrap(input: FileHandle(borrowing: file.fd, path: file.path), location: file.location, mode: file.mode,
                   identities: identities, keep: keep, add: add)
    }

    private static func rewrap(input: FileHandle, location: FileLocation, mode: mode_t, identities: [any Identity],
                               keep: (KeySlot) -> Bool, add: [any Recipient]) throws -> PendingFile {
        let path = input.path
        try input.seek(to: 0)
        let header = try readHeader(from: input)
        let fileKey = try unlockFileKey(header, identities: identities, path: path)
        try WriteJournal.recoverIfPresent(at: location, readFD: input.fd, header: header, fileKey: fileKey)
        let size = Int(try input.status().st_size)
        _ = try geometry(payloadLength: size - header.encodedLength, layout: header.layout, path: path)
        var slots = header.slots.filter(keep)
        slots += try add.map { try $0.wrap(fileKey, fileID: header.fileID) }
        guard !slots.isEmpty else { throw FormatError.invalidArgument(problem: "\(path): the rewrite would leave no key slot") }
        let encoded = try HeaderCodec.encode(core: header.core, slots: slots, fileKey: fileKey)
        let staged = try Staging.file(at: location, finalMode: mode)
        let output = staged.handle
        try output.writeAll(encoded)
        try copyRange(from: input, offset: header.encodedLength, count: size - header.encodedLength, to: output)
        return PendingFile(staged: staged)
    }

    /// Full re-encryption with a new file key and file id (after a revocation, when a removed
    /// member may hold the old file key). Segment by segment in memory: the plaintext never
    /// touches the disk, and the new file replaces `file` (keeping its mode) only when every
    /// old segment authenticated and the returned `PendingFile` is committed.
    public static func reencrypt(_ file: OpenedFile, identities: [any Identity], zoneID: [UInt8],
                                 recipients: [any Recipient]) throws -> PendingFile {
        try reencrypt(file, identities: identities, zoneID: zoneID, recipients: recipients, random: .system)
    }

    static func reencrypt(_ file: OpenedFile, identities: [any Identity], zoneID: [UInt8],
                          recipients: [any Recipient], random: RandomSource) throws -> PendingFile {
        try reencrypt(input: FileHandle(borrowing: file.fd, path: file.path), location: file.location, mode: file.mode,
                      identities: identities, zoneID: zoneID, recipients: recipients, random: random)
    }

    private static func reencrypt(input: FileHandle, location: FileLocation, mode: mode_t, identities: [any Identity],
                                  zoneID: [UInt8], recipients: [any Recipient], random: RandomSource) throws -> PendingFile {
        guard zoneID.count == Layout.zoneIDLength else { throw FormatError.invalidArgument(problem: "a zone id is 16 bytes") }
        guard !recipients.isEmpty else { throw FormatError.invalidArgument(problem: "a file needs at least one recipient") }
        let path = input.path
        try input.seek(to: 0)
        let header = try readHeader(from: input)
        let oldKey = try unlockFileKey(header, identities: identities, path: path)
        try WriteJournal.recoverIfPresent(at: location, readFD: input.fd, header: header, fileKey: oldKey)
        let oldPayloadKey = KeySchedule.payloadKey(fileKey: oldKey, core: header.core)

        let fileKey = random.key(Layout.fileKeyLength)
        let fileID = random.bytes(Layout.fileIDLength)
        let core = HeaderCodec.core(fileID: fileID, zoneID: zoneID)
        let slots = try recipients.map { try $0.wrap(fileKey, fileID: fileID) }
        let encoded = try HeaderCodec.encode(core: core, slots: slots, fileKey: fileKey)
        let sealer = try AESGCMSegmentCipher(key: KeySchedule.payloadKey(fileKey: fileKey, core: core), encrypting: true)
        let sealed = SegmentBuffer(count: PayloadStream.sealedSegment)
        var nonce = SegmentNonce()

        let staged = try Staging.file(at: location, finalMode: mode)
        let output = staged.handle
        try output.writeAll(encoded)
        // The new file is suite 1 (64 KiB segments); a 4 KiB suite-2 file is cut anew.
        var segments = Resegmenter(size: SegmentLayout.stream.segmentSize)
        _ = try PayloadStream.decrypt(from: input, payloadKey: oldPayloadKey, layout: header.layout, path: path) { piece, _, isLast in
            try segments.feed(piece, isLast: isLast) { plain, index, isFinal in
                nonce.set(index: index, final: isFinal)
                try sealer.seal(plain, nonce: nonce.bytes, into: sealed.prefix(plain.count),
                                tag: sealed.slice(plain.count..<plain.count + 16))
                try output.writeAll(UnsafeRawBufferPointer(sealed.prefix(plain.count + 16)))
            }
        }
        return PendingFile(staged: staged)
    }

    /// Copies `count` bytes at `offset` of `input` to the end of `output` through one 1 MiB
    /// buffer (the payload is opaque here: it is neither decrypted nor re-encrypted).
    static func copyRange(from input: FileHandle, offset: Int, count: Int, to output: FileHandle) throws {
        let buffer = SegmentBuffer(count: 1 << 20)
        var position = offset
        var remaining = count
        while remaining > 0 {
            let want = min(remaining, buffer.count)
            let got = try input.readFully(into: buffer.prefix(want), at: position)
            guard got == want else { throw FormatError.truncated(path: input.path) }
            try output.writeAll(UnsafeRawBufferPointer(buffer.prefix(got)))
            position += got
            remaining -= got
        }
    }
}
