#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemPackage

/// A folder held open by descriptor, where durable writes create and publish their files.
///
/// Why a descriptor and not a path: every step of a write (create the temporary, rename it,
/// fsync the folder) goes through `fd`, so a folder renamed or swapped for a symbolic link
/// after it was opened cannot redirect the write (docs/zone.md §1b).
public final class DurableFolder: @unchecked Sendable {
    /// The descriptor (O_DIRECTORY), closed when the value goes away.
    public let fd: Int32
    /// The folder's path, for messages and for grouping one folder's renames (never reopened).
    public let path: FilePath

    /// Takes ownership of `fd`, an open folder whose path is `path`.
    public init(adopting fd: Int32, path: FilePath) {
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    /// Opens the folder at `path` (links in its own path are followed: the caller named it).
    /// An empty path is the current folder.
    public static func open(_ path: FilePath) throws -> DurableFolder {
        let name = path.isEmpty ? "." : path.string
        let fd = Glibc.open(name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw DurableError.failed(path: path, step: .openFolder, errno: errno) }
        return DurableFolder(adopting: fd, path: path)
    }

    /// Opens the folder at `path`, first creating each missing folder on the way with `mode`
    /// (mkdir -p). Each folder is created and entered through its parent's descriptor, so the
    /// folder returned is the one made, whatever happens to the names meanwhile; links in the
    /// path are followed, as for `open` (the caller named it).
    public static func make(_ path: FilePath, mode: mode_t) throws -> DurableFolder {
        var shown = path.isAbsolute ? FilePath("/") : FilePath("")
        var current = try open(shown)
        for component in path.components {
            shown.append(component)
            let name = component.string
            if mkdirat(current.fd, name, mode) != 0 && errno != EEXIST {
                throw DurableError.failed(path: shown, step: .makeFolder, errno: errno)
            }
            let fd = openat(current.fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard fd >= 0 else { throw DurableError.failed(path: shown, step: .openFolder, errno: errno) }
            current = DurableFolder(adopting: fd, path: shown)
        }
        return current
    }

    /// The folder holding `file` and the file's name in it: the pair every write needs.
    /// - Throws: `DurableError.failed(step: .openFolder)` when the folder cannot be opened.
    public static func containing(_ file: FilePath) throws -> (folder: DurableFolder, name: String) {
        guard let name = file.lastComponent?.string, name != ".", name != ".." else {
            throw DurableError.failed(path: file, step: .create, errno: EISDIR)
        }
        return (try open(file.removingLastComponent()), name)
    }

    /// `name` below this folder, for messages.
    public func path(of name: String) -> FilePath {
        path.appending(name)
    }

    /// fsyncs the folder, so renames in it survive a crash (docs/format.md §7.1).
    public func sync() throws {
        guard fsync(fd) == 0 else { throw DurableError.failed(path: path, step: .syncFolder, errno: errno) }
    }
}
