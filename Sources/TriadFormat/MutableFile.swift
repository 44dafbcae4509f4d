#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization
import TriadCrypto

/// An encrypted file open for random access (docs/format.md §6.3), and for writing in place
/// when it uses the mutable suite (§13–§14): the primitive under `zone mount`. A suite-1
/// file can be read; `commit` needs suite 2 (`rewriteAsMutable` converts). Segments are read and authenticated one at a time; a
/// commit seals the changed segments with fresh nonces, journals them and writes them in
/// place. Not thread-safe: the caller serialises access (one lock per open file) and holds
/// the file's `CommitLock` around `refresh` + `commit`. The one exception is
/// `readSegmentsConcurrently`, which reads only constant state (`fd`, `header`, `layout`, the
/// key) and uses a cipher context lent to it alone.
public final class MutableFile {
    /// The descriptor (borrowed: the caller owns and closes it), opened read-write.
    public let fd: Int32
    /// The file, named in errors.
    public let path: String
    /// The header, MAC-verified when the file was opened.
    public let header: FileHeader
    /// Authenticated plaintext size as of the last `refresh` or `commit`.
    public internal(set) var plaintextSize: UInt64 = 0
    /// The ciphertext size on disk as of the last `refresh` or `commit`.
    public internal(set) var backingSize: Int = 0
    let fileKey: SecureBytes
    /// K_payload (docs/format.md §5), from which the cipher contexts below are made.
    private let payloadKey: SecureBytes
    /// The cipher contexts, made at the first read and the first write: a file that is only
    /// read needs no sealing context, and `releaseBuffers` drops both, so a closed file that
    /// awaits its checkpoint holds none (docs/mount.md §9, memory).
    private var openerStorage: SegmentOpener?
    private var sealerStorage: MutableSegmentSealer?

    private func opener() throws -> SegmentOpener {
        if let opener = openerStorage { return opener }
        let opener = try SegmentOpener(suite: header.payloadSuite, payloadKey: payloadKey)
        openerStorage = opener
        return opener
    }

    func sealer() throws -> MutableSegmentSealer {
        if let sealer = sealerStorage { return sealer }
        let sealer = try MutableSegmentSealer(payloadKey: payloadKey)
        sealerStorage = sealer
        return sealer
    }
    private let handle: FileHandle
    /// The id of our last journal whose file data may not be durable yet (§14.2).
    var pendingCommitID: [UInt8]?

    /// The payload suite (only `.mutable` files can be committed to).
    public var suite: PayloadSuite { header.payloadSuite }
    /// The file's segment geometry: 4 KiB segments for suite-2 files made since 2026-12-03,
    /// 64 KiB for older ones and for suite 1 (docs/format.md §13.1a).
    public let layout: SegmentLayout
    /// Plaintext bytes per full segment.
    public var segmentSize: Int { layout.segmentSize }

    init(fd: Int32, path: String, header: FileHeader, fileKey: SecureBytes) throws {
        self.fd = fd
        self.path = path
        self.header = header
        self.fileKey = fileKey
        layout = header.layout
        handle = FileHandle(borrowing: fd, path: path)
        payloadKey = KeySchedule.payloadKey(fileKey: fileKey, core: header.core)
    }

    /// Opens the existing encrypted file on `fd`: parses the header, finds the file key with
    /// `identities` and verifies the header MAC (docs/format.md §7.2).
    public convenience init(fd: Int32, path: String, identities: [any Identity]) throws {
        let header = try EncryptedFile.readHeaderAtStart(of: FileHandle(borrowing: fd, path: path))
        let fileKey = try EncryptedFile.unlockFileKey(header, identities: identities, path: path)
        try self.init(fd: fd, path: path, header: header, fileKey: fileKey)
        try refresh()
    }

    /// Writes a new, empty suite-2 file into the empty file open on `fd`: the header and one
    /// empty final segment (§13.3). Not durable until the caller fsyncs.
    public static func create(fd: Int32, path: String, zoneID: [UInt8], recipients: [any Recipient]) throws -> MutableFile {
        let (header, fileKey) = try newHeader(zoneID: zoneID, recipients: recipients, path: path)
        return try create(fd: fd, path: path, header: header, fileKey: fileKey)
    }

    /// `create` with a header and file key from `makeHeader`, made earlier (`zone mount` makes
    /// them ahead, docs/mount.md §1.3).
    public static func create(fd: Int32, path: String, header: FileHeader, fileKey: SecureBytes) throws -> MutableFile {
        let file = try MutableFile(fd: fd, path: path, header: header, fileKey: fileKey)
        try file.writeEmpty(fd: fd)
        return file
    }

    /// A new suite-2 header for `recipients` and its fresh file key and file id, apart from any
    /// file: nothing in it depends on the name the file will have.
    public static func makeHeader(zoneID: [UInt8], recipients: [any Recipient]) throws -> (header: FileHeader, fileKey: SecureBytes) {
        try newHeader(zoneID: zoneID, recipients: recipients, path: "")
    }

