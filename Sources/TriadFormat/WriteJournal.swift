#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
internal import CLinux
import TriadCrypto

/// The write journal of a mutable-suite file (docs/format.md §14): the sealed segments and
/// the new size of one commit, written beside the file and made durable *before* any byte
/// of the file changes, so a crash at any moment leaves either the old file (journal torn:
/// discarded) or a journal that completes the new one (replayed by the next opener).
///
/// `.triad-journal-<file id hex>` in the file's folder. Layout:
/// `"TRIADWJ1" ‖ commit id (16) ‖ file id (32) ‖ SHA-256(header) (32) ‖ BE64 new size ‖
/// BE32 N ‖ N × (BE64 offset ‖ BE32 length ‖ bytes) ‖ HMAC-SHA256(K_journal, SHA-256(all before))`.
public enum WriteJournal {
    static let magic: [UInt8] = Array("TRIADWJ1".utf8)
    static let label = Array("triad/v1/write-journal".utf8)
    static let fixedLength = 8 + 16 + 32 + 32 + 8 + 4
    /// Largest entry (docs/format.md §14.1): one 64 KiB sealed segment, or a run of adjacent
    /// 4 KiB sealed segments no longer than that.
    static let maxEntryLength = SegmentLayout.largestSealedSegment
    /// Journal files start with this; listings skip them and the next opener of their file replays or removes them.
    public static let namePrefix = ".triad-journal-"

    /// The journal's file name for a file id.
    public static func name(fileID: [UInt8]) -> String { namePrefix + Hex.encode(fileID) }

    /// K_journal = HKDF-SHA256(FK, salt = file id, info = "triad/v1/write-journal" ‖ core).
    static func key(fileKey: SecureBytes, header: FileHeader) -> SecureBytes {
        HKDF.deriveKey(inputKey: fileKey, salt: header.fileID, info: label + header.core, outputByteCount: 32)
    }

    /// What `recover` found.
    public enum Outcome: Equatable, Sendable {
        /// No journal for this file.
        case none
        /// A complete journal was applied: the file now holds that commit.
        case replayed
        /// A torn journal or one for an older header was removed; the file was left as it is.
        case discarded
    }

