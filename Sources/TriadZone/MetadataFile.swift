#if canImport(Glibc)
import Glibc
#endif

/// Reads zone metadata, the trust file and local state with a size cap chosen for each kind
/// (`ZoneLimits`), without blocking and only from regular files (docs/zone.md §2b).
///
/// Why: all of these are written by someone else — the folder by IT or a member with write
/// access, the trust file by IT. A FIFO or device must not hang a command (opened
/// non-blocking, refused unless `S_ISREG` on the opened descriptor), a sparse 8 GiB file must
/// not be read into memory (the size is checked before reading, and reading stops one byte
/// past the cap in case the file grows meanwhile).
enum MetadataFile {
    /// The bytes of the regular file at `path`, at most `limit` of them. `followLinks` false
    /// refuses a symbolic link as the last component (zone metadata is never a link; the
    /// trust file may be one, e.g. into a configuration-management tree).
    static func read(_ path: String, limit: Int, followLinks: Bool = false) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | (followLinks ? 0 : O_NOFOLLOW))
        guard fd >= 0 else {
            if errno == ELOOP { throw ZoneError.notRegularFile(path: path, kind: "a symbolic link") }
            throw ZoneError.io(path: path, problem: "cannot open: \(FileIO.errorText())")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw ZoneError.io(path: path, problem: "cannot stat: \(FileIO.errorText())") }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            let kind: String
            switch st.st_mode & S_IFMT {
            case S_IFDIR: kind = "a folder"
            case S_IFIFO: kind = "a FIFO"
            case S_IFCHR, S_IFBLK: kind = "a device"
            case S_IFSOCK: kind = "a socket"
            default: kind = "not a regular file"
            }
            throw ZoneError.notRegularFile(path: path, kind: kind)
        }
        guard st.st_size <= limit else { throw ZoneError.tooLarge(path: path, size: Int(st.st_size), limit: limit) }
        var out = [UInt8](repeating: 0, count: Int(st.st_size) + 1)
        var count = 0
        while true {
            if count == out.count {
                guard out.count <= limit else { throw ZoneError.tooLarge(path: path, size: count, limit: limit) }
                out += [UInt8](repeating: 0, count: min(limit + 1, out.count * 2) - out.count)
            }
            let n = out.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + count, $0.count - count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ZoneError.io(path: path, problem: "cannot read: \(FileIO.errorText())")
            }
            if n == 0 { break }
            count += n
            guard count <= limit else { throw ZoneError.tooLarge(path: path, size: count, limit: limit) }
        }
        out.removeSubrange(count...)
        return out
    }

    /// Whether `path` exists, without following a symbolic link in its last component.
    static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    /// The names in folder `path` (without `.` and `..`), refusing a folder with more than
    /// `limit` entries: listing a flooded `.zone/` must not take unbounded memory.
    static func listNames(_ path: String, limit: Int) throws -> [String] {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else {
            if errno == ELOOP || errno == ENOTDIR { throw ZoneError.notRegularFile(path: path, kind: "not a real folder (a symbolic link or a file)") }
            throw ZoneError.io(path: path, problem: "cannot list: \(FileIO.errorText())")
        }
        guard let d = fdopendir(fd) else { close(fd); throw ZoneError.io(path: path, problem: "cannot list: \(FileIO.errorText())") }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name == "." || name == ".." { continue }
            guard names.count < limit else { throw ZoneError.tooManyEntries(path: path, limit: limit) }
            names.append(name)
        }
        return names
    }
}
