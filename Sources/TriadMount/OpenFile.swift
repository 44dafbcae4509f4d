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

    let identity: Identity
    let fd: Int32
    let writable: Bool
    private let mutex = Mutex<Void>(())
    // Guarded by `mutex`:
    private var content: Content
    private var overlays: [UInt64: SegmentOverlay] = [:]
    private var dirtyBytes = 0
    private(set) var dirtySince: time_t = 0
    private var dead = false
    private let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: MutableFile.segmentSize, alignment: 64)
    /// FUSE handles open on this file (guarded by the table's lock).
    var handles = 0
    /// Where it was last opened or renamed to (relative), to invalidate its cached pages.
    var path: String? {
        get { mutex.withLock { _ in lastPath } }
        set { mutex.withLock { _ in lastPath = newValue } }
    }
    private var lastPath: String?

    /// Dirty plaintext after which a handle's writes are committed (docs/mount.md §3.2).
    static let dirtyLimit = 4 << 20

    init(identity: Identity, fd: Int32, writable: Bool, content: Content) {
        self.identity = identity
        self.fd = fd
        self.writable = writable
        self.content = content
    }

    deinit {
        explicit_bzero(scratch.baseAddress!, scratch.count)
        scratch.deallocate()
        for key in overlays.keys { overlays[key]?.wipe() }
        close(fd)
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
                size = max(size, index * UInt64(MutableFile.segmentSize) + UInt64(overlay.end))
            }
            return size
        }
    }

    /// Reads up to `count` bytes at `offset` into `buffer`; returns the byte count or -errno.
    func read(into buffer: UnsafeMutableRawPointer, count: Int, offset: UInt64) -> Int {
        mutex.withLock { _ in
            guard !dead else { return -Int(EIO) }
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

    private func readEncrypted(_ file: MutableFile, into buffer: UnsafeMutableRawPointer, count: Int, offset: UInt64) throws -> Int {
        let size = logicalSize
        guard offset < size, count > 0 else { return 0 }
        let end = min(size, offset + UInt64(count))
        let segment = UInt64(MutableFile.segmentSize)
        var position = offset
        while position < end {
            let index = position / segment
            let segmentStart = index * segment
            let length = Int(min(segment, end - segmentStart))  // bytes of this segment we may need
            var have = 0
            let overlay = overlays[index]
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
        mutex.withLock { _ in
            guard !dead else { return -Int(EIO) }
            guard writable, case .encrypted(let file) = content, file.suite == .mutable else { return -Int(EBADF) }
            let segment = UInt64(MutableFile.segmentSize)
            var position = offset
            let end = offset + UInt64(count)
            while position < end {
                let index = position / segment
                let within = Int(position - index * segment)
                let n = Int(min(end - position, segment - UInt64(within)))
                // The limit counts overlay memory (64 KiB each), not bytes written: 4 KiB
                // random writes must not pin hundreds of segments.
                if overlays[index] == nil {
                    dirtyBytes += MutableFile.segmentSize
                    overlays[index] = OverlayPool.shared.take()
                }
                overlays[index]!
                    .write(UnsafeRawBufferPointer(start: bytes + Int(position - offset), count: n), at: within)
                position += UInt64(n)
            }
            if dirtySince == 0 { dirtySince = time(nil) }
            if dirtyBytes >= Self.dirtyLimit {
                let folder = journal()
                defer { folder?.close() }
                if let e = commitLocked(file, truncate: nil, folder: folder) { return -Int(e) }
            }
            return count
        }
    }

    /// Commits pending writes (and a size change) through the journal in `folder`; nil
    /// folder = an unlinked file, written in place. Returns 0 or an errno.
    func commit(truncate: UInt64? = nil, folder: JournalFolder?) -> Int32 {
        mutex.withLock { _ in
            guard !dead else { return EIO }
            guard case .encrypted(let file) = content else { return truncate == nil ? 0 : EBADF }
            if truncate == nil && overlays.isEmpty { return 0 }
            guard writable, file.suite == .mutable else { return EBADF }
            return commitLocked(file, truncate: truncate, folder: folder) ?? 0
        }
    }

    var isDirty: Bool { mutex.withLock { _ in !overlays.isEmpty } }

    /// True when a commit's journal awaits its checkpoint.
    var needsCheckpoint: Bool {
        mutex.withLock { _ in
            if !dead, case .encrypted(let file) = content { return file.needsCheckpoint }
            return false
        }
    }

    private func commitLocked(_ file: MutableFile, truncate: UInt64?, folder: JournalFolder?) -> Int32? {
        if let truncate {
            let segment = UInt64(MutableFile.segmentSize)
            for index in Array(overlays.keys) where index * segment >= truncate {
                overlays[index]?.wipe()
                overlays[index] = nil
            }
            let boundary = truncate / segment
            overlays[boundary]?.clip(at: Int(truncate - boundary * segment))
        }
        do {
            try CommitLock.withExclusive(fd: fd, path: file.path) {
                try file.refresh()
                try file.commit(overlays, truncate: truncate, journal: folder.map { JournalTarget(directoryFD: $0.fd) })
            }
        } catch let error as FormatError {
            return Self.errnoCode(for: error)
        } catch {
            return EIO
        }
        for key in Array(overlays.keys) { if let buffer = overlays[key]?.recycle() { OverlayPool.shared.give(buffer) } }
        overlays = [:]
        dirtyBytes = 0
        dirtySince = 0
        return nil
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
            explicit_bzero(scratch.baseAddress!, scratch.count)
        }
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

/// An open folder descriptor for a commit's journal (closed by `close()`).
struct JournalFolder {
    let fd: Int32
    func close() { Glibc.close(fd) }
}

extension SegmentOverlay {
    /// True when the written bytes cover `0..<length`.
    func covers(upTo length: Int) -> Bool {
        length == 0 || (ranges.count == 1 && ranges[0].lowerBound == 0 && ranges[0].upperBound >= length)
    }

    /// Lays the written bytes (below `limit`) over `target`.
    func apply(to target: UnsafeMutableRawBufferPointer, limit: Int) {
        data.withUnsafeBytes { d in
            for r in ranges where r.lowerBound < limit {
                let upper = min(r.upperBound, limit)
                (target.baseAddress! + r.lowerBound).copyMemory(from: d.baseAddress! + r.lowerBound, byteCount: upper - r.lowerBound)
            }
        }
    }
}

/// Recycled 64 KiB overlay buffers (wiped before they come back): random small writes would
/// otherwise map, fault in and unmap a segment buffer per write. At most one dirty limit's
/// worth is kept.
final class OverlayPool: @unchecked Sendable {
    static let shared = OverlayPool()
    private let buffers = Mutex<[[UInt8]]>([])
    static let capacity = OpenFile.dirtyLimit / MutableFile.segmentSize

    func take() -> SegmentOverlay {
        if let buffer = buffers.withLock({ $0.popLast() }) { return SegmentOverlay(reusing: buffer) }
        return SegmentOverlay()
    }

    func give(_ buffer: [UInt8]) {
        guard buffer.count == MutableFile.segmentSize else { return }
        buffers.withLock { if $0.count < Self.capacity { $0.append(buffer) } }
    }
}
