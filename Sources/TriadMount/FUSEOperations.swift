#if canImport(Glibc)
import Glibc
#endif
internal import CFUSE

/// The libfuse high-level operations table (docs/mount.md §1.1). Each entry is a
/// non-capturing `@convention(c)` closure that finds the `MountFilesystem` through
/// `fuse_get_context()->private_data` and runs synchronously on the libfuse worker thread
/// that called it.
private func filesystem() -> MountFilesystem {
    Unmanaged<MountFilesystem>.fromOpaque(fuse_get_context()!.pointee.private_data!).takeUnretainedValue()
}

private func relative(_ path: UnsafePointer<CChar>?) -> String? {
    path.map { BackingTree.relative(String(cString: $0)) }
}

private func handle(_ fi: UnsafeMutablePointer<fuse_file_info>?) -> UInt64? {
    guard let fi, fi.pointee.fh != 0 else { return nil }
    return fi.pointee.fh
}

enum FUSEOperations {
    static func table() -> fuse_operations {
        var ops = fuse_operations()
        ops.`init` = { conn, config in
            if let conn {
                // Writes of up to 1 MiB − 4 KiB per request (the kernel's default is 128 KiB):
                // a sequential write crosses into the daemon an eighth as often. With the 4 KiB
                // request header that is 1 MiB, the largest pipe an unprivileged process gets
                // (/proc/sys/fs/pipe-max-size), so libfuse can splice each request into its
                // worker's pipe and `write_buf` reads the data from there straight into the
                // segment overlays: no 1 MiB buffer per worker is touched (docs/mount.md §9).
                conn.pointee.max_write = (1 << 20) - 4096
                conn.pointee.want |= UInt32(FUSE_CAP_SPLICE_READ)
            }
            if let config {
                config.pointee.use_ino = 1
                config.pointee.hard_remove = 1
                config.pointee.nullpath_ok = 0   // the path of an open file names its journal folder (NULL only once unlinked)
                config.pointee.entry_timeout = 1
                config.pointee.attr_timeout = 1
                config.pointee.negative_timeout = 1
                config.pointee.kernel_cache = 0
                config.pointee.auto_cache = 0
            }
            return fuse_get_context()!.pointee.private_data
        }
        ops.getattr = { path, st, fi in
            guard let st else { return -EINVAL }
            return filesystem().getattr(relative(path) ?? ".", handle: handle(fi), into: &st.pointee)
        }
        ops.opendir = { path, fi in
            guard let fi else { return -EINVAL }
            let fd = filesystem().opendir(relative(path) ?? ".")
            guard fd >= 0 else { return fd }
            fi.pointee.fh = UInt64(fd) + 1
            return 0
        }
        ops.releasedir = { _, fi in
            if let fi, fi.pointee.fh > 0 { close(Int32(fi.pointee.fh - 1)) }
            return 0
        }
        ops.readdir = { path, buffer, filler, _, fi, _ in
            guard let filler, let fi, fi.pointee.fh > 0 else { return -EIO }
            var st = stat()
            fstat(Int32(fi.pointee.fh - 1), &st)
            let top = st.st_ino == filesystem().backing.rootInode
            return filesystem().readdir(folderFD: Int32(fi.pointee.fh - 1), top: top) { name, type, inode in
                // Only the type and inode number (the entry's d_type and d_ino); without
                // FUSE_FILL_DIR_PLUS the kernel still looks a name up before it is used.
                var entry = stat()
                entry.st_ino = ino_t(inode)
                entry.st_mode = type == UInt8(DT_DIR) ? S_IFDIR : S_IFREG
                _ = name.withCString { cName in
                    withUnsafePointer(to: &entry) { filler(buffer, cName, inode == 0 ? nil : $0, 0, fuse_fill_dir_flags(rawValue: 0)) }
                }
            }
        }
        ops.open = { path, fi in
            guard let fi, let rel = relative(path) else { return -EINVAL }
            let h = filesystem().open(rel, flags: fi.pointee.flags)
            guard h > 0 else { return Int32(h) }
            fi.pointee.fh = UInt64(h)
            return 0
        }
        ops.create = { path, mode, fi in
            guard let fi, let rel = relative(path) else { return -EINVAL }
            let h = filesystem().create(rel, mode: mode, flags: fi.pointee.flags)
            guard h > 0 else { return Int32(h) }
            fi.pointee.fh = UInt64(h)
            return 0
        }
        ops.read = { _, buffer, size, offset, fi in
            guard let h = handle(fi), let file = filesystem().file(handle: h), let buffer else { return -EBADF }
            return Int32(file.read(into: buffer, count: size, offset: UInt64(offset)))
        }
        ops.write_buf = { path, source, offset, fi in
            let fs = filesystem()
            guard let h = handle(fi), let file = fs.file(handle: h), let source else { return -EBADF }
            let rel = relative(path)
            let size = triad_fuse_buf_size(source)
            return Int32(file.write(count: size, offset: UInt64(offset), journal: { fs.journalFolder(rel) }) { target in
                triad_fuse_buf_take(source, target.baseAddress, target.count)
            })
        }
        ops.flush = { path, fi in
            guard let h = handle(fi) else { return 0 }
            return filesystem().commit(handle: h, relative: relative(path))
        }
        ops.fsync = { path, _, fi in
            guard let h = handle(fi) else { return 0 }
            return filesystem().commit(handle: h, relative: relative(path))
        }
        ops.release = { path, fi in
            guard let h = handle(fi) else { return 0 }
            filesystem().releaseHandle(h, relative: relative(path))
            return 0
        }
        ops.truncate = { path, size, fi in
            filesystem().truncate(relative(path), size: UInt64(max(0, size)), handle: handle(fi))
        }
        ops.unlink = { path in filesystem().unlink(relative(path) ?? ".") }
        ops.rename = { from, to, flags in filesystem().rename(relative(from) ?? ".", to: relative(to) ?? ".", flags: flags) }
        ops.mkdir = { path, mode in filesystem().mkdir(relative(path) ?? ".", mode: mode) }
        ops.rmdir = { path in filesystem().rmdir(relative(path) ?? ".") }
        // fchmod, futimens (tar's calls): the kernel names the open file, which is then set
        // through its descriptor — no path resolved again (docs/mount.md §9, untar).
        ops.chmod = { path, mode, fi in filesystem().chmod(relative(path) ?? ".", mode: mode, handle: handle(fi)) }
        ops.chown = { _, uid, gid, _ in
            // Only "no change" succeeds: the daemon runs as the user, who owns what it writes.
            (uid == UInt32.max || uid == getuid()) && (gid == UInt32.max || gid == getgid()) ? 0 : -EPERM
        }
        ops.utimens = { path, times, fi in filesystem().utimens(relative(path) ?? ".", times: times, handle: handle(fi)) }
        // Programs' locks go to the backing file, where the other daemons on the share see
        // them (docs/mount.md §4, §6); libfuse settles conflicts between owners of this
        // daemon first, and releases an owner's locks at each close (flush).
        ops.lock = { _, fi, cmd, lock in
            guard let fi, let lock, let h = handle(fi), let file = filesystem().file(handle: h) else { return -EBADF }
            return filesystem().locks.posix(file, owner: fi.pointee.lock_owner, cmd: cmd, lock: &lock.pointee)
        }
        ops.flock = { _, fi, operation in
            guard let fi, let h = handle(fi), let file = filesystem().file(handle: h) else { return -EBADF }
            return filesystem().locks.bsd(file, handle: h, operation: operation)
        }
        ops.statfs = { _, st in
            guard let st else { return -EINVAL }
            return filesystem().statfs(into: &st.pointee)
        }
        ops.link = { _, _ in -EPERM }
        ops.symlink = { _, _ in -EPERM }
        ops.mknod = { _, _, _ in -EPERM }
        return ops
    }
}
