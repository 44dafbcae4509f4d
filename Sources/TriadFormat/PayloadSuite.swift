import TriadCrypto

/// The two payload suites (docs/format.md §2, §6, §13). Both cut the plaintext into
/// segments of one size (`SegmentLayout`), authenticate each one with its index and a final
/// flag (STREAM semantics), and are random-access by multiplication. They differ in where the
/// nonce comes from:
///
/// - suite 1, *stream*: nonce = BE88(index) ‖ flag under AES-256-GCM. Nothing is stored, but
///   a segment must never be sealed twice under one file key: write-once files only.
/// - suite 2, *mutable*: every sealing draws a fresh 192-bit random nonce, stored in front of
///   the segment, under XAES-256-GCM; AAD = BE64(index) ‖ flag. A segment can be rewritten
///   in place any number of times (`zone mount`).
public enum PayloadSuite: UInt8, Sendable {
    case stream = 0x01
    case mutable = 0x02

    /// Bytes a sealed segment adds to its plaintext.
    public var overhead: Int { self == .stream ? Layout.tagLength : Self.mutableNonceLength + Layout.tagLength }
    static let mutableNonceLength = XAESGCMSegmentCipher.nonceByteCount

    /// Runs `body` with the AAD of a mutable-suite segment, BE64(index) ‖ flag (docs/format.md
    /// §13.2), in nine bytes on the stack: a 4 KiB segment should cost no allocation for it.
    static func withMutableAAD<R>(index: UInt64, isFinal: Bool, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var aad: (UInt64, UInt8) = (index.bigEndian, isFinal ? 0x01 : 0x00)
        return try withUnsafeBytes(of: &aad) { try body(UnsafeRawBufferPointer(rebasing: $0[0..<9])) }
    }
}

/// The segment geometry of one file: its suite and its segment size, both read from the
/// header core (docs/format.md §2, §13.1a) and both bound into every key derived from it.
/// Every payload offset and length follows from these two.
///
/// Suite 1 uses 64 KiB segments only. Suite 2 allows 64 KiB (files written before
/// 2026-12-03) and 4 KiB, which new suite-2 files use: the kernel reads and writes a file
/// through `zone mount` in 4 KiB pages, and a 4 KiB write into a 64 KiB segment costs a
/// 64 KiB read, open, seal and two 64 KiB writes (journal and in place) — sixteen times the
/// bytes written (docs/mount.md §9).
public struct SegmentLayout: Equatable, Sendable {
    /// The payload suite.
    public let suite: PayloadSuite
    /// Plaintext bytes per full segment.
    public let segmentSize: Int

    /// Bytes a sealed segment adds to its plaintext.
    public var overhead: Int { suite.overhead }
    /// Size of a sealed full segment.
    public var sealedSegment: Int { segmentSize + overhead }
    /// log2 of the segment size, as the header core stores it.
    public var log2SegmentSize: UInt8 { UInt8(segmentSize.trailingZeroBitCount) }

    /// Suite 1: 64 KiB segments (docs/format.md §6).
    public static let stream = SegmentLayout(suite: .stream, segmentSize: 1 << 16)
    /// What a new suite-2 file uses: 4 KiB segments (docs/format.md §13.1).
    public static let mutable = SegmentLayout(suite: .mutable, segmentSize: 1 << 12)
    /// Suite 2 with 64 KiB segments, as every suite-2 file written before 2026-12-03 is.
    public static let mutableLarge = SegmentLayout(suite: .mutable, segmentSize: 1 << 16)
    /// The largest sealed segment of any allowed layout: the size of a buffer that holds one.
    public static let largestSealedSegment = mutableLarge.sealedSegment

    /// The layout a header's suite and log2 byte name, or nil when the pair is not allowed
    /// (docs/format.md §2: suite 1 takes 2^16 only, suite 2 takes 2^12 or 2^16).
    public init?(suite: PayloadSuite, log2SegmentSize log2: UInt8) {
        switch (suite, log2) {
        case (.stream, 16), (.mutable, 16), (.mutable, 12): self.init(suite: suite, segmentSize: 1 << Int(log2))
        default: return nil
        }
    }

    private init(suite: PayloadSuite, segmentSize: Int) {
        self.suite = suite
        self.segmentSize = segmentSize
    }

    /// Number of segments of a plaintext of `size` bytes (an empty payload has one, empty).
    public func segmentCount(plaintext size: UInt64) -> UInt64 {
        max(1, (size + UInt64(segmentSize) - 1) / UInt64(segmentSize))
    }

    /// Plaintext length of segment `index` in a payload of `size` bytes.
    public func length(ofSegment index: UInt64, plaintext size: UInt64) -> Int {
        let count = segmentCount(plaintext: size)
        return index == count - 1 ? Int(size - index * UInt64(segmentSize)) : segmentSize
    }
}

/// Opens sealed segments of either suite with one key schedule for the whole file, telling
/// truncation and extension apart from damage as docs/format.md §6.2 requires.
final class SegmentOpener {
    let suite: PayloadSuite
    private let stream: AESGCMSegmentCipher?
    private let mutable: XAESGCMSegmentCipher?
    private var nonce = SegmentNonce()

