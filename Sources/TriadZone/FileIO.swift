#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TriadCrypto

/// The few POSIX file operations zone metadata needs, with errors that name the path.
///
/// Why POSIX and not FileManager: publishing a new policy version must be *exclusive*
/// (`link(2)` fails with EEXIST if another officer got there first), and every write must be
/// fsynced before it becomes visible, so a crash never leaves a torn `.zone/` file.
enum FileIO {
    static func errorText() -> String { String(cString: strerror(errno)) }

    static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    static func makeDirectory(_ path: String) throws {
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else {
            throw ZoneError.io(path: path, problem: "cannot create folder: \(errorText())")
        }
    }

    /// Writes `bytes` to a fresh temporary file beside `path` and fsyncs it; returns its path.
    static func writeTemporary(beside path: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws -> String {
        let dir = path.directory
        let tmp = dir + "/.triad-tmp-" + SecureRandom.bytes(count: 8).hex
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { throw ZoneError.io(path: tmp, problem: "cannot create: \(errorText())") }
        var ok = true
        bytes.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let n = write(fd, raw.baseAddress! + off, raw.count - off)
                if n < 0 { if errno == EINTR { continue }; ok = false; return }
                off += n
            }
        }
        if ok && fsync(fd) != 0 { ok = false }
        close(fd)
        guard ok else { unlink(tmp); throw ZoneError.io(path: tmp, problem: "cannot write: \(errorText())") }
        return tmp
    }

    /// Atomically replaces (or creates) `path`.
    static func writeReplacing(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws {
        let tmp = try writeTemporary(beside: path, bytes, mode: mode)
        guard rename(tmp, path) == 0 else {
            let e = errorText(); unlink(tmp); throw ZoneError.io(path: path, problem: "cannot rename into place: \(e)")
        }
        syncDirectory(of: path)
    }

    /// Atomically creates `path`; returns false (and writes nothing) if it already exists.
    static func writeExclusive(_ path: String, _ bytes: [UInt8]) throws -> Bool {
        let tmp = try writeTemporary(beside: path, bytes)
        defer { unlink(tmp) }
        if link(tmp, path) != 0 {
            if errno == EEXIST { return false }
            throw ZoneError.io(path: path, problem: "cannot create: \(errorText())")
        }
        syncDirectory(of: path)
        return true
    }

    static func syncDirectory(of path: String) {
        let fd = open(path.directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { fsync(fd); close(fd) }
    }

    static func listDirectory(_ path: String) throws -> [String] {
        guard let d = opendir(path) else { throw ZoneError.io(path: path, problem: "cannot list: \(errorText())") }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }
}

/// Path helpers without Foundation.
extension String {
    var directory: String {
        guard let i = lastIndex(of: "/") else { return "." }
        return i == startIndex ? "/" : String(self[..<i])
    }
    var lastComponent: String {
        guard let i = lastIndex(of: "/") else { return self }
        return String(self[index(after: i)...])
    }
}
