#ifndef TRIAD_CFUSE_SHIM_H
#define TRIAD_CFUSE_SHIM_H
// libfuse 3 (high-level API) as the mount target sees it (docs/mount.md §1.1). The API
// version is fixed here; fuse_new and fuse_loop_mt are macros that pick versioned symbols
// by FUSE_USE_VERSION, which Swift cannot import, so they are wrapped below.
#define FUSE_USE_VERSION 312
#include <sys/file.h>
#include <fuse.h>
#include <fuse_lowlevel.h>

static inline struct fuse *triad_fuse_new(struct fuse_args *args, const struct fuse_operations *op, void *data) {
    return fuse_new(args, op, sizeof(*op), data);
}

/// flock(2), which Swift cannot call by name (its name is also the `struct flock` that fcntl
/// locks take): programs' `flock` locks passed to the backing file (docs/mount.md §6).
static inline int triad_flock(int fd, int operation) {
    return flock(fd, operation);
}

/// Runs the multithreaded loop with at most `max_threads` workers; returns when unmounted
/// or fuse_exit is called. Workers, once started, stay (up to `max_threads`): with fewer
/// idle threads allowed than run at once, libfuse ends a worker after each burst and starts
/// a new one at the next, a thread (stack, request buffer, pipe) per request or two while
/// `tar` creates files (docs/mount.md §9). An idle worker sleeps in the kernel, reading the
/// FUSE device, and costs no CPU.
static inline int triad_fuse_loop_mt(struct fuse *f, unsigned int max_threads) {
    struct fuse_loop_config *config = fuse_loop_cfg_create();
    if (config == NULL) return -1;
    fuse_loop_cfg_set_max_threads(config, max_threads);
    fuse_loop_cfg_set_idle_threads(config, max_threads);
    fuse_loop_cfg_set_clone_fd(config, 0);
    int result = fuse_loop_mt(f, config);
    fuse_loop_cfg_destroy(config);
    return result;
}

/// FUSE_ARGS_INIT is a macro too.
static inline struct fuse_args triad_fuse_args(int argc, char **argv) {
    struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
    return args;
}

#include <sys/syscall.h>
#include <unistd.h>
#include <linux/openat2.h>
#include <sys/prctl.h>
#include <malloc.h>

/// One malloc arena for all threads (mallopt is in <malloc.h>, outside Glibc's Swift module).
static inline int triad_single_malloc_arena(void) {
    // Buffers of 64 KiB and more (segments, libfuse's request buffers) are mapped and
    // unmapped each time instead of growing the heap, and freed heap is returned early:
    // resident memory stays near what is in use (docs/mount.md §9). (Taking them from the
    // heap instead spares a read the faults of its fresh 128 KiB reply buffer, but the heap
    // then keeps the high-water mark of every burst: 7 MiB more peak resident memory in the
    // bench, for no read speed that a loaded two-core machine could tell apart.)
    mallopt(M_MMAP_THRESHOLD, 64 * 1024);
    mallopt(M_TRIM_THRESHOLD, 256 * 1024);
    return mallopt(M_ARENA_MAX, 1);
}

#include <stdio.h>
#include <sys/mman.h>
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

/// Hands back the pages of mapped files (the program and its shared libraries) that are
/// resident now: called once mounted, when what is resident is mostly code that only the
/// mount's set-up ran (argument parsing, the policy's signatures and certificates, the key
/// unwrap). madvise(MADV_PAGEOUT) leaves pages that another process maps too, and nothing is
/// lost: a page the daemon needs again is read back at its next use (docs/mount.md §9,
/// memory). Returns the number of mappings advised.
static inline int triad_page_out_mapped_files(void) {
    FILE *maps = fopen("/proc/self/maps", "re");
    if (maps == NULL) return -1;
    char line[512];
    int advised = 0;
    while (fgets(line, sizeof line, maps) != NULL) {
        unsigned long start, end;
        char perms[5];
        int path = 0;
        if (sscanf(line, "%lx-%lx %4s %*s %*s %*s %n", &start, &end, perms, &path) < 3 || path == 0) continue;
        if (line[path] != '/') continue;   // anonymous memory, the heap, stacks, [vdso]
        if (perms[1] == 'w') continue;     // data: its written pages would go to swap
        if (madvise((void *)start, end - start, MADV_PAGEOUT) == 0) advised++;
    }
    fclose(maps);
    return advised;
}

/// Copies the next `count` bytes of a write request's data into `dst` and advances `src`
/// past them; returns the bytes copied or -errno. The data is in memory, or — when libfuse
/// spliced the request from the device — still in a pipe, read from there straight into
/// `dst` (no request-sized buffer in this process).
static inline ssize_t triad_fuse_buf_take(struct fuse_bufvec *src, void *dst, size_t count) {
    struct fuse_bufvec out = FUSE_BUFVEC_INIT(count);
    out.buf[0].mem = dst;
    return fuse_buf_copy(&out, src, 0);
}

/// Bytes of a write request's data (all of it, before any `triad_fuse_buf_take`).
static inline size_t triad_fuse_buf_size(const struct fuse_bufvec *src) { return fuse_buf_size(src); }

/// prctl(PR_SET_DUMPABLE, 0): no core dumps and no ptrace by other processes of the same user
/// (docs/mount.md §2). prctl is variadic.
static inline int triad_set_nondumpable(void) { return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); }

/// openat2(2) with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS: every
/// backing-file access of the mount stays inside the zone folder and follows no symbolic
/// link (docs/mount.md §1.1). syscall(2) is variadic, which Swift cannot call.
static inline int triad_open_beneath(int dirfd, const char *path, int flags, unsigned int mode) {
    struct open_how how = { .flags = (unsigned long long)flags, .mode = mode,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
    if (!(flags & O_CREAT)) how.mode = 0;
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

/// syncfs(2) (declared only under _GNU_SOURCE).
static inline int triad_syncfs(int fd) { return (int)syscall(SYS_syncfs, fd); }

/// renameat2(2), for RENAME_NOREPLACE and RENAME_EXCHANGE (glibc declares it only under _GNU_SOURCE).
static inline int triad_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags) {
    return (int)syscall(SYS_renameat2, olddirfd, oldpath, newdirfd, newpath, flags);
}

#endif
