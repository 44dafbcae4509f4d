#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import DurableFile
import SystemPackage
import TriadCrypto

/// The few POSIX file operations zone metadata needs, with errors that name the path.
///
/// Why POSIX and not FileManager: publishing a new policy version must be *exclusive* (the
/// publication fails with EEXIST if another officer got there first), and every write must be
/// durable before it becomes visible, so a crash never leaves a torn `.zone/` file; both come
/// from the durable-write module.
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

    /// Atomically replaces (or creates) `path` (docs/format.md §7.1, through the durable-write
    /// module): the temporary is 0600 until it takes the name with `mode`.
    static func writeReplacing(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws {
        do { try Durable.write(bytes, to: FilePath(path), mode: mode) } catch let error as DurableError {
            throw zoneError(error)
        }
    }

    /// The same for `name` in `folder` (held open: `.zone/` entered without following a link).
    static func writeReplacing(_ name: String, in folder: DurableFolder, _ bytes: [UInt8], mode: mode_t = 0o644) throws {
        do { try Durable.write(bytes, as: name, in: folder, mode: mode) } catch let error as DurableError {
            throw zoneError(error)
        }
    }

    /// Atomically creates `name` in `folder`; returns false (and writes nothing) if it already
    /// exists, however it got there: the name is taken by renameat2(RENAME_NOREPLACE), or by
    /// link(2) on a filesystem without it (NFS), both of which fail rather than replace.
    static func writeExclusive(_ name: String, in folder: DurableFolder, _ bytes: [UInt8]) throws -> Bool {
        do {
            try Durable.write(bytes, as: name, in: folder, mode: 0o644, publication: .noReplace)
            return true
        } catch DurableError.exists {
            return false
        } catch let error as DurableError {
            throw zoneError(error)
        }
    }

    /// A durable-write error as the zone layer's `ZoneError.io`, naming the file and the step.
    static func zoneError(_ error: DurableError) -> ZoneError {
        .io(path: error.path.string, problem: error.reason)
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
