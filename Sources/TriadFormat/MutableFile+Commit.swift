#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
internal import CLinux
import TriadCrypto

/// Plaintext bytes written into one segment since the last commit: the written bytes, in
/// 4 KiB pages allocated as they are first written, and the ranges written (sorted,
/// disjoint). Only those bytes are laid over the segment as it is on disk at commit time, so
/// two writers of different bytes of one segment both survive (docs/mount.md §3.2). Pages
/// rather than one buffer per segment: in a 64 KiB segment (suite-2 files made before
/// 2026-12-03) a 4 KiB random write holds 4 KiB, not 64 KiB (docs/mount.md §9); a 4 KiB
/// segment is one page.
public struct SegmentOverlay {
    /// Bytes per page.
    public static let pageSize = 4096
    private let segmentSize: Int
    /// The pages, an empty array for a page not written; allocated at the first write (a
    /// 4 KiB segment's overlay costs no array until then).
    private var pages: ContiguousArray<[UInt8]> = []
    /// The byte ranges written, sorted and disjoint.
    public private(set) var ranges: [Range<Int>] = []

    /// An empty overlay for one segment of `segmentSize` plaintext bytes (a multiple of the page).
    public init(segmentSize: Int) {
        self.segmentSize = segmentSize
    }

    /// Memory held by the written pages.
    public var allocatedBytes: Int { pages.reduce(0) { $0 + ($1.isEmpty ? 0 : Self.pageSize) } }

    /// Copies `bytes` to `offset` within the segment.
    public mutating func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) {
        var done = 0
        _ = fill(at: offset, count: bytes.count) { target in
            target.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[done..<(done + target.count)]))
            done += target.count
            return target.count
        }
    }

    /// Lets `body` fill `count` bytes at `offset` within the segment, page by page in order
    /// (the data of a write request read straight from where it lies), and records the bytes
    /// it reports filled. Returns the total filled, or the first negative value `body` returned.
    public mutating func fill(at offset: Int, count: Int, _ body: (UnsafeMutableRawBufferPointer) -> Int) -> Int {
        precondition(offset >= 0 && offset + count <= segmentSize)
        var position = offset
        let end = offset + count
        while position < end {
            let page = position / Self.pageSize
            let within = position - page * Self.pageSize
            let n = min(end - position, Self.pageSize - within)
            if pages.isEmpty { pages = ContiguousArray(repeating: [], count: max(1, segmentSize / Self.pageSize)) }
            if pages[page].isEmpty {
                // Not zeroed: only the ranges written are ever read back (`apply`), and `wipe`
                // clears the whole page.
                pages[page] = [UInt8](unsafeUninitializedCapacity: Self.pageSize) { _, count in count = Self.pageSize }
            }
            let got = pages[page].withUnsafeMutableBytes { p in body(UnsafeMutableRawBufferPointer(rebasing: p[within..<(within + n)])) }
            if got < 0 { return got }
            if got > 0 { add(position..<(position + min(got, n))) }
            guard got == n else { return position - offset + max(got, 0) }
            position += n
        }
        return count
    }

    /// Lays the written bytes below `limit` over `target` (the segment's plaintext).
    public func apply(to target: UnsafeMutableRawBufferPointer, limit: Int) {
        for r in ranges where r.lowerBound < limit {
            var position = r.lowerBound
            let upper = min(r.upperBound, limit)
            while position < upper {
                let page = position / Self.pageSize
                let within = position - page * Self.pageSize
                let n = min(upper - position, Self.pageSize - within)
                pages[page].withUnsafeBytes { p in
                    (target.baseAddress! + position).copyMemory(from: p.baseAddress! + within, byteCount: n)
                }
                position += n
            }
        }
    }

    mutating func add(_ range: Range<Int>) {
        // Sequential writes extend the last range: no new array per write.
        if ranges.isEmpty { ranges.append(range); return }
        if let last = ranges.last, range.lowerBound >= last.lowerBound, range.lowerBound <= last.upperBound {
            ranges[ranges.count - 1] = last.lowerBound..<max(last.upperBound, range.upperBound)
            return
        }
        var merged = range
        var kept: [Range<Int>] = []
        for r in ranges {
            if r.upperBound < merged.lowerBound || r.lowerBound > merged.upperBound { kept.append(r); continue }
            merged = min(r.lowerBound, merged.lowerBound)..<max(r.upperBound, merged.upperBound)
        }
        kept.append(merged)
        ranges = kept.sorted { $0.lowerBound < $1.lowerBound }
    }

    /// Forgets everything at or after `offset` (a truncation inside this segment).
    public mutating func clip(at offset: Int) {
        ranges = ranges.compactMap { r in r.lowerBound >= offset ? nil : r.lowerBound..<min(r.upperBound, offset) }
    }

    /// True when the written ranges cover `0..<length`.
    public func covers(_ length: Int) -> Bool {
        length == 0 || (ranges.count == 1 && ranges[0].lowerBound == 0 && ranges[0].upperBound >= length)
    }

    /// The highest written byte + 1 (0 when nothing was written).
    public var end: Int { ranges.last?.upperBound ?? 0 }

    /// Wipes the plaintext and frees the pages.
    public mutating func wipe() {
        for i in pages.indices where !pages[i].isEmpty {
            TriadCrypto.wipe(&pages[i])
            pages[i] = []
        }
        ranges.removeAll()
    }
}

