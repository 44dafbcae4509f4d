internal import CLinux

/// renameat2(2), which the C library does not wrap, through the CLinux shim: kept in this one
/// file so no other file of the target sees the shim's C declarations.
enum LinuxRename {
    /// renameat2 with RENAME_NOREPLACE within one folder: EEXIST rather than replace; EINVAL or
    /// ENOSYS where the filesystem or kernel does not support it.
    static func noReplace(_ folder: Int32, _ from: String, _ to: String) -> Int32 {
        triad_linux_rename_noreplace(folder, from, folder, to)
    }
}