    init(suite: PayloadSuite, payloadKey: SecureBytes) throws {
        self.suite = suite
        switch suite {
        case .stream:
            stream = try AESGCMSegmentCipher(key: payloadKey, encrypting: false)
            mutable = nil
        case .mutable:
            stream = nil
            mutable = try XAESGCMSegmentCipher(key: payloadKey, encrypting: false)
        }
    }

    /// Opens `sealed` (one whole sealed segment) into `output`; returns the plaintext count.
    /// A segment that opens only with the other final flag is reported as truncation (it
    /// was due to be final) or trailing data (a final segment that is not last).
    @discardableResult
    func open(_ sealed: UnsafeRawBufferPointer, index: UInt64, isFinal: Bool, into output: UnsafeMutableRawBufferPointer,
              path: String) throws -> Int {
        guard sealed.count >= suite.overhead else { throw FormatError.truncated(path: path) }
        let bodyCount = sealed.count - suite.overhead
        let out = UnsafeMutableRawBufferPointer(rebasing: output[0..<bodyCount])
        if let stream {
            try PayloadStream.openSegment(cipher: stream, nonce: &nonce, index: index, isFinal: isFinal,
                                          sealed: sealed, into: output, path: path)
            return bodyCount
        }
        let n = PayloadSuite.mutableNonceLength
        let nonceBytes = UnsafeRawBufferPointer(rebasing: sealed[0..<n])
        let body = UnsafeRawBufferPointer(rebasing: sealed[n..<(n + bodyCount)])
        let tag = UnsafeRawBufferPointer(rebasing: sealed[(n + bodyCount)...])
        func attempt(_ flag: Bool) -> Bool {
            PayloadSuite.withMutableAAD(index: index, isFinal: flag) { a in
                (try? mutable!.open(body, nonce: nonceBytes, aad: a, tag: tag, into: out)) != nil
            }
        }
        if attempt(isFinal) { return bodyCount }
        if attempt(!isFinal) {
            wipeBytes(out)
            throw isFinal ? FormatError.truncated(path: path) : FormatError.trailingData(path: path)
        }
        throw FormatError.segmentAuthenticationFailed(path: path, index: index)
    }
}

/// Seals mutable-suite segments (docs/format.md §13.2): a fresh random 24-byte nonce per
/// call, written in front of the ciphertext. Used by `zone mount` and the vector generator.
public final class MutableSegmentSealer {
    private let cipher: XAESGCMSegmentCipher
    private let random: RandomSource
    /// Nonces drawn from the system CSPRNG 128 at a time (one RAND_bytes call instead of one
    /// per 4 KiB segment), each used once; nil for a test's deterministic source, which is
    /// drawn from nonce by nonce so the vectors stay reproducible. Nonces are not secret (each
    /// is stored in front of its segment), only never repeated.
    private var drawn: [UInt8]?
    private var used = 0
    private static let noncesPerDraw = 128

    /// - Parameter payloadKey: K_payload of the file (docs/format.md §5).
    public convenience init(payloadKey: SecureBytes) throws {
        try self.init(payloadKey: payloadKey, random: .system)
    }

    init(payloadKey: SecureBytes, random: RandomSource) throws {
        cipher = try XAESGCMSegmentCipher(key: payloadKey, encrypting: true)
        self.random = random
        if random.isSystem { drawn = [] }
    }

    /// Writes a fresh nonce into `target` (24 bytes).
    private func nextNonce(into target: UnsafeMutableRawBufferPointer) {
        let n = PayloadSuite.mutableNonceLength
        guard drawn != nil else {
            let nonce = random.bytes(n)
            for i in 0..<n { target[i] = nonce[i] }
            return
        }
        if used == drawn!.count {
            drawn = SecureRandom.bytes(count: n * Self.noncesPerDraw)
            used = 0
        }
        drawn!.withUnsafeBytes { pool in target.baseAddress!.copyMemory(from: pool.baseAddress! + used, byteCount: n) }
        used += n
    }

    /// Seals `plain` (at most one segment) as segment `index` into `output`, which must hold
    /// `plain.count + PayloadSuite.mutable.overhead` bytes: nonce ‖ ciphertext ‖ tag.
    public func seal(_ plain: UnsafeRawBufferPointer, index: UInt64, isFinal: Bool,
                     into output: UnsafeMutableRawBufferPointer) throws {
        let n = PayloadSuite.mutableNonceLength
        precondition(plain.count <= SegmentLayout.mutableLarge.segmentSize && output.count >= plain.count + PayloadSuite.mutable.overhead)
        nextNonce(into: UnsafeMutableRawBufferPointer(rebasing: output[0..<n]))
        try PayloadSuite.withMutableAAD(index: index, isFinal: isFinal) { a in
            try cipher.seal(plain, nonce: UnsafeRawBufferPointer(rebasing: output[0..<n]), aad: a,
                            into: UnsafeMutableRawBufferPointer(rebasing: output[n..<(n + plain.count)]),
                            tag: UnsafeMutableRawBufferPointer(rebasing: output[(n + plain.count)..<(n + plain.count + 16)]))
        }
    }
}
