internal import CLinux

/// The Linux system calls the C library does not wrap, through the CLinux shim: kept in this
/// one file so that no other file of the target sees the shim's C declarations (its `stat`
/// and `mode_t` would shadow Glibc's in public signatures).
enum LinuxCalls {
    /// openat2(2) with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS (docs/zone.md §1b); -1 and errno
    /// (ENOSYS before Linux 5.6).
    static func openBeneath(_ directory: Int32, _ path: String, flags: Int32, mode: UInt32) -> Int32 {
        triad_linux_open_beneath(directory, path, flags, mode)
    }

    /// fsetxattr(2); false when the filesystem keeps no user attributes.
    static func setAttribute(_ fd: Int32, _ name: String, _ value: [UInt8]) -> Bool {
        value.withUnsafeBytes { fsetxattr(fd, name, $0.baseAddress, $0.count, 0) == 0 }
    }

    /// True when `fgetxattr(2)` finds a value under `name` (its size asked, nothing copied).
    static func hasAttribute(_ fd: Int32, _ name: String) -> Bool {
        fgetxattr(fd, name, nil, 0) >= 0
    }

    /// fremovexattr(2); ENODATA (no such attribute) is not an error here.
    static func removeAttribute(_ fd: Int32, _ name: String) {
        _ = fremovexattr(fd, name)
    }

    /// fgetxattr(2) of at most 256 bytes, or nil.
    static func attribute(_ fd: Int32, _ name: String) -> [UInt8]? {
        var value = [UInt8](repeating: 0, count: 256)
        let n = value.withUnsafeMutableBytes { fgetxattr(fd, name, $0.baseAddress, $0.count) }
        return n >= 0 ? Array(value[0..<n]) : nil
    }
}
