#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import TriadCrypto
import TriadFormat

/// One backing file open in this daemon, shared by every FUSE handle on it (docs/mount.md
/// §3). Reads authenticate segment by segment; writes collect in per-segment overlays that a
/// commit seals and journals under the file's commit lock. One mutex serialises the file's
/// crypto state; the commit lock (a byte-range lock on the backing file) serialises writers
/// across daemons and servers.
final class OpenFile: @unchecked Sendable {
    enum Content {
        case plaintext
        case encrypted(MutableFile)
    }

    struct Identity: Hashable { let device: UInt64; let inode: UInt64 }

    /// The inode the daemon's table knows this file by (guarded by the table's lock): the
    /// empty file `create` linked while a new file's content is staged (§3.5), then the file.
    var identity: Identity
    /// The backing file's descriptor; a new one after the file was replaced (§4).
    var fd: Int32 { currentFD.load(ordering: .acquiring) }
    let currentFD: Atomic<Int32>
    /// Descriptors of replaced files, closed with this object (a racing fstat stays valid).
    var retiredFDs: [Int32] = []
    let writable: Bool
    /// How the file finds its name again after a replacement (set once, at open).
    var follower: Follower?
    private var checkedAt: time_t = 0
    private let mutex = Mutex<Void>(())
    // Guarded by `mutex`:
    var content: Content
    var overlays: [UInt64: SegmentOverlay] = [:]
    var dirtyBytes = 0
    private var dead = false
    /// Created here and not committed yet: its first commit at the dirty limit may stage (§3.5).
    var fresh = false
    /// A new file's content being built unnamed (§3.5); nil otherwise.
    var staging: Staging?
    /// Set when a staged file replaced its empty file: (old identity, new) for the table.
    var published: (Identity, Identity)?
    /// One plaintext segment (of the largest size, 64 KiB) for reads, allocated at the first read that needs it and freed
    /// by `releaseBuffers` when the last handle closes: a closed file that waits for its
    /// checkpoint holds no buffer (docs/mount.md §9, memory).
    var scratch: UnsafeMutableRawBufferPointer {
        if let buffer = scratchStorage { return buffer }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: SegmentLayout.mutableLarge.segmentSize, alignment: 64)
        scratchStorage = buffer
        return buffer
    }
    private var scratchStorage: UnsafeMutableRawBufferPointer?
    /// FUSE handles open on this file (guarded by the table's lock).
    var handles = 0
    /// Where it was last opened or renamed to (relative), to invalidate its cached pages.
    var path: String? {
        get { mutex.withLock { _ in lastPath } }
        set { mutex.withLock { _ in lastPath = newValue } }
    }
    var lastPath: String?

    /// Dirty plaintext after which a handle's writes are committed (docs/mount.md §3.2): the
    /// overlays are the daemon's largest memory, so this bounds its peak (§9, memory). 4 MiB
    /// made a sequential write alone raise the peak resident memory by 3 MiB.
    static let dirtyLimit = 2 << 20

    init(identity: Identity, fd: Int32, writable: Bool, content: Content) {
        self.identity = identity
        currentFD = Atomic(fd)
        self.writable = writable
        self.content = content
        // Opened by its name just now: the name is checked again from the next second (§4).
        checkedAt = time(nil)
    }

    deinit {
        freeScratch()
        for key in overlays.keys { overlays[key]?.wipe() }
        close(fd)
        for old in retiredFDs { close(old) }
    }

    private func freeScratch() {
        guard let buffer = scratchStorage else { return }
        explicit_bzero(buffer.baseAddress!, buffer.count)
        buffer.deallocate()
        scratchStorage = nil
    }

    /// The last handle closed: the read and segment buffers go (wiped); a later read of a
    /// file still shared would allocate them again.
    func releaseBuffers() {
        mutex.withLock { _ in
            freeScratch()
            if case .encrypted(let file) = content { file.releaseBuffers() }
        }
    }

    var fileID: [UInt8]? {
        mutex.withLock { _ in
            if case .encrypted(let file) = content { return file.header.fileID }
            return nil
        }
    }

    /// The size programs see: the committed plaintext size raised by uncommitted writes.
    var size: UInt64 {
        mutex.withLock { _ in logicalSize }
    }

    private var logicalSize: UInt64 {
        switch content {
        case .plaintext:
            var st = stat()
            return fstat(fd, &st) == 0 ? UInt64(st.st_size) : 0
        case .encrypted(let file):
            var size = file.plaintextSize
            for (index, overlay) in overlays where overlay.end > 0 {
                size = max(size, index * UInt64(file.segmentSize) + UInt64(overlay.end))
            }
            return size
        }
    }

    /// Reads up to `count` bytes at `offset` into `buffer`; returns the byte count or -errno.
    func read(into buffer: UnsafeMutableRawPointer, count: Int, offset: UInt64) -> Int {
        if let n = readWholeSegmentsConcurrently(into: buffer, count: count, offset: offset) { return n }
        return mutex.withLock { _ in
            guard !dead else { return -Int(EIO) }
            if time(nil) != checkedAt {
                checkedAt = time(nil)
                if let e = followIfReplaced() { return -Int(e) }
            }
            switch content {
            case .plaintext:
                let n = pread(fd, buffer, count, off_t(offset))
                return n >= 0 ? n : -Int(errno)
            case .encrypted(let file):
                do {
                    return try readEncrypted(file, into: buffer, count: count, offset: offset)
                } catch {
                    // A segment being rewritten by another writer at this instant, or a size
                    // that grew: read again under the commit lock (§3.1).
                    do {
                        try CommitLock.withExclusive(fd: fd, path: file.path) { try file.refresh() }
                        return try readEncrypted(file, into: buffer, count: count, offset: offset)
                    } catch {
                        return -Int(EIO)
                    }
                }
            }
        }
    }

    /// The kernel reads a file ahead in aligned requests of whole segments, two in flight
    /// (docs/mount.md §3.1): when this daemon holds nothing uncommitted for the file, the
    /// segments are authenticated outside the mutex, each read with a cipher context of its
    /// own, so both requests use a processor. The size and the file are taken under the mutex;
    /// nil sends the request to the path under the mutex — a request not of whole segments,
    /// pending writes, a file not checked against its name within the second, or a segment
    /// that failed (a commit under way: that path retries under the commit lock).
    private func readWholeSegmentsConcurrently(into buffer: UnsafeMutableRawPointer, count: Int, offset: UInt64) -> Int? {
        let taken: (file: MutableFile, size: UInt64)? = mutex.withLock { _ in
            guard !dead, time(nil) == checkedAt, overlays.isEmpty, staging == nil,
                  case .encrypted(let file) = content else { return nil }
            return (file, logicalSize)
        }
        guard let (file, size) = taken else { return nil }
        let segment = UInt64(file.segmentSize)
        guard count > 0, offset < size, offset % segment == 0 else { return nil }
        let end = min(size, offset + UInt64(count))
        guard end == size || end % segment == 0 else { return nil }
        var position = offset
        while position < end {
            let target = UnsafeMutableRawBufferPointer(start: buffer + Int(position - offset), count: Int(end - position))
            let wanted = Int((end - position + segment - 1) / segment)
            guard let got = try? file.readSegmentsConcurrently(from: position / segment, count: wanted, size: size, into: target),
                  got > 0 else { return nil }
            position += UInt64(got)
        }
        return Int(end - offset)
    }

    private func readEncrypted(_ file: MutableFile, into buffer: UnsafeMutableRawPointer, count: Int, offset: UInt64) throws -> Int {
        let size = logicalSize
        guard offset < size, count > 0 else { return 0 }
        let end = min(size, offset + UInt64(count))
        let segment = UInt64(file.segmentSize)
        var position = offset
        while position < end {
            let index = position / segment
            let segmentStart = index * segment
            let length = Int(min(segment, end - segmentStart))  // bytes of this segment we may need
            var have = 0
            let overlay = overlays[index]
            if overlay == nil, position == segmentStart {
                // Whole segments wanted, as they are on disk (full ones, or the final one to the
                // end of the file): authenticate them straight into the reply, without the copy
                // through `scratch` — a small file read whole needs no buffer of its own — and
                // up to sixteen 4 KiB segments with one pread.
                var wanted = 0
                var bytes = 0
                while wanted < file.segmentsPerRead {
                    let start = segmentStart + UInt64(wanted) * segment
                    guard start < file.plaintextSize, overlays[index + UInt64(wanted)] == nil || wanted == 0 else { break }
                    let stored = Int(min(segment, file.plaintextSize - start))
                    guard end >= start + UInt64(stored) else { break }
                    wanted += 1
                    bytes += stored
                    if stored < Int(segment) { break }
                }
                if wanted > 0 {
                    let target = UnsafeMutableRawBufferPointer(start: buffer + Int(position - offset), count: bytes)
                    guard try file.readSegments(from: index, count: wanted, into: target) == bytes else {
                        throw FormatError.truncated(path: file.path)
                    }
                    position += UInt64(bytes)
                    continue
                }
            }
            if segmentStart < file.plaintextSize, !(overlay.map { $0.covers(upTo: length) } ?? false) {
                have = try file.readSegment(index, into: scratch)
            }
            if have < length { explicit_bzero(scratch.baseAddress! + have, length - have) }
            if let overlay { overlay.apply(to: scratch, limit: length) }
            let from = Int(position - segmentStart)
            let to = Int(min(end, segmentStart + segment) - segmentStart)
            (buffer + Int(position - offset)).copyMemory(from: scratch.baseAddress! + from, byteCount: to - from)
            position = segmentStart + UInt64(to)
        }
        return Int(end - offset)
    }

    /// Writes `count` bytes at `offset`; commits when the dirty data passes the limit.
    /// Returns the byte count or -errno.
    func write(_ bytes: UnsafeRawPointer, count: Int, offset: UInt64, journal: () -> JournalFolder?) -> Int {
        var cursor = bytes
        return write(count: count, offset: offset, journal: journal) { target in
            target.copyMemory(from: UnsafeRawBufferPointer(start: cursor, count: target.count))
            cursor += target.count
            return target.count
        }
    }

    /// Writes `count` bytes at `offset`, taken in order from `source`, which fills the buffer
    /// it is given and returns the bytes it filled or -errno (a FUSE request's data, read
    /// from its pipe straight into the segment overlays). Returns the byte count or -errno.
    func write(count: Int, offset: UInt64, journal: () -> JournalFolder?,
               from source: (UnsafeMutableRawBufferPointer) -> Int) -> Int {
        mutex.withLock { _ in
            guard !dead else { return -Int(EIO) }
            guard writable, case .encrypted(let file) = content, file.suite == .mutable else { return -Int(EBADF) }
            let segment = UInt64(file.segmentSize)
            var position = offset
            let end = offset + UInt64(count)
            while position < end {
                let index = position / segment
                let within = Int(position - index * segment)
                let n = Int(min(end - position, segment - UInt64(within)))
                // The limit counts overlay memory (4 KiB pages), not bytes written.
                let held = overlays[index]?.allocatedBytes ?? 0
                if overlays[index] == nil { overlays[index] = SegmentOverlay(segmentSize: file.segmentSize) }
                let got = overlays[index]!.fill(at: within, count: n, source)
                dirtyBytes += overlays[index]!.allocatedBytes - held
                guard got == n else { return got < 0 ? got : -Int(EIO) }
                position += UInt64(n)
            }
            if dirtyBytes >= Self.dirtyLimit {
                let folder = journal()
                defer { folder?.close() }
                if fresh, staging == nil, let folder { beginStaging(file, folder: folder) }
                if let e = commitLocked(file, truncate: nil, folder: folder) { return -Int(e) }
            }
            return count
        }
    }

    /// Commits pending writes (and a size change) through the journal in `folder`; nil
    /// folder = an unlinked file, written in place. A staged new file (§3.5) takes the writes
    /// in place and, when `durable` (close, fsync, utimens), replaces its empty file.
    /// Returns 0 or an errno.
    func commit(truncate: UInt64? = nil, folder: JournalFolder?, durable: Bool = true) -> Int32 {
        mutex.withLock { _ in
            guard !dead else { return EIO }
            guard case .encrypted(let file) = content else { return truncate == nil ? 0 : EBADF }
            if staging != nil {
                if let e = commitLocked(file, truncate: truncate, folder: folder) { return e }
                return durable ? publish(folder: folder) : 0
            }
            if truncate == nil && overlays.isEmpty { return 0 }
            guard writable, file.suite == .mutable else { return EBADF }
            return commitLocked(file, truncate: truncate, folder: folder) ?? 0
        }
    }

    var isDirty: Bool { mutex.withLock { _ in !overlays.isEmpty } }

    /// The authenticated plaintext size and the backing size it was read with, when nothing
    /// is pending: an encrypted file with no uncommitted writes and no staged content (nil
    /// otherwise, and for plaintext).
    var committedSize: (plaintext: UInt64, backing: Int)? {
        mutex.withLock { _ in
            guard !dead, overlays.isEmpty, staging == nil, case .encrypted(let file) = content else { return nil }
            return (file.plaintextSize, file.backingSize)
        }
    }

    /// True while a new file's content is staged unnamed (§3.5): its durable point publishes it.
    var isStaging: Bool { mutex.withLock { _ in staging != nil } }

    /// Marks a file this daemon just created (empty, linked by `create`).
    func markFresh() { mutex.withLock { _ in fresh = true } }

    /// The identities (before, after) once a staged file was published, for the table; once.
    func takePublished() -> (Identity, Identity)? {
        mutex.withLock { _ in
            defer { published = nil }
            return published
        }
    }

    /// True when a commit's journal awaits its checkpoint.
    var needsCheckpoint: Bool {
        mutex.withLock { _ in
            if !dead, case .encrypted(let file) = content { return file.needsCheckpoint }
            return false
        }
    }

    func commitLocked(_ file: MutableFile, truncate: UInt64?, folder: JournalFolder?) -> Int32? {
        if let truncate {
            let segment = UInt64(file.segmentSize)
            for index in Array(overlays.keys) where index * segment >= truncate {
                overlays[index]?.wipe()
                overlays[index] = nil
            }
            let boundary = truncate / segment
            overlays[boundary]?.clip(at: Int(truncate - boundary * segment))
        }
        if staging != nil {
            // Staged (§3.5): the unnamed file is ours alone; no journal, no lock.
            guard case .encrypted(let unnamed) = content else { return EIO }
            do {
                try unnamed.commit(overlays, truncate: truncate, journal: nil)
            } catch let error as FormatError {
                return Self.errnoCode(for: error)
            } catch {
                return EIO
            }
            clearOverlays()
            return nil
        }
        // A command that replaces the file (zone rekey, encrypt, a conversion by another daemon)
        // holds the commit lock until its rename; once we hold it, the name must still be ours,
        // else we follow the name and commit into the new file (§4).
        var file = file
        var committed = false
        for attempt in 0..<3 where !committed {
            if attempt > 0, let e = followIfReplaced() { return e }
            guard case .encrypted(let current) = content, current.suite == .mutable else { return EBADF }
            file = current
            do {
                try CommitLock.withExclusive(fd: fd, path: file.path) {
                    guard !isReplaced else { return }
                    try file.refresh()
                    try file.commit(overlays, truncate: truncate, journal: folder.map { JournalTarget(directoryFD: $0.fd) })
                    committed = true
                }
            } catch let error as FormatError {
                return Self.errnoCode(for: error)
            } catch {
                return EIO
            }
        }
        guard committed else { return EAGAIN }
        clearOverlays()
        fresh = false
        return nil
    }

    func clearOverlays() {
        for key in Array(overlays.keys) { overlays[key]?.wipe() }
        // The table keeps its capacity: the next burst of 4 KiB segments fills it again.
        overlays.removeAll(keepingCapacity: true)
        dirtyBytes = 0
    }

    /// Makes committed data durable and removes our journal (docs/format.md §14.2).
    func checkpoint(folder: JournalFolder?, synced: Bool = false) {
        mutex.withLock { _ in
            guard !dead, case .encrypted(let file) = content, file.needsCheckpoint else { return }
            if let folder {
                try? CommitLock.withExclusive(fd: fd, path: file.path) {
                    try file.checkpoint(JournalTarget(directoryFD: folder.fd), synced: synced)
                }
            } else {
                fdatasync(fd)
            }
        }
    }

    /// The card left (docs/mount.md §7): uncommitted plaintext is wiped, the file's keys are
    /// dropped, and every later read or write fails with EIO.
    func kill() {
        mutex.withLock { _ in
            dead = true
            for key in Array(overlays.keys) { overlays[key]?.wipe() }
            overlays = [:]
            dirtyBytes = 0
            content = .plaintext
            freeScratch()
            if let staged = staging { retiredFDs.append(staged.placeholderFD) }
            staging = nil
        }
    }

    /// True when the name this file was opened by now names another file.
    private var isReplaced: Bool {
        // A staged new file checks its name when it publishes (§3.5).
        guard staging == nil else { return false }
        guard let follower, let path = lastPath, let now = follower.current(path) else { return false }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return false }
        return now != Identity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
    }

    /// Follows a replaced file: opens the new file at the name (converted to suite 2 first if
    /// this handle writes) and reads and commits there from now on. Uncommitted writes stay
    /// and land on the new file. Returns nil, or an errno when the new file cannot be opened.
    private func followIfReplaced() -> Int32? {
        guard isReplaced, let follower, let path = lastPath else { return nil }
        switch follower.reopen(path, writable) {
        case .failure(let e):
            return e.code
        case .success(let (newFD, newContent)):
            retiredFDs.append(fd)
            currentFD.store(newFD, ordering: .releasing)
            if case .encrypted(let old) = content, case .encrypted(let new) = newContent {
                rebaseOverlays(from: old.segmentSize, to: new.segmentSize)
            }
            content = newContent
            checkedAt = time(nil)
            return nil
        }
    }

    /// Re-cuts uncommitted writes for a followed file whose segments have another size (a
    /// 64 KiB suite-2 file replaced by `zone rekey` and converted to 4 KiB segments, §4,
    /// docs/format.md §13.1): the overlays are keyed by segment index, so each written byte
    /// moves to the overlay of its segment in the new size. Nothing is lost or committed here.
    func rebaseOverlays(from oldSize: Int, to newSize: Int) {
        guard oldSize != newSize, !overlays.isEmpty else { return }
        var rebased: [UInt64: SegmentOverlay] = [:]
        let plain = UnsafeMutableRawBufferPointer.allocate(byteCount: oldSize, alignment: 64)
        defer {
            explicit_bzero(plain.baseAddress!, oldSize)
            plain.deallocate()
        }
        for (index, overlay) in overlays {
            overlay.apply(to: plain, limit: oldSize)
            for range in overlay.ranges {
                var from = range.lowerBound
                while from < range.upperBound {
                    let position = index * UInt64(oldSize) + UInt64(from)
                    let target = position / UInt64(newSize)
                    let within = Int(position - target * UInt64(newSize))
                    let n = min(range.upperBound - from, newSize - within)
                    if rebased[target] == nil { rebased[target] = SegmentOverlay(segmentSize: newSize) }
                    rebased[target]!.write(UnsafeRawBufferPointer(rebasing: plain[from..<(from + n)]), at: within)
                    from += n
                }
            }
        }
        clearOverlays()
        overlays = rebased
        dirtyBytes = rebased.values.reduce(0) { $0 + $1.allocatedBytes }
    }

    /// True when the backing file has no name left (deleted since it was opened).
    var isUnlinked: Bool {
        var st = stat()
        return fstat(fd, &st) == 0 && st.st_nlink == 0
    }

    /// True once `kill()` ran: a mount unlocked again opens the file anew (§7).
    var isDead: Bool { mutex.withLock { _ in dead } }

    static func errnoCode(for error: FormatError) -> Int32 {
        switch error {
        case .noMatchingKey, .slotUnwrapFailed: return EACCES
        case .io(_, _, let e): return e
        default: return EIO
        }
    }
}
