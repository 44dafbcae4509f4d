#if canImport(Glibc)
import Glibc
#endif
internal import CFUSE
import TriadFormat

/// Folders and names: readdir, mkdir, rmdir, unlink, rename, chmod, utimens, statfs
/// (docs/mount.md §6). Each resolves the folder beneath the zone root and acts on the last
/// component with the *at() call, never following a symbolic link.
extension MountFilesystem {
    /// Opens a folder for listing; returns its descriptor or -errno.
    func opendir(_ relative: String) -> Int32 {
        guard !BackingTree.isHidden(relative: relative) else { return -ENOENT }
        return backing.open(relative, flags: O_RDONLY | O_DIRECTORY)
    }

    /// Calls `entry` with every visible name in the folder open on `folderFD` (at `relative`),
    /// its type (`DT_REG`, `DT_DIR`) and its backing inode number (0 for `.` and `..`). The
    /// type reaches the program as `d_type`: `find -type f` and `rm -rf` then need no LOOKUP
    /// per name to tell files from folders (docs/mount.md §9, md5sum).
    func readdir(folderFD: Int32, top: Bool, entry: (String, UInt8, UInt64) -> Void) -> Int32 {
        let fd = dup(folderFD)
        guard fd >= 0 else { return -errno }
        lseek(fd, 0, SEEK_SET)
        guard let dir = fdopendir(fd) else { close(fd); return -errno }
        defer { closedir(dir) }
        rewinddir(dir)
        var readAhead = 0
        entry(".", UInt8(DT_DIR), 0)
        entry("..", UInt8(DT_DIR), 0)
        while let ent = Glibc.readdir(dir) {
            let name = withUnsafeBytes(of: ent.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name == "." || name == ".." || BackingTree.isHidden(name: name, atTop: top) { continue }
            var type = ent.pointee.d_type
            if type == UInt8(DT_UNKNOWN) {
                var st = stat()
                guard fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
                type = (st.st_mode & S_IFMT) == S_IFDIR ? UInt8(DT_DIR) : (st.st_mode & S_IFMT) == S_IFREG ? UInt8(DT_REG) : 0
            }
            guard type == UInt8(DT_REG) || type == UInt8(DT_DIR) else { continue }
            if type == UInt8(DT_REG) && readAhead < Self.headersReadAhead {
                Self.readHeaderAhead(in: fd, name: name)
                readAhead += 1
            }
            entry(name, type, UInt64(ent.pointee.d_ino))
        }
        return 0
    }

    /// Files per listing whose headers are read ahead: every file of a ward's folder, while a
    /// folder of 100,000 records costs its listing 256 reads rather than 400 MB.
    static let headersReadAhead = 256

    /// Asks the kernel for the first 4 KiB of `name` (its header, docs/format.md §3) in the
    /// folder open on `folderFD`, without waiting. The LOOKUP (the plaintext size) and the
    /// OPEN (the key) that usually follow a listing — `md5sum` after `find`, `ls -l`, `cp -r`
    /// — then find it in memory instead of each waiting for the disk in turn (docs/mount.md
    /// §9). `O_NOFOLLOW`, `O_NONBLOCK` and `O_NOCTTY`: a name swapped since the listing for a
    /// link, a FIFO or a terminal neither leads out of the folder, nor hangs, nor becomes the
    /// daemon's terminal. Nothing is decrypted or audited.
    static func readHeaderAhead(in folderFD: Int32, name: String) {
        let fd = openat(folderFD, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = posix_fadvise(fd, 0, 4096, POSIX_FADV_WILLNEED)
        close(fd)
    }

    /// Runs `body` with the folder of `relative` and its last component; refuses hidden names.
    private func inFolder(_ relative: String, _ body: (Int32, String) -> Int32) -> Int32 {
        guard !BackingTree.isHidden(relative: relative), relative != "." else { return -EPERM }
        let (folder, name) = backing.openFolder(of: relative)
        guard folder >= 0 else { return folder }
        defer { close(folder) }
        return body(folder, name)
    }

    func mkdir(_ relative: String, mode: mode_t) -> Int32 {
        if readOnly { return -EROFS }
        return inFolder(relative) { folder, name in Glibc.mkdirat(folder, name, mode & 0o7777) == 0 ? 0 : -errno }
    }

    func rmdir(_ relative: String) -> Int32 {
        if readOnly { return -EROFS }
        return inFolder(relative) { folder, name in unlinkat(folder, name, AT_REMOVEDIR) == 0 ? 0 : -errno }
    }

    func unlink(_ relative: String) -> Int32 {
        let result: Int32
        var fileID: [UInt8]?
        if readOnly {
            result = -EROFS
        } else {
            // The file id (for the audit record) comes from the handle table when the file is
            // open here; reading every header on unlink would slow down `rm -rf`. A journal
            // left by a crash beside a deleted file is never replayed (no file has its id).
            var st = stat()
            var open: OpenFile?
            if backing.status(relative, into: &st) == 0 {
                open = openFile(identity: OpenFile.Identity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino)))
                fileID = open?.fileID
            }
            result = inFolder(relative) { folder, name in unlinkat(folder, name, 0) == 0 ? 0 : -errno }
            // Its handles keep the unlinked file; a new file under the name is not theirs (§4).
            if result == 0 { open?.path = nil }
            if result == 0, st.st_ino != 0 { checkpointer.dropDeleted(OpenFile.Identity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))) }
        }
        audit?.record(AuditRecord(path: relative, fileID: fileID, operation: "unlink", result: -result))
        return result
    }

    func rename(_ from: String, to: String, flags: UInt32) -> Int32 {
        var fileID: [UInt8]?
        var result: Int32
        if readOnly {
            result = -EROFS
        } else if BackingTree.isHidden(relative: from) || BackingTree.isHidden(relative: to) || from == "." || to == "." {
            result = -EPERM
        } else {
            let (fromFolder, fromName) = backing.openFolder(of: from)
            let (toFolder, toName) = backing.openFolder(of: to)
            defer {
                if fromFolder >= 0 { close(fromFolder) }
                if toFolder >= 0 { close(toFolder) }
            }
            if fromFolder < 0 {
                result = fromFolder
            } else if toFolder < 0 {
                result = toFolder
            } else {
                fileID = Self.fileID(folder: fromFolder, name: fromName)
                // A file open here under the target name keeps its inode, not the name (§4).
                var target = stat()
                let replaced = from != to && backing.status(to, into: &target) == 0
                    ? openFile(identity: OpenFile.Identity(device: UInt64(target.st_dev), inode: UInt64(target.st_ino))) : nil
                result = triad_renameat2(fromFolder, fromName, toFolder, toName, flags) == 0 ? 0 : -errno
                // Flag 2 is RENAME_EXCHANGE (rename(2)): the target now has the source name.
                if result == 0 { replaced?.path = flags & 2 != 0 ? from : nil }
                // A pending journal travels with its file (docs/format.md §14.1).
                if result == 0, let fileID {
                    let journal = WriteJournal.name(fileID: fileID)
                    renameat(fromFolder, journal, toFolder, journal)
                }
                var st = stat()
                if result == 0, backing.status(to, into: &st) == 0,
                   let open = openFile(identity: OpenFile.Identity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))) {
                    open.path = to
                }
            }
        }
        audit?.record(AuditRecord(path: from, fileID: fileID, operation: "rename", result: -result, target: to))
        return result
    }

    /// The file id of an encrypted file (from its core; no key needed), or nil.
    static func fileID(folder: Int32, name: String) -> [UInt8]? {
        let fd = openat(folder, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard EncryptedFile.isEncrypted(fd: fd) else { return nil }
        var id = [UInt8](repeating: 0, count: 32)
        let n = id.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 32, 12) }
        return n == 32 ? id : nil
    }

    /// chmod; with `handle` (fchmod) through the open file's descriptor.
    func chmod(_ relative: String, mode: mode_t, handle: UInt64? = nil) -> Int32 {
        if readOnly { return -EROFS }
        if let handle, let open = file(handle: handle) { return fchmod(open.fd, mode & 0o7777) == 0 ? 0 : -errno }
        if relative == "." { return fchmod(backing.rootFD, mode & 0o7777) == 0 ? 0 : -errno }
        return inFolder(relative) { folder, name in
            var st = stat()
            guard fstatat(folder, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { return -errno }
            let kind = st.st_mode & S_IFMT
            guard kind == S_IFREG || kind == S_IFDIR else { return -EPERM }
            return fchmodat(folder, name, mode & 0o7777, 0) == 0 ? 0 : -errno
        }
    }

    /// utimensat; with `handle` (futimens) through the open file's descriptor.
    func utimens(_ relative: String, times: UnsafePointer<timespec>?, handle: UInt64? = nil) -> Int32 {
        if readOnly { return -EROFS }
        if relative == "." { return futimens(backing.rootFD, times) == 0 ? 0 : -errno }
        // Writes still pending in this daemon would land after the new times (tar sets them
        // before it closes): commit them first.
        let open: OpenFile?
        if let handle {
            open = file(handle: handle)
        } else {
            var st = stat()
            open = backing.status(relative, into: &st) == 0
                ? openFile(identity: OpenFile.Identity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))) : nil
        }
        if let open, open.isDirty || open.isStaging {
            // A staged new file is published first, so the times go to the file that stays (§3.5).
            let folder = journalFolder(relative)
            defer { folder?.close() }
            let e = open.commit(folder: folder)
            rekeyIfPublished(open)
            if e != 0 { return -e }
        }
        if handle != nil, let open { return futimens(open.fd, times) == 0 ? 0 : -errno }
        return inFolder(relative) { folder, name in
            utimensat(folder, name, times, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno
        }
    }

    func statfs(into st: inout statvfs) -> Int32 {
        fstatvfs(backing.rootFD, &st) == 0 ? 0 : -errno
    }
}
