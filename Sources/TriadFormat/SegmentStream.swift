#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import TriadCrypto

/// The payload (docs/format.md §6): AES-256-GCM segments of 64 KiB plaintext, nonce =
/// 11-byte big-endian segment counter ‖ last-segment flag (age's STREAM, HRRV15).
///
/// The counter makes reordering fail, the flag makes truncation and extension fail. One
/// `AESGCMSegmentCipher` holds the key schedule for the whole file and the buffers are
/// allocated once per stream, so memory stays flat whatever the file size.
struct SegmentNonce {
    private(set) var bytes = [UInt8](repeating: 0, count: 12)

    /// Writes BE88(index) ‖ flag into the reused nonce array (no allocation).
    mutating func set(index: UInt64, final: Bool) {
        bytes.withUnsafeMutableBufferPointer { b in
            for i in 0..<3 { b[i] = 0 }
            var v = index
            for i in stride(from: 10, through: 3, by: -1) { b[i] = UInt8(v & 0xFF); v >>= 8 }
            b[11] = final ? 0x01 : 0x00
        }
    }
}

enum PayloadStream {
    static let segment = Layout.segmentSize
    static let sealedSegment = Layout.segmentSize + Layout.tagLength
    /// Sealed segments gathered per write(2): 16 × 64 KiB ≈ 1 MiB, so a large file costs
    /// about one write call per MiB (docs/format.md §7.3).
    static let segmentsPerWrite = 16
    /// Dirty bytes after which writeback is started (§7.3).
    static let writebackInterval = 8 << 20

    /// Encrypts everything `input` yields until end of file into `output`.
    ///
    /// The final flag needs to know where the input ends, so one segment is read ahead:
    /// a full segment is final only when the next read returns nothing. Empty input gives
    /// one empty final segment; input that is an exact multiple of 64 KiB ends with a full
    /// final segment (never an empty one after others).
    static func encrypt(from input: FileHandle, to output: FileHandle, payloadKey: SecureBytes,
                        inputStatus: stat? = nil) throws -> UInt64 {
        let cipher = try AESGCMSegmentCipher(key: payloadKey, encrypting: true)
        var current = SegmentBuffer(count: segment)
        var next = SegmentBuffer(count: segment)
        // A large regular file is written on a second thread while the next chunk is sealed.
        let out = ChunkedOutput(output: output, overlap: try overlapsWrites(input: input, inputStatus: inputStatus, output: output),
                                chunkSize: chunkSize)
        var nonce = SegmentNonce()
        var index: UInt64 = 0
        var count = try current.fill { try input.readFully(into: $0) }
        var total: UInt64 = 0
        while true {
            var nextCount = 0
            let isFinal: Bool
            if count < segment {
                isFinal = true
            } else {
                nextCount = try next.fill { try input.readFully(into: $0) }
                isFinal = nextCount == 0
            }
            nonce.set(index: index, final: isFinal)
            let sealed = try out.space(count + Layout.tagLength)
            try cipher.seal(UnsafeRawBufferPointer(current.prefix(count)), nonce: nonce.bytes,
                            into: UnsafeMutableRawBufferPointer(rebasing: sealed[0..<count]),
                            tag: UnsafeMutableRawBufferPointer(rebasing: sealed[count...]))
            out.advance(count + Layout.tagLength)
            total += UInt64(count)
            if isFinal {
                try out.finish()
                return total
            }
            swap(&current, &next)
            count = nextCount
            index += 1
        }
    }

    /// Sealed segments gathered per write(2) (§7.3).
    static let chunkSize = sealedSegment * segmentsPerWrite

    /// Overlapping pays for a thread hop only on large regular files (a pipe's size is unknown).
    static func overlapsWrites(input: FileHandle, inputStatus: stat?, output: FileHandle) throws -> Bool {
        let inStat = try inputStatus ?? input.status()
        guard (inStat.st_mode & S_IFMT) == S_IFREG && Int(inStat.st_size) >= overlapThreshold else { return false }
        return (try output.status().st_mode & S_IFMT) == S_IFREG
    }

    /// Plaintext size from which encryption and writing run on two threads (§7.3).
    static let overlapThreshold = 4 << 20

    /// Decrypts the segments `input` yields, handing each authenticated plaintext segment
    /// to `sink` in order. Stops with an error at the first segment that fails; segments
    /// before it were authentic, but the caller must treat the whole output as invalid
    /// (truncation is only known at the end). The sink also gets the segment index and final
    /// flag, so re-encryption can seal each segment at the same position.
    static func decrypt(from input: FileHandle, payloadKey: SecureBytes, layout: SegmentLayout = .stream, path: String,
                        sink: (UnsafeRawBufferPointer, _ index: UInt64, _ isFinal: Bool) throws -> Void) throws -> UInt64 {
        let suite = layout.suite
        let opener = try SegmentOpener(suite: suite, payloadKey: payloadKey)
        let sealedSize = layout.sealedSegment
        var current = SegmentBuffer(count: sealedSize)
        var next = SegmentBuffer(count: sealedSize)
        let plain = SegmentBuffer(count: layout.segmentSize)
        var index: UInt64 = 0
        var count = try current.fill { try input.readFully(into: $0) }
        var total: UInt64 = 0
        guard count > 0 else { throw FormatError.truncated(path: path) }
        while true {
            var nextCount = 0
            let isFinal: Bool
            if count < sealedSize {
                isFinal = true
            } else {
                nextCount = try next.fill { try input.readFully(into: $0) }
                isFinal = nextCount == 0
            }
            guard count >= suite.overhead else { throw FormatError.truncated(path: path) }
            let bodyCount = count - suite.overhead
            try opener.open(UnsafeRawBufferPointer(current.prefix(count)), index: index, isFinal: isFinal,
                            into: plain.prefix(bodyCount), path: path)
            if isFinal && index > 0 && bodyCount == 0 {
                throw FormatError.malformedPayload(path: path, reason: "an empty final segment follows other segments")
            }
            try sink(UnsafeRawBufferPointer(plain.prefix(bodyCount)), index, isFinal)
            total += UInt64(bodyCount)
            if isFinal { return total }
            swap(&current, &next)
            count = nextCount
            index += 1
        }
    }

    /// Opens one sealed segment (body ‖ tag). On failure it tells truncation (a segment that
    /// opens as non-final where a final one was due) and extension (a final segment that is
    /// not last) from plain damage, with one extra trial open that costs nothing on success.
    static func openSegment(cipher: AESGCMSegmentCipher, nonce: inout SegmentNonce, index: UInt64, isFinal: Bool,
                            sealed: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, path: String) throws {
        let bodyCount = sealed.count - Layout.tagLength
        let body = UnsafeRawBufferPointer(rebasing: sealed[0..<bodyCount])
        let tag = UnsafeRawBufferPointer(rebasing: sealed[bodyCount...])
        let out = UnsafeMutableRawBufferPointer(rebasing: output[0..<bodyCount])
        nonce.set(index: index, final: isFinal)
        do {
            try cipher.open(body, nonce: nonce.bytes, tag: tag, into: out)
            return
        } catch CryptoError.authenticationFailed {
            nonce.set(index: index, final: !isFinal)
            if (try? cipher.open(body, nonce: nonce.bytes, tag: tag, into: out)) != nil {
                wipeBytes(out)
                throw isFinal ? FormatError.truncated(path: path) : FormatError.trailingData(path: path)
            }
            throw FormatError.segmentAuthenticationFailed(path: path, index: index)
        }
    }
}
