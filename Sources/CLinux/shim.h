#ifndef TRIAD_CLINUX_SHIM_H
#define TRIAD_CLINUX_SHIM_H
// Linux system calls the C library does not wrap (or wraps only under _GNU_SOURCE), which
// Swift cannot call through the variadic syscall(2), and the extended-attribute calls. Only TriadFormat
// (openat2, xattr: docs/zone.md §1b, every zone file is opened beneath the zone root; copy_file_range
// and sync_file_range: the write journal's copy into the file, docs/format.md §14.2) and DurableFile
// (renameat2: docs/format.md §7.1, outputs that must not replace anything) import this module.
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <linux/openat2.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

/// openat2(2) with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS: `path` is
/// resolved below `dirfd` only, and no component (the last included) may be a symbolic link.
/// `mode` is used only with O_CREAT. Returns the descriptor, or -1 with errno (ENOSYS on a
/// kernel before 5.6).
static inline int triad_linux_open_beneath(int dirfd, const char *path, int flags, unsigned int mode) {
#ifdef SYS_openat2
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = (uint64_t)(unsigned int)flags;
    how.mode = (flags & O_CREAT) ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
#else
    errno = ENOSYS;
    return -1;
#endif
}

/// renameat2(2) with RENAME_NOREPLACE: fails with EEXIST rather than replace `newpath`.
/// EINVAL or ENOSYS where the filesystem or kernel does not support it.
static inline int triad_linux_rename_noreplace(int olddirfd, const char *oldpath, int newdirfd, const char *newpath) {
#ifdef SYS_renameat2
    return (int)syscall(SYS_renameat2, olddirfd, oldpath, newdirfd, newpath, RENAME_NOREPLACE);
#else
    errno = ENOSYS;
    return -1;
#endif
}

/// copy_file_range(2): copies `count` bytes from `in_fd` at `in_offset` to `out_fd` at
/// `out_offset` inside the kernel (no user-space buffer; a server-side copy on NFS 4.2).
/// Returns the bytes copied (possibly fewer), or -1 with errno (EXDEV, EINVAL, ENOSYS,
/// EOPNOTSUPP where it cannot: the caller then copies through a buffer).
static inline long triad_linux_copy_file_range(int in_fd, int64_t in_offset, int out_fd, int64_t out_offset, size_t count) {
#ifdef SYS_copy_file_range
    int64_t in = in_offset, out = out_offset;
    return (long)syscall(SYS_copy_file_range, in_fd, &in, out_fd, &out, count, 0u);
#else
    errno = ENOSYS;
    return -1;
#endif
}

/// sync_file_range(2) with SYNC_FILE_RANGE_WRITE: starts write-out of the dirty pages in the
/// range and returns without waiting for it. Not a durability step (it flushes no metadata
/// and no device cache): it only lets the device work while the caller computes, so that a
/// later fdatasync has less left to wait for.
static inline int triad_linux_start_writeback(int fd, int64_t offset, int64_t count) {
#ifdef SYS_sync_file_range
    return (int)syscall(SYS_sync_file_range, fd, offset, count, 2u /* SYNC_FILE_RANGE_WRITE */);
#else
    errno = ENOSYS;
    return -1;
#endif
}

#endif
