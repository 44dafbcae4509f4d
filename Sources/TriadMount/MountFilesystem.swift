#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import TriadCrypto
import TriadFormat

/// The file operations of a mount, by path relative to the zone root (docs/mount.md §6).
/// Every function returns 0 (or a count) on success and -errno on failure, as libfuse wants.
final class MountFilesystem: @unchecked Sendable {
    let backing: BackingTree
    let vault: KeyVault
    let audit: AuditLog?
    let readOnly: Bool
    private let table = Mutex<Table>(Table())
    let checkpointer: Checkpointer
    /// Plaintext sizes of closed files (§9).
    let sizes = SizeCache()
    /// Programs' `fcntl` and `flock` locks, on the backing files (§4, §6).
    let locks = LockTable()

    struct Table {
        var files: [OpenFile.Identity: OpenFile] = [:]
        var handles: [UInt64: OpenFile] = [:]
        var nextHandle: UInt64 = 1
    }

    init(backing: BackingTree, vault: KeyVault, audit: AuditLog?, readOnly: Bool) {
        self.backing = backing
        self.vault = vault
        self.audit = audit
        self.readOnly = readOnly
        checkpointer = Checkpointer(rootFD: backing.rootFD)
        follower = Follower(current: { [unowned self] relative in
            var st = stat()
            guard backing.status(relative, into: &st) == 0 else { return nil }
            return OpenFile.Identity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
        }, reopen: { [unowned self] relative, writable in reopen(relative, writable: writable) })
    }

    /// Given to every open file, to follow its name when the file is replaced (§4).
    private(set) var follower: Follower?

