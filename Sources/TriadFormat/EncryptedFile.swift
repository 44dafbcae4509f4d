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
        guard zoneID.count == Layout.zoneIDLength else { throw FormatError.invalidArgument(problem: "a zone id is 16 bytes") }
        guard !recipients.isEmpty else { throw FormatError.invalidArgument(problem: "a file needs at least one recipient") }
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
        let temp = try AtomicFile(destination: outputPath)
        return try decryptPending(input: input, journal: try FileLocation.byPath(inputPath), into: temp,
                                  finalMode: AtomicFile.mode(of: outputPath) ?? 0o600, identities: identities)
    }

    /// `decryptPending` for a file opened beneath a root (docs/zone.md §1b) into `output`,
    /// reached through its folder's descriptor. The plaintext temporary stays 0600 until the
    /// commit, which applies `finalMode`; with `replacing` false the commit refuses an existing
    /// name (`ConfinementError.exists`). An existing link at `output` is replaced, never followed.
    public static func decryptPending(input: OpenedFile, to output: FileLocation, replacing: Bool, finalMode: mode_t,
                                      identities: [any Identity]) throws -> PendingFile {
        let temp = try AtomicFile(output, replacing: replacing)
        return try decryptPending(input: FileHandle(borrowing: input.fd, path: input.path), journal: input.location,
                                  into: temp, finalMode: finalMode, identities: identities)
    }

    private static func decryptPending(input: FileHandle, journal: FileLocation, into temp: AtomicFile, finalMode: mode_t,
                                       identities: [any Identity]) throws -> PendingFile {
        do {
            try input.seek(to: 0)
            let header = try readHeader(from: input)
            let fileKey = try unlockFileKey(header, identities: identities, path: input.path)
            try WriteJournal.recoverIfPresent(at: journal, header: header, fileKey: fileKey)
            let payloadKey = KeySchedule.payloadKey(fileKey: fileKey, core: header.core)
            // As encryption (§7.3): 1 MiB writes, on a second thread for a large file, with
            // writeback started as it goes.
            let out = ChunkedOutput(output: temp.handle, overlap: try PayloadStream.overlapsWrites(input: input, inputStatus: nil,
                                                                                                   output: temp.handle),
                                    chunkSize: PayloadStream.chunkSize)
            _ = try PayloadStream.decrypt(from: input, payloadKey: payloadKey, suite: header.payloadSuite, path: input.path) { plain, _, _ in
                try out.append(plain)
            }
            try out.finish()
            temp.finishWriting(modeAtCommit: finalMode)
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
            throw FormatError.invalidArgument(problem: "\(inputPath) is not a regular file; decrypting to a stream needs to read it twice")
        }
        try decrypt(input: input, journal: try FileLocation.byPath(inputPath), to: fd, identities: identities)
    }

    /// `decrypt(inputPath:to:)` for a regular file opened beneath a root (docs/zone.md §1b).
    public static func decrypt(input: OpenedFile, to fd: Int32, identities: [any Identity]) throws {
        try decrypt(input: FileHandle(borrowing: input.fd, path: input.path), journal: input.location,
                    to: fd, identities: identities)
    }

    private static func decrypt(input: FileHandle, journal: FileLocation, to fd: Int32, identities: [any Identity]) throws {
        let inputPath = input.path
        try input.seek(to: 0)
        let header = try readHeader(from: input)
        let fileKey = try unlockFileKey(header, identities: identities, path: inputPath)
        try WriteJournal.recoverIfPresent(at: journal, header: header, fileKey: fileKey)
        let before = try input.status()
        let payloadKey = KeySchedule.payloadKey(fileKey: fileKey, core: header.core)
        _ = try PayloadStream.decrypt(from: input, payloadKey: payloadKey, suite: header.payloadSuite, path: inputPath) { _, _, _ in }
        let after = try input.status()
        guard after.st_size == before.st_size, after.st_mtim.tv_sec == before.st_mtim.tv_sec,
              after.st_mtim.tv_nsec == before.st_mtim.tv_nsec else {
            throw FormatError.invalidArgument(problem: "\(inputPath) changed while it was being verified; try again")
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
