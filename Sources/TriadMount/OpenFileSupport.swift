#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import TriadFormat

/// How an open file finds its name again (docs/mount.md §4): the inode the name points at
/// now, and a fresh open of it (suite 2 first when writing).
struct Follower {
    let current: (String) -> OpenFile.Identity?
    let reopen: (String, Bool) -> Result<(Int32, OpenFile.Content), Int32Error>
}

/// An errno as an `Error` (for `Result`).
struct Int32Error: Error { let code: Int32 }

/// An open folder descriptor for a commit's journal (closed by `close()`).
struct JournalFolder {
    let fd: Int32
    func close() { Glibc.close(fd) }
}

extension SegmentOverlay {
    /// True when the written bytes cover `0..<length`.
    func covers(upTo length: Int) -> Bool { covers(length) }
}
