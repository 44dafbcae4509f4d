#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import TriadCrypto

/// Random access by segment (docs/format.md §6.3). Opening verifies the header MAC and
/// decrypts the final segment once, so the plaintext length it reports is authenticated
/// (age's DecryptReaderAt; Tink's seekable channel). Each `readSegment` then authenticates
/// just that segment. Not thread-safe: one AES-GCM context is reused for every read.
public final class EncryptedFileReader {
    /// The file, named in errors.
    public let path: String
    /// The header, MAC-verified when the reader was opened.
    public let header: FileHeader
    /// Number of segments (at least 1).
    public let segmentCount: UInt64
    /// Authenticated plaintext length.
    public let plaintextLength: UInt64
    private let handle: FileHandle
    private let opener: SegmentOpener
    private let sealed: SegmentBuffer
    /// The file's segment geometry (suite 1: 64 KiB; suite 2: 4 or 64 KiB).
    public let layout: SegmentLayout

    /// Opens `path` with the first of `identities` that unwraps a slot, verifies the header MAC and the final segment.
    public init(path: String, identities: [any Identity]) throws {
        self.path = path
        handle = try FileHandle(path: path, flags: O_RDONLY)
        header = try EncryptedFile.readHeader(from: handle)
        let fileKey = try EncryptedFile.unlockFileKey(header, identities: identities, path: path)
        try WriteJournal.recoverIfPresent(path: path, readFD: handle.fd, header: header, fileKey: fileKey)
        opener = try SegmentOpener(suite: header.payloadSuite, payloadKey: KeySchedule.payloadKey(fileKey: fileKey, core: header.core))
        layout = header.layout
        sealed = SegmentBuffer(count: layout.sealedSegment)
        let size = Int(try handle.status().st_size)
        (segmentCount, plaintextLength) = try EncryptedFile.geometry(payloadLength: size - header.encodedLength,
                                                                     layout: layout, path: path)
        let scratch = SegmentBuffer(count: layout.segmentSize)
        _ = try readSegment(segmentCount - 1, into: scratch.prefix(length(ofSegment: segmentCount - 1)))
    }

    /// Plaintext length of segment `index`.
    public func length(ofSegment index: UInt64) -> Int {
        layout.length(ofSegment: index, plaintext: plaintextLength)
    }

    /// Reads and authenticates segment `index` into `buffer` (at least its length); returns the byte count.
    public func readSegment(_ index: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard index < segmentCount else { throw FormatError.invalidArgument(problem: "segment \(index) is past the end (\(segmentCount) segments)") }
        let bodyCount = length(ofSegment: index)
        precondition(buffer.count >= bodyCount)
        let sealedCount = bodyCount + opener.suite.overhead
        let offset = header.encodedLength + Int(index) * layout.sealedSegment
        let got = try handle.readFully(into: sealed.prefix(sealedCount), at: offset)
        guard got == sealedCount else { throw FormatError.truncated(path: path) }
        try opener.open(UnsafeRawBufferPointer(sealed.prefix(sealedCount)), index: index, isFinal: index == segmentCount - 1,
                        into: buffer, path: path)
        return bodyCount
    }

    /// Reads and authenticates segment `index` into a new array.
    public func readSegment(_ index: UInt64) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: layout.segmentSize)
        let n = try out.withUnsafeMutableBytes { try readSegment(index, into: $0) }
        out.removeLast(out.count - n)
        return out
    }

    /// Reads `count` plaintext bytes from `offset` (fewer at the end), segment by segment.
    public func read(offset: UInt64, count: Int) throws -> [UInt8] {
        guard offset < plaintextLength, count > 0 else { return [] }
        let end = min(plaintextLength, offset + UInt64(count))
        var out: [UInt8] = []
        out.reserveCapacity(Int(end - offset))
        let size = UInt64(layout.segmentSize)
        let plain = SegmentBuffer(count: layout.segmentSize)
        var position = offset
        while position < end {
            let index = position / size
            let n = try readSegment(index, into: plain.prefix(length(ofSegment: index)))
            let from = Int(position - index * size)
            let to = min(n, Int(end - index * size))
            out += plain.prefix(n)[from..<to]
            position = index * size + UInt64(to)
        }
        return out
    }
}