/// Where a commit journals (docs/format.md §14): the folder holding the file, open.
public struct JournalTarget {
    /// The folder's descriptor; the journal is created and fsynced there.
    public let directoryFD: Int32
    /// A target in the open folder `directoryFD` (borrowed, not closed).
    public init(directoryFD: Int32) { self.directoryFD = directoryFD }
}

extension MutableFile {
    /// Commits `overlays` and a size change in one crash-atomic step (docs/format.md §14.2).
    ///
    /// The caller holds the commit lock and has called `refresh`. The new plaintext size is
    /// `truncate` (if given) or the current size, raised to the end of the last written byte.
    /// Every segment whose sealed bytes change is sealed with a fresh nonce: the overlaid
    /// segments, the new final segment, the old final segment when it stops being final, and
    /// zero segments filling a gap. With `journal` the sealed segments go to the journal
    /// first, made durable, and only then into the file — except the first commit of a file
    /// that carries a new-file mark (docs/format.md §14.5): in place, then `fdatasync`, then
    /// the mark removed. Without `journal` (an unlinked file that no one else can open) they
    /// go straight into the file.
    /// - Returns: the new plaintext size.
    @discardableResult
    public func commit(_ overlays: [UInt64: SegmentOverlay], truncate: UInt64? = nil, journal: JournalTarget?) throws -> UInt64 {
        guard suite == .mutable else {
            throw FormatError.invalidArgument(problem: "\(path) uses payload suite \(header.suite); only suite 2 files are rewritten in place")
        }
        // A journal left by another commit is settled first, even on a marked file: one that
        // cut the file back to the empty size may still have bytes to replay.
        if let journal { try settle(journal) }
        if journal != nil, backingSize == emptyBackingSize, NewFileMark.isValid(fd: fd, header: header, fileKey: fileKey) {
            let newSize = try commit(overlays, truncate: truncate, journal: nil)
            guard fdatasync(fd) == 0 else { throw FormatError.io(path: path, operation: "fdatasync", errno: errno) }  // the commit point
            if backingSize != emptyBackingSize { NewFileMark.remove(fd: fd) }
            return newSize
        }
        let size = UInt64(segmentSize)
        let oldSize = plaintextSize
        var newSize = truncate ?? oldSize
        for (index, overlay) in overlays where overlay.end > 0 { newSize = max(newSize, index * size + UInt64(overlay.end)) }
        let oldCount = segmentCount(plaintext: oldSize)
        let newCount = segmentCount(plaintext: newSize)
        var indices = Set(overlays.keys.filter { $0 < newCount })
        if newSize != oldSize { indices.insert(newCount - 1) }
        if oldCount < newCount {
            indices.insert(oldCount - 1)
            for gap in oldCount..<(newCount - 1) { indices.insert(gap) }
        }
        let ordered = indices.sorted()
        let newBacking = header.encodedLength + Int(newCount - 1) * layout.sealedSegment
            + length(ofSegment: newCount - 1, plaintext: newSize) + layout.overhead

        // Adjacent segments are sealed back to back and written as one run: one journal entry
        // (at most `WriteJournal.maxEntryLength` bytes, docs/format.md §14.1) or, without a
        // journal, one pwrite of up to 256 KiB. 4 KiB segments written one pwrite each made
        // a sequential write of a new file 40 % slower (docs/mount.md §9).
        let sealedSize = layout.sealedSegment
        let runLimit = max(1, (journal == nil ? Self.unjournaledRun : WriteJournal.maxEntryLength) / sealedSize)
        let runs = Self.runs(of: ordered, limit: runLimit)

        var writer: JournalWriter?
        var journalHandle: FileHandle?
        if let journal {
            // O_TRUNC: a journal left under the name was settled above; a new one starts empty.
            let jfd = openat(journal.directoryFD, WriteJournal.name(fileID: header.fileID), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
            guard jfd >= 0 else { throw FormatError.io(path: WriteJournal.name(fileID: header.fileID), operation: "create", errno: errno) }
            journalHandle = FileHandle(adopting: jfd, path: WriteJournal.name(fileID: header.fileID))
            writer = try JournalWriter(handle: journalHandle!, header: header, fileKey: fileKey, newSize: newBacking,
                                       count: runs.count)
        }
        let plain = SegmentBuffer(count: segmentSize)
        // As long as the longest run, not the limit: a small file's commit then takes its
        // buffer from the heap instead of a 256 KiB mmap and munmap each time.
        let out = SegmentBuffer(count: (runs.map(\.count).max() ?? 1) * sealedSize)
        var writtenEnd = 0     // the end of the last run: where the file ends once it is in place
        for run in runs {
            var runBytes = 0
            for index in run {
                let length = self.length(ofSegment: index, plaintext: newSize)
                let target = plain.prefix(segmentSize)
                let overlay = overlays[index]
                // The base is the segment as it is now (zeros past the old end of file).
                var have = 0
                if !(overlay?.covers(length) ?? false), index < oldCount {
                    have = try readSegment(index, into: target)
                }
                if have < length { wipeBytes(UnsafeMutableRawBufferPointer(rebasing: target[have..<length])) }
                overlay?.apply(to: target, limit: length)
                let sealedCount = length + PayloadSuite.mutable.overhead
                try sealer().sealSegment(UnsafeRawBufferPointer(rebasing: target[0..<length]), index: index,
                                         isFinal: index == newCount - 1, into: out.slice(runBytes..<(runBytes + sealedCount)))
                runBytes += sealedCount
            }
            let bytes = UnsafeRawBufferPointer(out.prefix(runBytes))
            if let writer {
                try writer.append(bytes, fileOffset: offset(ofSegment: run.lowerBound))
            } else {
                try handleForWrites.writeAll(bytes, at: offset(ofSegment: run.lowerBound))
            }
            writtenEnd = offset(ofSegment: run.lowerBound) + runBytes
        }
        if let writer, let journalHandle {
            try writer.finish()                       // the commit point
            for entry in writer.entries {
                try WriteJournal.copy(from: journalHandle, at: entry.journalOffset, count: entry.length,
                                      to: handleForWrites, at: entry.fileOffset)
            }
            pendingCommitID = writer.commitID
            // The checkpoint (or the next commit's settle) fdatasyncs these bytes; start their
            // write-out now so that it overlaps with what the writer does next.
            if let first = writer.entries.first, let last = writer.entries.last {
                _ = triad_linux_start_writeback(fd, Int64(first.fileOffset), Int64(last.fileOffset + last.length - first.fileOffset))
            }
        }
        // The size is set only when the writes did not leave it so: a file that grew ends with
        // its new final segment, written last (a new file's first commit costs no truncate).
        if newBacking != backingSize && (newBacking < backingSize || writtenEnd != newBacking) {
            guard ftruncate(fd, off_t(newBacking)) == 0 else { throw FormatError.io(path: path, operation: "truncate", errno: errno) }
        }
        backingSize = newBacking
        plaintextSize = newSize
        return newSize
    }

    /// Makes the file's data durable and removes our journal if it is still the last one
    /// (docs/format.md §14.2, checkpoint). The caller holds the commit lock.
    /// - Parameter synced: the caller has made the file system durable since the commit
    ///   (one `syncfs` for many files), so no `fdatasync` is needed here.
    public func checkpoint(_ journal: JournalTarget, synced: Bool = false) throws {
        guard let id = pendingCommitID else { return }
        if !synced {
            guard fdatasync(fd) == 0 else { throw FormatError.io(path: path, operation: "fdatasync", errno: errno) }
        }
        pendingCommitID = nil
        if journalCommitID(journal) == id { unlinkat(journal.directoryFD, WriteJournal.name(fileID: header.fileID), 0) }
    }

    /// Bytes of adjacent sealed segments written with one pwrite when there is no journal.
    static let unjournaledRun = 256 << 10

    /// `ordered` (sorted segment indices) cut into runs of adjacent indices of at most
    /// `limit` segments: each run is one journal entry or one pwrite.
    static func runs(of ordered: [UInt64], limit: Int) -> [ClosedRange<UInt64>] {
        var runs: [ClosedRange<UInt64>] = []
        for index in ordered {
            if let last = runs.last, index == last.upperBound + 1, last.count < limit {
                runs[runs.count - 1] = last.lowerBound...index
            } else {
                runs.append(index...index)
            }
        }
        return runs
    }

    /// True when a commit of ours awaits its checkpoint.
    public var needsCheckpoint: Bool { pendingCommitID != nil }

    /// Before a new journal replaces the name: our own previous journal only needs the file
    /// data under it durable; anyone else's is replayed first (it may hold a commit that
    /// never reached the file).
    private func settle(_ journal: JournalTarget) throws {
        guard let present = journalCommitID(journal) else { return }
        if present == pendingCommitID {
            guard fdatasync(fd) == 0 else { throw FormatError.io(path: path, operation: "fdatasync", errno: errno) }
            pendingCommitID = nil
            return
        }
        _ = try WriteJournal.recover(fd: fd, directoryFD: journal.directoryFD, header: header, fileKey: fileKey, path: path)
        try refresh()
    }

    /// Replays or discards a journal left by a crash (docs/format.md §14.3); the caller holds
    /// the commit lock. Returns what happened.
    public func recover(_ journal: JournalTarget) throws -> WriteJournal.Outcome {
        let outcome = try WriteJournal.recover(fd: fd, directoryFD: journal.directoryFD, header: header, fileKey: fileKey, path: path)
        if outcome == .replayed { pendingCommitID = nil }
        try refresh()
        return outcome
    }

    private func journalCommitID(_ journal: JournalTarget) -> [UInt8]? {
        let jfd = openat(journal.directoryFD, WriteJournal.name(fileID: header.fileID), O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard jfd >= 0 else { return nil }
        defer { close(jfd) }
        var id = [UInt8](repeating: 0, count: 16)
        let n = id.withUnsafeMutableBytes { pread(jfd, $0.baseAddress, 16, 8) }
        return n == 16 ? id : []
    }

    private var handleForWrites: FileHandle { FileHandle(borrowing: fd, path: path) }
}

extension MutableSegmentSealer {
    func sealSegment(_ plain: UnsafeRawBufferPointer, index: UInt64, isFinal: Bool, into output: UnsafeMutableRawBufferPointer) throws {
        try seal(plain, index: index, isFinal: isFinal, into: output)
    }
}
