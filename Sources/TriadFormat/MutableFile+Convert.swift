#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import DurableFile
import SystemPackage
import TriadCrypto

extension MutableFile {
    /// What a file was before `rewriteAsMutable` made it a suite-2 file.
    public enum Origin: Equatable, Sendable {
        case plaintext
        case streamSuite
    }

    /// Replaces the file `name` in the folder `directoryFD` by a suite-2 file with the same
    /// plaintext (docs/format.md §13.4): a plaintext file is encrypted for `recipients`; a
    /// suite-1 file keeps its file key, file id and slots (the suite byte is in the core, so
    /// every derived key changes) and needs no public-key operation. With `empty` the new
    /// file is empty (an `O_TRUNC` open). Written to a temporary, fsynced, renamed over the
    /// original, the folder fsynced: a crash leaves the old file or the new one.
    ///
    /// The caller holds the commit lock on `sourceFD` (the original, open for reading).
    /// - Returns: what the file was.
    @discardableResult
    public static func rewriteAsMutable(sourceFD: Int32, path: String, directoryFD: Int32, name: String,
                                        identities: [any Identity], zoneID: [UInt8], recipients: [any Recipient],
                                        empty: Bool) throws -> Origin {
        let source = FileHandle(borrowing: sourceFD, path: path)
        let status = try source.status()
        let origin: Origin = EncryptedFile.isEncrypted(fd: sourceFD) ? .streamSuite : .plaintext
        var old: (header: FileHeader, fileKey: SecureBytes)?
        if origin == .streamSuite {
            try source.seek(to: 0)
            let header = try EncryptedFile.readHeader(from: source)
            guard header.payloadSuite == .stream else {
                throw FormatError.invalidArgument(problem: "\(path) is already a suite 2 file")
            }
            old = (header, try EncryptedFile.unlockFileKey(header, identities: identities, path: path))
        }
        let (header, fileKey) = try newHeader(zoneID: zoneID, recipients: recipients, path: path, keeping: old)
        let folderFD = dup(directoryFD)
        guard folderFD >= 0 else { throw FormatError.io(path: path, operation: "open", errno: errno) }
        let folder = DurableFolder(adopting: folderFD, path: FilePath(path).removingLastComponent())
        let staged = try Staging.mapped {
            try StagedFile(in: folder, name: name, finalMode: status.st_mode & 0o7777)
        }
        let target = staged.handle
        do {
            let file = try MutableFile(fd: staged.fd, path: target.path, header: header, fileKey: fileKey)
            try target.writeAll(header.encoded, at: 0)
            var offset = header.encodedLength
            let out = SegmentBuffer(count: header.layout.sealedSegment)
            // The new file's segments (4 KiB) are cut from the old file's (64 KiB) or the plaintext.
            var segments = Resegmenter(size: header.layout.segmentSize)
            func emit(_ plain: UnsafeRawBufferPointer, _ index: UInt64, _ isFinal: Bool) throws {
                let sealed = out.prefix(plain.count + PayloadSuite.mutable.overhead)
                try file.sealer().seal(plain, index: index, isFinal: isFinal, into: sealed)
                try target.writeAll(UnsafeRawBufferPointer(sealed), at: offset)
                offset += sealed.count
            }
            if empty {
                try emit(UnsafeRawBufferPointer(start: nil, count: 0), 0, true)
            } else if let old {
                try source.seek(to: old.header.encodedLength)
                let payloadKey = KeySchedule.payloadKey(fileKey: old.fileKey, core: old.header.core)
                _ = try PayloadStream.decrypt(from: source, payloadKey: payloadKey, layout: .stream, path: path) { piece, _, isLast in
                    try segments.feed(piece, isLast: isLast, emit: emit)
                }
            } else {
                try source.seek(to: 0)
                var current = SegmentBuffer(count: Layout.segmentSize)
                var next = SegmentBuffer(count: Layout.segmentSize)
                var count = try current.fill { try source.readFully(into: $0) }
                while true {
                    var nextCount = 0
                    if count == Layout.segmentSize { nextCount = try next.fill { try source.readFully(into: $0) } }
                    let isLast = nextCount == 0
                    try segments.feed(UnsafeRawBufferPointer(current.prefix(count)), isLast: isLast, emit: emit)
                    if isLast { break }
                    swap(&current, &next)
                    count = nextCount
                }
            }
        } catch {
            staged.discard()
            throw error
        }
        try PendingFile(staged: staged).commit()
        return origin
    }
}
