#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import DurableFile
import TriadCrypto

/// Whole-file operations on the encrypted file format (docs/format.md).
///
/// Every operation that produces a file (`encrypt`, `decrypt` to a file, `rewrap`,
/// `reencrypt`) returns a `PendingFile`: the new content complete in a temporary beside the
/// destination, through the durable-write module (docs/format.md §7.1). The caller commits
/// it on its own (`commit()`) or with others in one round of durability (`PendingBatch`,
/// §7.4); dropping it removes the temporary. Inputs are files already open: beneath a root
/// (`Beneath`, docs/zone.md §1b) or by a path the user named (`OpenedFile.at`).
public enum EncryptedFile {
    /// Encrypts `input` into `output` (nil: in place, replacing `input`'s name). The result
    /// gets the permission bits of the file it replaces, or of the input.
    public static func encrypt(_ input: OpenedFile, to output: FileLocation? = nil, zoneID: [UInt8],
                               recipients: [any Recipient]) throws -> PendingFile {
        try encrypt(input, to: output, zoneID: zoneID, recipients: recipients, random: .system)
    }

    static func encrypt(_ input: OpenedFile, to output: FileLocation? = nil, zoneID: [UInt8], recipients: [any Recipient],
                        random: RandomSource) throws -> PendingFile {
        let location = output ?? input.location
        let mode = output.flatMap(\.existingMode) ?? input.mode
        let staged = try Staging.file(at: location, finalMode: mode)
        try encryptStream(from: FileHandle(borrowing: input.fd, path: input.path), to: staged.handle, zoneID: zoneID,
                          recipients: recipients, random: random, inputStatus: input.status)
        return PendingFile(staged: staged)
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

    /// Decrypts `input` into `output` (nil: in place). Every segment has verified and the
    /// plaintext is complete in a temporary, mode 0600 until the commit, which applies
    /// `finalMode` (nil: the mode of the file replaced, else 0600 for a new file). With
    /// `replacing` false the commit refuses an existing name (`ConfinementError.exists`); an
    /// existing link at `output` is replaced, never followed.
    public static func decrypt(_ input: OpenedFile, to output: FileLocation? = nil, replacing: Bool = true,
                               finalMode: mode_t? = nil, identities: [any Identity]) throws -> PendingFile {
        let location = output ?? input.location
        let mode = finalMode ?? (output == nil ? input.mode : location.existingMode ?? 0o600)
        let staged = try Staging.file(at: location, replacing: replacing, finalMode: mode)
        let source = FileHandle(borrowing: input.fd, path: input.path)
        let target = staged.handle
        try source.seek(to: 0)
        let header = try readHeader(from: source)
        let fileKey = try unlockFileKey(header, identities: identities, path: input.path)
        try WriteJournal.recoverIfPresent(at: input.location, readFD: input.fd, header: header, fileKey: fileKey)
        let payloadKey = KeySchedule.payloadKey(fileKey: fileKey, core: header.core)
        // As encryption (§7.3): 1 MiB writes, on a second thread for a large file, with
        // writeback started as it goes.
        let out = ChunkedOutput(output: target, overlap: try PayloadStream.overlapsWrites(input: source, inputStatus: nil, output: target),
                                chunkSize: PayloadStream.chunkSize)
        _ = try PayloadStream.decrypt(from: source, payloadKey: payloadKey, layout: header.layout, path: input.path) { plain, _, _ in
            try out.append(plain)
        }
        try out.finish()
        return PendingFile(staged: staged)
    }

    /// Decrypts to an open descriptor (`zone cat` → stdout). Every segment is verified in a
    /// first pass before the second pass writes anything, so no plaintext reaches `fd` for a
    /// file that fails authentication, whether `fd` is a pipe, a terminal or a file. `input`
    /// is a regular file (`OpenedFile` checks), read twice through its one descriptor.
    public static func decrypt(_ input: OpenedFile, to fd: Int32, identities: [any Identity]) throws {
        try decrypt(input: FileHandle(borrowing: input.fd, path: input.path), journal: input.location,
                    to: fd, identities: identities)
    }

    private static func decrypt(input: FileHandle, journal: FileLocation, to fd: Int32, identities: [any Identity]) throws {
        let inputPath = input.path
        try input.seek(to: 0)
        let header = try readHeader(from: input)
        let fileKey = try unlockFileKey(header, identities: identities, path: inputPath)
        try WriteJournal.recoverIfPresent(at: journal, readFD: input.fd, header: header, fileKey: fileKey)
        let before = try input.status()
        let payloadKey = KeySchedule.payloadKey(fileKey: fileKey, core: header.core)
        _ = try PayloadStream.decrypt(from: input, payloadKey: payloadKey, layout: header.layout, path: inputPath) { _, _, _ in }
        let after = try input.status()
        guard after.st_size == before.st_size, after.st_mtim.tv_sec == before.st_mtim.tv_sec,
              after.st_mtim.tv_nsec == before.st_mtim.tv_nsec else {
            throw FormatError.invalidArgument(problem: "\(inputPath) changed while it was being verified; try again")
        }
        try input.seek(to: header.encodedLength)
        let output = FileHandle(borrowing: fd, path: "<output>")
        let out = ChunkedOutput(output: output, overlap: try PayloadStream.overlapsWrites(input: input, inputStatus: before, output: output),
                                chunkSize: PayloadStream.chunkSize)
        _ = try PayloadStream.decrypt(from: input, payloadKey: payloadKey, layout: header.layout, path: inputPath) { plain, _, _ in
            try out.append(plain)
        }
        try out.finish()
    }
}
