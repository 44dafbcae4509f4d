#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import TriadCrypto

/// Whole-file operations on the encrypted file format (docs/format.md). Every operation
/// that produces a file writes a temporary file beside the destination, fsyncs it and
/// renames it over the destination (docs/format.md §7.1), and removes the temporary on any error.
public enum EncryptedFile {
    /// Encrypts the plaintext at `inputPath` to a temp file beside `outputPath`, fsyncs it,
    /// renames it over `outputPath` (crash-safe; `inputPath == outputPath` is the in-place case).
    /// The result keeps the permission bits of the file it replaces (or of the input).
    public static func encrypt(inputPath: String, outputPath: String, zoneID: [UInt8], recipients: [any Recipient]) throws {
        try encrypt(inputPath: inputPath, outputPath: outputPath, zoneID: zoneID, recipients: recipients, random: .system)
    }

    static func encrypt(inputPath: String, outputPath: String, zoneID: [UInt8], recipients: [any Recipient],
                        random: RandomSource) throws {
        let input = try FileHandle(path: inputPath, flags: O_RDONLY)
        let mode = AtomicFile.mode(of: outputPath) ?? (try? input.status().st_mode & 0o7777) ?? 0o600
        let temp = try AtomicFile(destination: outputPath)
        do {
            try encryptStream(from: input, to: temp.handle, zoneID: zoneID, recipients: recipients, random: random)
            try temp.commit(mode: mode)
        } catch {
            temp.discard()
            throw error
        }
    }

    /// Streams plaintext from `inputFD` (a file or a pipe) to `outputFD` as an encrypted file.
    /// Memory stays at two segments whatever the length. The caller owns both descriptors and
    /// must discard the output if this throws.
    public static func encrypt(readingFrom inputFD: Int32, writingTo outputFD: Int32, zoneID: [UInt8],
                               recipients: [any Recipient]) throws {
        try encryptStream(from: FileHandle(borrowing: inputFD, path: "<input>"),
                          to: FileHandle(borrowing: outputFD, path: "<output>"),
                          zoneID: zoneID, recipients: recipients, random: .system)
    }

    static func encryptStream(from input: FileHandle, to output: FileHandle, zoneID: [UInt8],
                              recipients: [any Recipient], random: RandomSource, inputStatus: stat? = nil) throws {
        guard zoneID.count == Layout.zoneIDLength else { throw FormatError.invalidArgument("a zone id is 16 bytes") }
        guard !recipients.isEmpty else { throw FormatError.invalidArgument("a file needs at least one recipient") }
        let fileKey = random.key(Layout.fileKeyLength)
        let fileID = random.bytes(Layout.fileIDLength)
        let core = HeaderCodec.core(fileID: fileID, zoneID: zoneID)
        let slots = try recipients.map { try $0.wrap(fileKey, fileID: fileID) }
        try output.writeAll(HeaderCodec.encode(core: core, slots: slots, fileKey: fileKey))
        let payloadKey = KeySchedule.payloadKey(fileKey: fileKey, core: core)
        _ = try PayloadStream.encrypt(from: input, to: output, payloadKey: payloadKey, inputStatus: inputStatus)
    }

    /// Decrypts to a file the same crash-safe way; on any failure nothing is left at
    /// `outputPath` or in the temp. A new file gets mode 0600; a replaced one keeps its mode.
    public static func decrypt(inputPath: String, outputPath: String, identities: [any Identity]) throws {
        try decryptPending(inputPath: inputPath, outputPath: outputPath, identities: identities).commit()
    }

    /// `decrypt` up to the batch commit (docs/format.md §7.4): every segment has verified and
    /// the plaintext is complete in a temporary (mode 0600 until committed, or the mode of the
    /// file it replaces); `PendingBatch.commit` makes it durable and renames it.
    public static func decryptPending(inputPath: String, outputPath: String, identities: [any Identity]) throws -> PendingFile {
        let input = try FileHandle(path: inputPath, flags: O_RDONLY)
        let header = try readHeader(from: input)
        let fileKey = try unlockFileKey(header, identities: identities, path: inputPath)
        try WriteJournal.recoverIfPresent(path: inputPath, header: header, fileKey: fileKey)
        let payloadKey = KeySchedule.payloadKey(fileKey: fileKey, core: header.core)
        let mode = AtomicFile.mode(of: outputPath) ?? 0o600
        let temp = try AtomicFile(destination: outputPath)
        do {
            // As encryption (§7.3): 1 MiB writes, on a second thread for a large file, with
            // writeback started as it goes.
            let out = ChunkedOutput(output: temp.handle, overlap: try PayloadStream.overlapsWrites(input: input, inputStatus: nil,
                                                                                                   output: temp.handle),
                                    chunkSize: PayloadStream.chunkSize)
            _ = try PayloadStream.decrypt(from: input, payloadKey: payloadKey, suite: header.payloadSuite, path: inputPath) { plain, _, _ in
                try out.append(plain)
            }
            try out.finish()
            try temp.finishWriting(mode: mode)
        } catch {
            temp.discard()
            throw error
        }
        return PendingFile(temp: temp)
    }

    /// Decrypts to an open descriptor (`zone cat` → stdout). Every segment is verified in a
    /// first pass before the second pass writes anything, so no plaintext reaches `fd` for a
    /// file that fails authentication, whether `fd` is a pipe, a terminal or a file.
    /// The input must be a regular file (it is read twice through one open descriptor).
    public static func decrypt(inputPath: String, to fd: Int32, identities: [any Identity]) throws {
        let input = try FileHandle(path: inputPath, flags: O_RDONLY)
        guard (try input.status().st_mode & S_IFMT) == S_IFREG else {
            throw FormatError.invalidArgument("\(inputPath) is not a regular file; decrypting to a stream needs to read it twice")
        }
        let header = try readHeader(from: input)
        let fileKey = try unlockFileKey(header, identities: identities, path: inputPath)
        try WriteJournal.recoverIfPresent(path: inputPath, header: header, fileKey: fileKey)
        let before = try input.status()
        let payloadKey = KeySchedule.payloadKey(fileKey: fileKey, core: header.core)
        _ = try PayloadStream.decrypt(from: input, payloadKey: payloadKey, suite: header.payloadSuite, path: inputPath) { _, _, _ in }
        let after = try input.status()
        guard after.st_size == before.st_size, after.st_mtim.tv_sec == before.st_mtim.tv_sec,
              after.st_mtim.tv_nsec == before.st_mtim.tv_nsec else {
            throw FormatError.invalidArgument("\(inputPath) changed while it was being verified; try again")
        }
        try input.seek(to: header.encodedLength)
        let output = FileHandle(borrowing: fd, path: "<output>")
        let out = ChunkedOutput(output: output, overlap: try PayloadStream.overlapsWrites(input: input, inputStatus: before, output: output),
                                chunkSize: PayloadStream.chunkSize)
        _ = try PayloadStream.decrypt(from: input, payloadKey: payloadKey, suite: header.payloadSuite, path: inputPath) { plain, _, _ in
            try out.append(plain)
        }
        try out.finish()
    }
}