    /// Replays or discards the journal of the file open on `fd` (read-write), found in the
    /// folder `directoryFD`. The caller holds the file's commit lock (`CommitLock`).
    public static func recover(fd: Int32, directoryFD: Int32, header: FileHeader, fileKey: SecureBytes,
                               path: String) throws -> Outcome {
        let name = name(fileID: header.fileID)
        let jfd = openat(directoryFD, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        if jfd < 0 {
            if errno == ENOENT { return .none }
            throw FormatError.io(path: name, operation: "open", errno: errno)
        }
        defer { close(jfd) }
        let journal = FileHandle(borrowing: jfd, path: name)
        guard let record = try? Record.verify(journal, header: header, key: key(fileKey: fileKey, header: header)) else {
            unlinkat(directoryFD, name, 0)
            return .discarded
        }
        let file = FileHandle(borrowing: fd, path: path)
        // Bytes already in place are not written again, so replaying a journal whose commit
        // completed (one not yet checkpointed) changes nothing, not even the file's mtime.
        for entry in record.entries where try !matches(journal, at: entry.journalOffset, count: entry.length,
                                                       file, at: entry.fileOffset) {
            try copy(from: journal, at: entry.journalOffset, count: entry.length, to: file, at: entry.fileOffset)
        }
        if try file.status().st_size != off_t(record.newSize) {
            guard ftruncate(fd, off_t(record.newSize)) == 0 else { throw FormatError.io(path: path, operation: "truncate", errno: errno) }
        }
        guard fdatasync(fd) == 0 else { throw FormatError.io(path: path, operation: "fdatasync", errno: errno) }
        unlinkat(directoryFD, name, 0)
        return .replayed
    }

    /// The recovery steps every reader of a file by path runs (docs/format.md §14.3, §14.5):
    /// when a journal lies beside `path` or the file open for reading on `readFD` carries a
    /// new-file mark, take the commit lock, reopen read-write and recover.
    static func recoverIfPresent(path: String, readFD: Int32, header: FileHeader, fileKey: SecureBytes) throws {
        try recoverIfPresent(at: FileLocation.at(path), readFD: readFD, header: header, fileKey: fileKey)
    }

    /// The same through the file's folder descriptor: the journal and the file are looked up
    /// in that folder without following links (docs/zone.md §1b).
    static func recoverIfPresent(at location: FileLocation, readFD: Int32, header: FileHeader, fileKey: SecureBytes) throws {
        var st = stat()
        let journal = fstatat(location.directory.fd, name(fileID: header.fileID), &st, AT_SYMLINK_NOFOLLOW) == 0
        guard journal || NewFileMark.isPresent(fd: readFD) else { return }
        let file = try Beneath.regularFile(named: location.name, in: location.directory, writable: true)
        try CommitLock.withExclusive(fd: file.fd, path: file.path) {
            _ = try recover(fd: file.fd, directoryFD: location.directory.fd, header: header, fileKey: fileKey, path: file.path)
            _ = try NewFileMark.recover(fd: file.fd, header: header, fileKey: fileKey, path: file.path)
        }
    }

    static func matches(_ source: FileHandle, at sourceOffset: Int, count: Int, _ target: FileHandle, at targetOffset: Int) throws -> Bool {
        let a = SegmentBuffer(count: count), b = SegmentBuffer(count: count)
        guard try source.readFully(into: a.prefix(count), at: sourceOffset) == count,
              try target.readFully(into: b.prefix(count), at: targetOffset) == count else { return false }
        return memcmp(a.prefix(count).baseAddress!, b.prefix(count).baseAddress!, count) == 0
    }

    static func copy(from source: FileHandle, at sourceOffset: Int, count: Int, to target: FileHandle, at targetOffset: Int) throws {
        var done = 0
        // In the kernel first: no buffer in this process, no copy through user space.
        while done < count {
            let n = triad_linux_copy_file_range(source.fd, Int64(sourceOffset + done), target.fd, Int64(targetOffset + done), count - done)
            if n > 0 { done += n; continue }
            if n < 0 && errno == EINTR { continue }
            break   // 0 (source shorter than expected) or unsupported here: the loop below decides
        }
        guard done < count else { return }
        let buffer = SegmentBuffer(count: min(count - done, 1 << 20))
        while done < count {
            let want = min(count - done, buffer.count)
            let got = try source.readFully(into: buffer.prefix(want), at: sourceOffset + done)
            guard got == want else { throw FormatError.truncated(path: source.path) }
            try target.writeAll(UnsafeRawBufferPointer(buffer.prefix(want)), at: targetOffset + done)
            done += want
        }
    }

    /// One verified journal record: where each entry's bytes lie in the journal file.
    struct Record {
        struct Entry { let fileOffset: Int; let length: Int; let journalOffset: Int }
        let commitID: [UInt8]
        let newSize: Int
        let entries: [Entry]

        /// Streams the journal once: checks layout, file id, header hash and the MAC.
        static func verify(_ journal: FileHandle, header: FileHeader, key: SecureBytes) throws -> Record {
            let size = Int(try journal.status().st_size)
            guard size >= fixedLength + 32 else { throw FormatError.truncated(path: journal.path) }
            let hasher = SHA256Hasher()
            var fixed = [UInt8](repeating: 0, count: fixedLength)
            guard try fixed.withUnsafeMutableBytes({ try journal.readFully(into: $0, at: 0) }) == fixedLength else {
                throw FormatError.truncated(path: journal.path)
            }
            hasher.update(fixed)
            var r = ByteReader(fixed)
            guard r.take(8) == magic else { throw FormatError.notEncrypted(path: journal.path) }
            let commitID = r.take(16)
            guard r.take(32) == header.fileID, r.take(32) == SHA256.hash(header.encoded) else {
                throw FormatError.malformedPayload(path: journal.path, reason: "the journal belongs to another header")
            }
            let newSize = Int(UInt64(r.u32()) << 32 | UInt64(r.u32()))
            let count = Int(r.u32())
            var entries: [Entry] = []
            var offset = fixedLength
            var previousEnd = header.encodedLength
            let buffer = SegmentBuffer(count: maxEntryLength)
            for _ in 0..<count {
                var head = [UInt8](repeating: 0, count: 12)
                guard offset + 12 <= size - 32,
                      try head.withUnsafeMutableBytes({ try journal.readFully(into: $0, at: offset) }) == 12 else {
                    throw FormatError.truncated(path: journal.path)
                }
                hasher.update(head)
                var h = ByteReader(head)
                let fileOffset = Int(UInt64(h.u32()) << 32 | UInt64(h.u32()))
                let length = Int(h.u32())
                guard length > 0, length <= buffer.count, fileOffset >= previousEnd, fileOffset + length <= newSize,
                      offset + 12 + length <= size - 32 else {
                    throw FormatError.malformedPayload(path: journal.path, reason: "an entry is out of order or out of bounds")
                }
                guard try journal.readFully(into: buffer.prefix(length), at: offset + 12) == length else {
                    throw FormatError.truncated(path: journal.path)
                }
                hasher.update(UnsafeRawBufferPointer(buffer.prefix(length)))
                entries.append(Entry(fileOffset: fileOffset, length: length, journalOffset: offset + 12))
                previousEnd = fileOffset + length
                offset += 12 + length
            }
            guard offset + 32 == size else { throw FormatError.trailingData(path: journal.path) }
            var mac = [UInt8](repeating: 0, count: 32)
            _ = try mac.withUnsafeMutableBytes { try journal.readFully(into: $0, at: offset) }
            guard HMACSHA256.isValid(mac, for: hasher.finalize(), key: key) else {
                throw FormatError.headerAuthenticationFailed(path: journal.path)
            }
            return Record(commitID: commitID, newSize: newSize, entries: entries)
        }
    }
}

/// Writes one journal record as the commit produces sealed segments (§14.2). The commit
/// knows how many segments it writes before it seals the first, so the record streams.
final class JournalWriter {
    let handle: FileHandle
    let commitID = SecureRandom.bytes(count: 16)
    private let hasher = SHA256Hasher()
    private var offset = 0
    private let expected: Int
    private let key: SecureBytes
    private(set) var entries: [WriteJournal.Record.Entry] = []

