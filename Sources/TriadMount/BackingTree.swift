#if canImport(Glibc)
import Glibc
#endif
internal import CFUSE

/// The zone folder as the daemon reaches it: one descriptor of the zone root, and every
/// access relative to it with `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)`, so no name
/// in the zone (a symbolic link planted by whoever controls the folder, a `..`) can make
/// the daemon read or write outside it (docs/mount.md §1.1).
final class BackingTree {
    let rootFD: Int32
    let rootPath: String

    /// O_PATH (Glibc exports it only under _GNU_SOURCE).
    static let pathOnly: Int32 = 0o10000000
    /// O_TMPFILE (__O_TMPFILE | O_DIRECTORY), likewise.
    static let temporaryFile: Int32 = 0o20000000 | O_DIRECTORY

    init(root: String) throws {
        let fd = Glibc.open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw MountError.zoneFolder(path: root, errno: errno) }
        rootFD = fd
        rootPath = root
        var st = stat()
        fstat(fd, &st)
        rootInode = st.st_ino
    }

    /// The zone root's inode: listings of the root hide `.zone`.
    let rootInode: ino_t

    deinit { close(rootFD) }

    /// "/a/b" (a FUSE path) → "a/b"; "/" → ".".
    static func relative(_ path: String) -> String {
        let trimmed = path.drop { $0 == "/" }
        return trimmed.isEmpty ? "." : String(trimmed)
    }

    /// Splits a relative path into its folder ("." at the top) and last component.
    static func split(_ relative: String) -> (folder: String, name: String) {
        guard let slash = relative.lastIndex(of: "/") else { return (".", relative) }
        return (String(relative[..<slash]), String(relative[relative.index(after: slash)...]))
    }

    /// Names the mount never shows and never lets anyone create: the zone metadata, the
    /// format's temporaries and the write journals (docs/mount.md §1.2).
    static func isHidden(name: String, atTop: Bool) -> Bool {
        (atTop && name == ".zone") || (name.hasPrefix(".") && name.contains(".triad-tmp-")) || name.hasPrefix(".triad-journal-")
    }

    /// True when any component of `relative` is hidden.
    static func isHidden(relative: String) -> Bool {
        guard relative != "." else { return false }
        var top = true
        for part in relative.split(separator: "/") {
            if isHidden(name: String(part), atTop: top) { return true }
            top = false
        }
        return false
    }

    /// Opens `relative` beneath the root; returns the descriptor or -errno.
    func open(_ relative: String, flags: Int32, mode: mode_t = 0) -> Int32 {
        let fd = triad_open_beneath(rootFD, relative, flags | O_CLOEXEC, UInt32(mode))
        return fd >= 0 ? fd : -errno
    }

    /// Opens the folder that holds `relative` (O_DIRECTORY); returns the descriptor or -errno.
    func openFolder(of relative: String) -> (fd: Int32, name: String) {
        let (folder, name) = BackingTree.split(relative)
        return (open(folder, flags: O_RDONLY | O_DIRECTORY), name)
    }

    /// lstat of `relative` beneath the root (through an O_PATH descriptor); -errno on failure.
    func status(_ relative: String, into st: inout stat) -> Int32 {
        let fd = open(relative, flags: BackingTree.pathOnly | O_NOFOLLOW)
        guard fd >= 0 else { return fd }
        defer { close(fd) }
        return fstat(fd, &st) == 0 ? 0 : -errno
    }
}