    /// Opens the file now at `relative` for an open file whose backing file was replaced by
    /// a rename: converted to suite 2 first when it is written (docs/mount.md §3.4, §4).
    private func reopen(_ relative: String, writable: Bool) -> Result<(Int32, OpenFile.Content), Int32Error> {
        guard let identities = vault.identities else { return .failure(Int32Error(code: EACCES)) }
        for _ in 0..<3 {
            let fd = backing.open(relative, flags: (writable ? O_RDWR : O_RDONLY) | O_NONBLOCK | O_NOFOLLOW)
            guard fd >= 0 else { return .failure(Int32Error(code: -fd)) }
            var st = stat()
            guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
                close(fd)
                return .failure(Int32Error(code: EIO))
            }
            let shape = EncryptedFile.shape(fd: fd, fileSize: Int(st.st_size))
            // A plaintext file put in the folder under this name is not followed (§1.2).
            if Self.isUnauthenticated(shape, size: st.st_size) {
                close(fd)
                return .failure(Int32Error(code: EACCES))
            }
            if writable, shape != .damaged, !isMutable(shape) {
                let r = convert(fd: fd, relative: relative, identities: identities, empty: false)
                close(fd)
                guard r == 0 else { return .failure(Int32Error(code: -r)) }
                continue
            }
            switch shape {
            case .plaintext:
                return .success((fd, .plaintext))
            case .damaged:
                close(fd)
                return .failure(Int32Error(code: EIO))
            case .encrypted:
                do {
                    let file = try MutableFile(fd: fd, path: relative, identities: identities)
                    if writable { try recoverJournal(file, relative: relative) }
                    return .success((fd, .encrypted(file)))
                } catch let error as FormatError {
                    close(fd)
                    return .failure(Int32Error(code: OpenFile.errnoCode(for: error)))
                } catch {
                    close(fd)
                    return .failure(Int32Error(code: EIO))
                }
            }
        }
        return .failure(Int32Error(code: EIO))
    }

    // MARK: - Handles

    func file(handle: UInt64) -> OpenFile? { table.withLock { $0.handles[handle] } }

    private func register(_ make: () -> OpenFile, identity: OpenFile.Identity, discard fd: Int32) -> (UInt64, OpenFile) {
        table.withLock { t in
            let file: OpenFile
            if let existing = t.files[identity], !existing.isDead {
                close(fd)
                file = existing
            } else {
                file = make()
                file.follower = follower
                t.files[identity] = file
            }
            file.handles += 1
            let handle = t.nextHandle
            t.nextHandle += 1
            t.handles[handle] = file
            return (handle, file)
        }
    }

    /// Drops a handle; returns the file if that was its last handle.
    func release(handle: UInt64) -> OpenFile? {
        table.withLock { t in
            guard let file = t.handles.removeValue(forKey: handle) else { return nil }
            file.handles -= 1
            guard file.handles == 0 else { return nil }
            if t.files[file.identity] === file { t.files[file.identity] = nil }
            return file
        }
    }

    /// The live file open on `identity` (a file killed when the card left is never reused).
    func openFile(identity: OpenFile.Identity) -> OpenFile? {
        table.withLock { $0.files[identity].flatMap { $0.isDead ? nil : $0 } }
    }

    var allOpenFiles: [OpenFile] { table.withLock { Array($0.files.values) } }

    // MARK: - Attributes

    /// lstat with the plaintext size for files (docs/mount.md §1.2).
    func getattr(_ relative: String, handle: UInt64?, into st: inout stat) -> Int32 {
        if let handle, let file = file(handle: handle) {
            guard fstat(file.fd, &st) == 0 else { return -errno }
            st.st_size = off_t(file.size)
            st.st_blocks = (st.st_size + 511) / 512
            return 0
        }
        guard !BackingTree.isHidden(relative: relative) else { return -ENOENT }
        let r = backing.status(relative, into: &st)
        guard r == 0 else { return r }
        switch st.st_mode & S_IFMT {
        case S_IFDIR: return 0
        case S_IFREG: break
        default: return -ENOENT   // links, devices, sockets: not shown (§1.2)
        }
        if let open = openFile(identity: OpenFile.Identity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))) {
            st.st_size = off_t(open.size)
        } else if st.st_size > 0, let known = sizes.size(for: st) {
            st.st_size = known
        } else if st.st_size > 0 {
            let fd = backing.open(relative, flags: O_RDONLY | O_NONBLOCK | O_NOFOLLOW)
            if fd >= 0 {
                let key = st
                switch EncryptedFile.shape(fd: fd, fileSize: Int(st.st_size)) {
                case .plaintext: break
                case .encrypted(let length, _, _): st.st_size = off_t(length)
                case .damaged: st.st_size = 0
                }
                close(fd)
                sizes.store(st.st_size, for: key)
            }
        }
        st.st_blocks = (st.st_size + 511) / 512
        return 0
    }

    // MARK: - Open, create, release

    /// Opens an existing file. Writing to a plaintext or suite-1 file first rewrites it as a
    /// suite-2 file (docs/mount.md §3.4). Returns the handle or -errno.
    func open(_ relative: String, flags: Int32) -> Int64 {
        let wantsWrite = (flags & O_ACCMODE) != O_RDONLY
        let operation = wantsWrite ? "open-write" : "open-read"
        var fileID: [UInt8]?
        let result = openFile(relative, wantsWrite: wantsWrite, fileID: &fileID)
        audit?.record(AuditRecord(path: relative, fileID: fileID, operation: operation, result: result < 0 ? Int32(-result) : 0))
        return result
    }

    private func openFile(_ relative: String, wantsWrite: Bool, fileID: inout [UInt8]?) -> Int64 {
        guard !BackingTree.isHidden(relative: relative) else { return -Int64(ENOENT) }
        guard let identities = vault.identities else { return -Int64(EACCES) }
        if wantsWrite && readOnly { return -Int64(EROFS) }
        for _ in 0..<3 {
            var fd = readOnly ? -EROFS : backing.open(relative, flags: O_RDWR | O_NONBLOCK | O_NOFOLLOW)
            var writable = fd >= 0
            if fd < 0 {
                if wantsWrite { return Int64(fd == -EROFS ? -EACCES : fd) }
                fd = backing.open(relative, flags: O_RDONLY | O_NONBLOCK | O_NOFOLLOW)
                writable = false
                guard fd >= 0 else { return Int64(fd) }
            }
            var st = stat()
            guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
                close(fd)
                return -Int64((st.st_mode & S_IFMT) == S_IFDIR ? EISDIR : EACCES)
            }
            let identity = OpenFile.Identity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
            if let open = openFile(identity: identity), !open.isDead {
                if wantsWrite && !open.writable { close(fd); return -Int64(EACCES) }
                fileID = open.fileID
                let (handle, _) = register({ open }, identity: identity, discard: fd)
                return Int64(handle)
            }
            if !wantsWrite { Self.readAhead(fd: fd, size: st.st_size) }
            let shape = EncryptedFile.shape(fd: fd, fileSize: Int(st.st_size))
            if Self.isUnauthenticated(shape, size: st.st_size) {
                close(fd)
                return -Int64(EACCES)
            }
            if wantsWrite, shape != .damaged, !isMutable(shape) {
                // Rewrite as suite 2 under the commit lock, then open the new file (§3.4).
                let r = convert(fd: fd, relative: relative, identities: identities, empty: false)
                close(fd)
                guard r == 0 else { return Int64(r) }
                continue
            }
            let content: OpenFile.Content
            switch shape {
            case .plaintext:
                content = .plaintext
            case .damaged:
                close(fd)
                return -Int64(EIO)
            case .encrypted:
                do {
                    let file = try MutableFile(fd: fd, path: relative, identities: identities)
                    fileID = file.header.fileID
                    if writable { try recoverJournal(file, relative: relative) }
                    content = .encrypted(file)
                } catch let error as FormatError {
                    close(fd)
                    return -Int64(OpenFile.errnoCode(for: error))
                } catch {
                    close(fd)
                    return -Int64(EIO)
                }
            }
            let (handle, file) = register({ OpenFile(identity: identity, fd: fd, writable: writable, content: content) },
                                          identity: identity, discard: fd)
            file.path = relative
            return Int64(handle)
        }
        return -Int64(EIO)
    }

    /// A file opened to be read is read from its start: its header now, its first segments at
    /// the first READ. On a cold cache the header's 4 KiB `pread` alone makes the kernel read a
    /// few pages ahead, and the READ that follows waits for the disk a second time; asking for
    /// the first 256 KiB at once makes it one request (docs/mount.md §9, md5sum).
    static func readAhead(fd: Int32, size: off_t) {
        _ = posix_fadvise(fd, 0, min(size, 256 << 10), POSIX_FADV_WILLNEED)
    }

    /// A non-empty plaintext file in the zone folder (docs/mount.md §1.2): anyone with write
    /// access to the folder can have put it there, so it opens neither for reading — it would
    /// read as a genuine record — nor for writing — the first write would make it a member's
    /// encrypted file, planted text and all. A member who has checked it runs `zone encrypt`.
    /// An empty file has nothing to vouch for and is an empty file.
    static func isUnauthenticated(_ shape: EncryptedFile.Shape, size: off_t) -> Bool {
        shape == .plaintext && size > 0
    }

    private func isMutable(_ shape: EncryptedFile.Shape) -> Bool {
        if case .encrypted(_, let suite, _) = shape { return suite == .mutable }
        return false
    }

    /// A crash may have left a journal beside the file, or a torn first commit under its
    /// new-file mark: replay the one, verify or reset the other, under the commit lock
    /// (docs/format.md §14.3, §14.5).
    private func recoverJournal(_ file: MutableFile, relative: String) throws {
        // Almost always there is neither: one lookup beneath the root and one fgetxattr say so (§9, md5sum).
        let (folderPath, _) = BackingTree.split(relative)
        let journal = (folderPath == "." ? "" : folderPath + "/") + WriteJournal.name(fileID: file.header.fileID)
        let probe = backing.open(journal, flags: BackingTree.pathOnly | O_NOFOLLOW)
        if probe >= 0 { close(probe) }
        let marked = NewFileMark.isPresent(fd: file.fd)
        guard probe >= 0 || marked else { return }
        let (folder, _) = backing.openFolder(of: relative)
        guard folder >= 0 else { return }
        defer { close(folder) }
        try CommitLock.withExclusive(fd: file.fd, path: relative) {
            var st = stat()
            if fstatat(folder, WriteJournal.name(fileID: file.header.fileID), &st, AT_SYMLINK_NOFOLLOW) == 0 {
                _ = try file.recover(JournalTarget(directoryFD: folder))
            }
            if marked { _ = try file.recoverNewFileMark() }
        }
    }

    /// Rewrites the file on `fd` (at `relative`) as a suite-2 file; 0 or -errno.
    private func convert(fd: Int32, relative: String, identities: [any Identity], empty: Bool) -> Int32 {
        guard let recipients = try? vault.recipients() else { return -EACCES }
        let (folder, name) = backing.openFolder(of: relative)
        guard folder >= 0 else { return folder }
        defer { close(folder) }
        do {
            try CommitLock.withExclusive(fd: fd, path: relative) {
                // Someone may have converted it while we waited for the lock.
                var now = stat(), mine = stat()
                guard fstatat(folder, name, &now, AT_SYMLINK_NOFOLLOW) == 0, fstat(fd, &mine) == 0,
                      now.st_ino == mine.st_ino, now.st_dev == mine.st_dev else { return }
                try MutableFile.rewriteAsMutable(sourceFD: fd, path: relative, directoryFD: folder, name: name,
                                                 identities: identities, zoneID: vault.zoneID, recipients: recipients, empty: empty)
            }
            return 0
        } catch let error as FormatError {
            return -OpenFile.errnoCode(for: error)
        } catch {
            return -EIO
        }
    }

    /// Creates a new file: an empty suite-2 file with the zone's recipients (docs/mount.md §1.3).
    func create(_ relative: String, mode: mode_t, flags: Int32) -> Int64 {
        var fileID: [UInt8]?
        let result = createFile(relative, mode: mode, fileID: &fileID)
        // Another daemon created the name since the kernel looked it up: without O_EXCL that
        // is an ordinary open of the existing file.
        if result == -Int64(EEXIST) && flags & O_EXCL == 0 { return open(relative, flags: flags) }
        audit?.record(AuditRecord(path: relative, fileID: fileID, operation: "create", result: result < 0 ? Int32(-result) : 0))
        return result
    }

    private func createFile(_ relative: String, mode: mode_t, fileID: inout [UInt8]?) -> Int64 {
        if readOnly { return -Int64(EROFS) }
        guard !BackingTree.isHidden(relative: relative) else { return -Int64(EPERM) }
        guard let made = try? vault.newFileHeader() else { return -Int64(EACCES) }
        let (folder, name) = backing.openFolder(of: relative)
        guard folder >= 0 else { return Int64(folder) }
        defer { close(folder) }
        // The file appears complete (header and empty final segment) or not at all: it is
        // written unnamed (O_TMPFILE) and then linked in, which fails if the name exists. A
        // daemon elsewhere never sees a 0-byte file it could take for an empty plaintext file.
        var fd = openat(folder, ".", O_RDWR | BackingTree.temporaryFile | O_CLOEXEC, mode & 0o7777)
        var temporary: String?
        if fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL) {
            // No O_TMPFILE (NFS): a hidden temporary name, linked to the real name, then removed.
            let t = "." + name + ".triad-tmp-" + Hex.encode(SecureRandom.bytes(count: 8))
            fd = openat(folder, t, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 0o7777)
            temporary = t
        }
        guard fd >= 0 else { return -Int64(errno) }
        defer { if let temporary { unlinkat(folder, temporary, 0) } }
        do {
            let file = try MutableFile.create(fd: fd, path: relative, header: made.header, fileKey: made.fileKey)
            fileID = file.header.fileID
            // Before the name exists (docs/format.md §14.5): its first commit needs no journal.
            file.setNewFileMark()
            let linked = temporary.map { linkat(folder, $0, folder, name, 0) } ?? linkat(AT_FDCWD, "/proc/self/fd/\(fd)", folder, name, AT_SYMLINK_FOLLOW)
            guard linked == 0 else {
                let e = errno
                close(fd)
                return -Int64(e)
            }
            fchmod(fd, mode & 0o7777)
            var st = stat()
            fstat(fd, &st)
            let identity = OpenFile.Identity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
            let (handle, open) = register({ OpenFile(identity: identity, fd: fd, writable: true, content: .encrypted(file)) },
                                          identity: identity, discard: fd)
            open.path = relative
            // Its content may be staged unnamed until its first durable point (§3.5); not on
            // a file system without O_TMPFILE, whose hidden name would outlive a crash.
            if temporary == nil { open.markFresh() }
            return Int64(handle)
        } catch {
            close(fd)
            return -Int64(EIO)
        }
    }

    /// The journal folder of `relative` (nil for an unlinked file, written in place).
    func journalFolder(_ relative: String?) -> JournalFolder? {
        guard let relative else { return nil }
        let (folder, _) = backing.openFolder(of: relative)
        return folder >= 0 ? JournalFolder(fd: folder) : nil
    }

    /// Commits a handle's writes (flush = close, fsync).
    func commit(handle: UInt64, relative: String?) -> Int32 {
        guard let file = file(handle: handle) else { return -EBADF }
        guard file.isDirty || file.isStaging else { return 0 }
        let folder = journalFolder(relative)
        defer { folder?.close() }
        let e = file.commit(folder: folder)
        rekeyIfPublished(file)
        return -e
    }

    /// A staged new file replaced its empty file (§3.5): the table finds it by its new inode.
    func rekeyIfPublished(_ file: OpenFile) {
        guard let (old, new) = file.takePublished() else { return }
        table.withLock { t in
            if t.files[old] === file {
                t.files[old] = nil
                t.files[new] = file
            }
            file.identity = new
        }
    }

    func releaseHandle(_ handle: UInt64, relative: String?) {
        if let open = file(handle: handle) { locks.releaseHandle(open, handle: handle) }
        guard let file = release(handle: handle) else { return }
        locks.releaseAll(file)
        // Nothing to commit or checkpoint (a file that was only read): no folder to open.
        guard file.isDirty || file.isStaging || file.needsCheckpoint else {
            rememberSize(of: file)
            return file.releaseBuffers()
        }
        let folder = journalFolder(relative)
        _ = file.commit(folder: folder)
        rekeyIfPublished(file)
        rememberSize(of: file)
        file.releaseBuffers()
        if let folder, file.needsCheckpoint {
            checkpointer.add(file, folder: folder)
        } else {
            file.checkpoint(folder: folder)
            folder?.close()
        }
    }

    /// Puts the authenticated plaintext size of a file this daemon just had open into the
    /// size cache, keyed by the backing file's status now: the next `getattr` (`find`, `ls -l`,
    /// the kernel's lookups) finds it without opening the file and reading its header. Any
    /// later change of the backing file changes its status times, so the entry is then never
    /// found (`SizeCache`). Only when the backing file still has the size the plaintext size
    /// was read with: another writer's commit since then changes it, and is left to `getattr`.
    private func rememberSize(of file: OpenFile) {
        guard let size = file.committedSize else { return }
        var st = stat()
        guard fstat(file.fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, Int(st.st_size) == size.backing else { return }
        sizes.store(off_t(size.plaintext), for: st)
    }

    // MARK: - Size

    func truncate(_ relative: String?, size: UInt64, handle: UInt64?) -> Int32 {
        if readOnly { return -EROFS }
        if let handle, let file = file(handle: handle) {
            let folder = journalFolder(relative)
            defer { folder?.close() }
            return -file.commit(truncate: size, folder: folder, durable: false)
        }
        guard let relative else { return -EBADF }
        // Not open here: open for writing (which converts if needed), truncate, release.
        let h = open(relative, flags: O_WRONLY)
        guard h >= 0 else { return Int32(h) }
        let r = truncate(relative, size: size, handle: UInt64(h))
        releaseHandle(UInt64(h), relative: relative)
        return r
    }
}
