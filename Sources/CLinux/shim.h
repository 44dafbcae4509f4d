#ifndef TRIAD_CLINUX_SHIM_H
#define TRIAD_CLINUX_SHIM_H
// Linux system calls the C library does not wrap (or wraps only under _GNU_SOURCE), which
// Swift cannot call through the variadic syscall(2), and the extended-attribute calls. Only TriadFormat
// (openat2, xattr: docs/zone.md §1b, every zone file is opened beneath the zone root) and DurableFile
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

#endif