    /// Writes the header and the empty final segment (§13.3), in one `pwrite`, and cuts the
    /// file there if it was longer. A new file (every create through `zone mount`) was empty:
    /// its `ftruncate` to the size just written cost as much as the write (docs/mount.md §9).
    private func writeEmpty(fd: Int32) throws {
        let length = header.encodedLength + PayloadSuite.mutable.overhead
        var bytes = header.encoded + [UInt8](repeating: 0, count: PayloadSuite.mutable.overhead)
        try bytes.withUnsafeMutableBytes { out in
            try sealer().seal(UnsafeRawBufferPointer(start: nil, count: 0), index: 0, isFinal: true,
                              into: UnsafeMutableRawBufferPointer(rebasing: out[header.encodedLength...]))
            try handle.writeAll(UnsafeRawBufferPointer(out), at: 0)
        }
        if Int(try handle.status().st_size) != length {
            guard ftruncate(fd, off_t(length)) == 0 else { throw FormatError.io(path: path, operation: "truncate", errno: errno) }
        }
        try refresh()
    }

    /// Writes into the empty file open on `fd` an empty file with this file's header — same
    /// file id, file key and slots — and returns it open for commits: where `zone mount`
    /// builds a new file's content unnamed before the first durable point replaces the empty
    /// file by it (docs/mount.md §3.5). Not durable until the caller fsyncs.
    public func emptyCopy(fd: Int32) throws -> MutableFile {
        let copy = try MutableFile(fd: fd, path: path, header: header, fileKey: fileKey)
        try copy.writeEmpty(fd: fd)
        return copy
    }

    /// Makes the file the empty file again — cut to its header, a newly sealed empty final
    /// segment — after a torn first commit under a new-file mark (docs/format.md §14.5). Not
    /// durable until the caller fsyncs; the mark stays, so a reset torn in turn is done again.
    func resetToEmpty() throws {
        guard ftruncate(fd, off_t(header.encodedLength)) == 0 else { throw FormatError.io(path: path, operation: "truncate", errno: errno) }
        try writeEmpty(fd: fd)
    }

    /// Sets the new-file mark (docs/format.md §14.5) on this file, which must still be the
    /// empty file and not yet have a name; false where the file system keeps no user attributes.
    @discardableResult
    public func setNewFileMark() -> Bool {
        NewFileMark.set(fd: fd, header: header, fileKey: fileKey)
    }

    /// Runs the reader's step of §14.5 (the caller holds the commit lock, after `recover`).
    public func recoverNewFileMark() throws -> NewFileMark.Outcome {
        defer { try? refresh() }
        return try NewFileMark.recover(fd: fd, header: header, fileKey: fileKey, path: path)
    }

    /// The backing size of an empty suite-2 file with this header (header + one empty final segment).
    public var emptyBackingSize: Int { header.encodedLength + PayloadSuite.mutable.overhead }

    static func newHeader(zoneID: [UInt8], recipients: [any Recipient], path: String,
                          keeping old: (header: FileHeader, fileKey: SecureBytes)? = nil) throws -> (FileHeader, SecureBytes) {
        guard zoneID.count == Layout.zoneIDLength else { throw FormatError.invalidArgument(problem: "a zone id is 16 bytes") }
        if let old {
            // A suite-1 file becomes suite 2 with its file key, file id and slots (§13.4).
            let core = HeaderCodec.core(fileID: old.header.fileID, zoneID: old.header.zoneID, layout: .mutable)
            let bytes = try HeaderCodec.encode(core: core, slots: old.header.slots, fileKey: old.fileKey)
            return (try HeaderCodec.parse(bytes, path: path), old.fileKey)
        }
        guard !recipients.isEmpty else { throw FormatError.invalidArgument(problem: "a file needs at least one recipient") }
        let fileKey = SecureBytes.random(count: Layout.fileKeyLength)
        let fileID = SecureRandom.bytes(count: Layout.fileIDLength)
        let core = HeaderCodec.core(fileID: fileID, zoneID: zoneID, layout: .mutable)
        let slots = try recipients.map { try $0.wrap(fileKey, fileID: fileID) }
        let bytes = try HeaderCodec.encode(core: core, slots: slots, fileKey: fileKey)
        return (try HeaderCodec.parse(bytes, path: path), fileKey)
    }

    /// Frees the cipher contexts; the next read or write makes them again. (The sealed-segment
    /// buffer is borrowed per read or write from a pool shared by every open file,
    /// `SealedSegmentPool`.)
    public func releaseBuffers() {
        openerStorage = nil
        sealerStorage = nil
        spareOpeners.withLock { $0.removeAll() }
    }