    init(handle: FileHandle, header: FileHeader, fileKey: SecureBytes, newSize: Int, count: Int) throws {
        self.handle = handle
        expected = count
        key = WriteJournal.key(fileKey: fileKey, header: header)
        var fixed = WriteJournal.magic + commitID + header.fileID + SHA256.hash(header.encoded)
        fixed.appendBE(UInt32(UInt64(newSize) >> 32)); fixed.appendBE(UInt32(UInt64(newSize) & 0xFFFF_FFFF))
        fixed.appendBE(UInt32(count))
        // The handle was opened with O_TRUNC: the record starts at offset 0 of an empty file.
        try handle.writeAll(fixed, at: 0)
        hasher.update(fixed)
        offset = fixed.count
    }

    /// Appends the sealed bytes destined for `fileOffset`.
    func append(_ sealed: UnsafeRawBufferPointer, fileOffset: Int) throws {
        var head: [UInt8] = []
        head.appendBE(UInt32(UInt64(fileOffset) >> 32)); head.appendBE(UInt32(UInt64(fileOffset) & 0xFFFF_FFFF))
        head.appendBE(UInt32(sealed.count))
        try handle.writeAll(head, at: offset)
        try handle.writeAll(sealed, at: offset + 12)
        hasher.update(head)
        hasher.update(sealed)
        entries.append(.init(fileOffset: fileOffset, length: sealed.count, journalOffset: offset + 12))
        offset += 12 + sealed.count
        // Start writing each full MiB out while the next segments are sealed: the fdatasync
        // of `finish` (the commit point, unchanged) then waits for less.
        if offset - startedWriteback >= Self.writebackStep {
            _ = triad_linux_start_writeback(handle.fd, Int64(startedWriteback), Int64(offset - startedWriteback))
            startedWriteback = offset
        }
    }

    private var startedWriteback = 0
    static let writebackStep = 1 << 20

    /// Appends the MAC and makes the journal durable (fdatasync): the commit point.
    func finish() throws {
        precondition(entries.count == expected, "the journal announced \(expected) entries")
        try handle.writeAll(HMACSHA256.authenticate(hasher.finalize(), key: key), at: offset)
        guard fdatasync(handle.fd) == 0 else { throw FormatError.io(path: handle.path, operation: "fdatasync", errno: errno) }
    }
}