    /// Re-reads the size (another writer may have committed) and checks its geometry.
    public func refresh() throws {
        backingSize = Int(try handle.status().st_size)
        plaintextSize = try EncryptedFile.geometry(payloadLength: backingSize - header.encodedLength, layout: layout, path: path).plaintext
    }

    /// Number of segments of a plaintext of `size` bytes (an empty file has one, empty).
    public func segmentCount(plaintext size: UInt64) -> UInt64 { layout.segmentCount(plaintext: size) }

    /// Plaintext length of segment `index` in a file of `size` bytes.
    func length(ofSegment index: UInt64, plaintext size: UInt64) -> Int { layout.length(ofSegment: index, plaintext: size) }

    func offset(ofSegment index: UInt64) -> Int { header.encodedLength + Int(index) * layout.sealedSegment }

    /// Reads and authenticates segment `index` (by the size of the last refresh) into
    /// `buffer` (one segment); returns its plaintext length.
    public func readSegment(_ index: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = segmentCount(plaintext: plaintextSize)
        guard index < count else { return 0 }
        let length = self.length(ofSegment: index, plaintext: plaintextSize)
        let sealedCount = length + suite.overhead
        return try SealedSegmentPool.borrow { sealed in
            let got = try handle.readFully(into: UnsafeMutableRawBufferPointer(rebasing: sealed[0..<sealedCount]), at: offset(ofSegment: index))
            guard got == sealedCount else { throw FormatError.truncated(path: path) }
            return try opener().open(UnsafeRawBufferPointer(rebasing: sealed[0..<sealedCount]), index: index, isFinal: index == count - 1,
                                   into: buffer, path: path)
        }
    }

    /// Segments `readSegments` reads with one `pread` at most: sixteen 4 KiB ones, one 64 KiB one.
    public var segmentsPerRead: Int { max(1, SealedSegmentPool.bufferSize / layout.sealedSegment) }

    /// Reads and authenticates up to `count` whole segments from `first` (by the size of the
    /// last refresh) with one `pread` into `buffer`, back to back; stops after the final
    /// segment or when the sealed bytes would not fit one pooled buffer. Returns the
    /// plaintext bytes written into `buffer` (segments × segment size, the final one shorter).
    /// Each segment is authenticated before its bytes count (docs/format.md §13.2).
    public func readSegments(from first: UInt64, count: Int, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try readSegments(from: first, count: count, size: plaintextSize, opener: opener(), into: buffer)
    }

    /// `readSegments` for a caller that reads from several threads at once: by the plaintext
    /// size `size` the caller took under its own lock, touching no state of this file but
    /// its descriptor, with a cipher context lent to this read alone. `zone mount` reads a
    /// file the kernel reads ahead this way, two requests in flight on two processors
    /// (docs/mount.md §3.1).
    public func readSegmentsConcurrently(from first: UInt64, count: Int, size: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let opener = try spareOpeners.withLock { $0.popLast() } ?? SegmentOpener(suite: header.payloadSuite, payloadKey: payloadKey)
        defer { spareOpeners.withLock { if $0.count < Self.spareOpenerLimit { $0.append(opener) } } }
        return try readSegments(from: first, count: count, size: size, opener: opener, into: buffer)
    }

    /// Cipher contexts kept for `readSegmentsConcurrently`: as many as reads run at once.
    private let spareOpeners = Mutex<[SegmentOpener]>([])
    static let spareOpenerLimit = 4

    private func readSegments(from first: UInt64, count: Int, size: UInt64, opener: SegmentOpener,
                              into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let total = segmentCount(plaintext: size)
        guard first < total, count > 0 else { return 0 }
        let sealedSize = layout.sealedSegment
        let wanted = Int(min(UInt64(min(count, segmentsPerRead)), total - first))
        let lastLength = length(ofSegment: first + UInt64(wanted) - 1, plaintext: size)
        let sealedCount = (wanted - 1) * sealedSize + lastLength + suite.overhead
        precondition(buffer.count >= (wanted - 1) * segmentSize + lastLength)
        return try SealedSegmentPool.borrow { sealed in
            let got = try handle.readFully(into: UnsafeMutableRawBufferPointer(rebasing: sealed[0..<sealedCount]), at: offset(ofSegment: first))
            guard got == sealedCount else { throw FormatError.truncated(path: path) }
            var plain = 0
            for i in 0..<wanted {
                let index = first + UInt64(i)
                let length = i == wanted - 1 ? lastLength : segmentSize
                let from = i * sealedSize
                plain += try opener.open(UnsafeRawBufferPointer(rebasing: sealed[from..<(from + length + suite.overhead)]),
                                         index: index, isFinal: index == total - 1,
                                         into: UnsafeMutableRawBufferPointer(rebasing: buffer[(i * segmentSize)...]), path: path)
            }
            return plain
        }
    }
}
