#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import DurableFile
import SystemPackage

/// A folder held open by descriptor: names below it are resolved from the descriptor, never
/// from a path string, so renaming or re-linking a folder above it cannot redirect them.
///
/// Why: whoever can write a zone's folder (IT, any member) can swap a subfolder or a file for
/// a symbolic link at any moment. Everything a zone command opens, creates or renames is
/// therefore reached from the zone root's descriptor (docs/zone.md §1b).
public final class DirectoryHandle: @unchecked Sendable {
    /// The folder as the durable-write module holds it: writers create and publish their
    /// temporaries through it (docs/format.md §7.1). It owns the descriptor.
    public let folder: DurableFolder
    /// The descriptor (O_DIRECTORY), closed when the handle goes away.
    public var fd: Int32 { folder.fd }
    /// The folder's path, for messages and for grouping one folder's renames (never opened).
    public let path: String

    init(fd: Int32, path: String) {
        folder = DurableFolder(adopting: fd, path: FilePath(path))
        self.path = path
    }

    /// The folder a caller already holds open (the quarantine it just made), so that what it
    /// checked and what is written below it are the same folder.
    public init(folder: DurableFolder) {
        self.folder = folder
        path = folder.path.string
    }

    /// Opens a folder the user named. Links in *its own* path are followed: the user chose
    /// this folder; what lies below it is then reached only through `Beneath`.
    public static func open(_ path: String) throws -> DirectoryHandle {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw ConfinementError.cannotOpen(path: path, errno: errno) }
        return DirectoryHandle(fd: fd, path: path)
    }

    /// `name` below this folder, for messages.
    public func display(_ name: String) -> String {
        if name.isEmpty { return path }
        if path.isEmpty { return name }
        return path == "/" ? "/" + name : path + "/" + name
    }
}

/// Why a path below a root was refused (docs/zone.md §1b). Each message names the path and
/// says what to do.
public enum ConfinementError: Error, Equatable, CustomStringConvertible {
    /// A component of the path (the last included) is a symbolic link.
    case symbolicLink(path: String, root: String)
    /// The path does not lie below the root (an absolute path, `..`, or another folder).
    case outside(path: String, root: String)
    /// The path names a FIFO, socket, device or folder where a regular file was expected.
    case notRegularFile(path: String, kind: String)
    /// An output exists and replacing it was not asked for.
    case exists(path: String)
    /// A system call failed.
    case cannotOpen(path: String, errno: Int32)

    /// A message naming the path, why it was refused and what to give instead.
    public var description: String {
        switch self {
        case .symbolicLink(let path, let root):
            return "\(path): a symbolic link in its path could lead out of \(root); refused (nothing outside is read or written) — give the real path inside the folder"
        case .outside(let path, let root):
            return "\(path): not inside \(root); refused — give paths inside the folder"
        case .notRegularFile(let path, let kind):
            return "\(path): is \(kind), not a regular file; skipped (only regular files are read or written)"
        case .exists(let path):
            return "\(path): already exists; not overwritten — remove it, choose another output folder, or give --force to replace it"
        case .cannotOpen(let path, let errno):
            return "\(path): cannot open: \(String(cString: strerror(errno))); check the path and permissions"
        }
    }
}

/// Opening below a root without following a symbolic link in any component (docs/zone.md §1b).
///
/// openat2(2) with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS` (Linux 5.6); where the kernel lacks
/// it, a walk one component at a time with `openat(O_NOFOLLOW)`, which refuses the same paths.
public enum Beneath {
    /// Set to force the component walk (tests of the fallback).
    nonisolated(unsafe) static var forceWalk = false

    /// What the kernel said about a path below a root, as the error to throw.
    static func failure(_ code: Int32, display: String, root: DirectoryHandle) -> ConfinementError {
        switch code {
        case ELOOP: return .symbolicLink(path: display, root: root.path)
        case EXDEV: return .outside(path: display, root: root.path)
        default: return .cannotOpen(path: display, errno: code)
        }
    }

    /// The components of `relative`: no leading `/`, no empty, `.` or `..` component.
    static func components(_ relative: String, display: String, root: DirectoryHandle) throws -> [String] {
        let parts = relative.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard !relative.hasPrefix("/"), !parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else {
            throw ConfinementError.outside(path: display, root: root.path)
        }
        return parts
    }

    /// Opens `relative` below `root` with `flags` (and `mode` with O_CREAT); returns the descriptor.
    static func open(_ relative: String, in root: DirectoryHandle, flags: Int32, mode: mode_t = 0,
                     display: String) throws -> Int32 {
        let parts = try components(relative, display: display, root: root)
        let all = flags | O_CLOEXEC | O_NOCTTY
        if !forceWalk {
            let fd = LinuxCalls.openBeneath(root.fd, relative, flags: all, mode: UInt32(mode))
            if fd >= 0 { return fd }
            if errno != ENOSYS { throw failure(errno, display: display, root: root) }
        }
        return try walk(parts, in: root, flags: all, mode: mode, display: display)
    }

    /// The fallback: each folder with `openat(O_DIRECTORY | O_NOFOLLOW)`, then the last
    /// component with `O_NOFOLLOW`. A link anywhere is reported as a link.
    static func walk(_ parts: [String], in root: DirectoryHandle, flags: Int32, mode: mode_t,
                     display: String) throws -> Int32 {
        var current = root.fd
        defer { if current != root.fd { close(current) } }
        for (i, part) in parts.enumerated() {
            let last = i == parts.count - 1
            let fd = last ? openat(current, part, flags | O_NOFOLLOW, mode)
                          : openat(current, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else {
                let code = errno
                var st = stat()
                if fstatat(current, part, &st, AT_SYMLINK_NOFOLLOW) == 0, st.st_mode & S_IFMT == S_IFLNK {
                    throw ConfinementError.symbolicLink(path: display, root: root.path)
                }
                throw failure(code, display: display, root: root)
            }
            if last { return fd }
            if current != root.fd { close(current) }
            current = fd
        }
        throw ConfinementError.outside(path: display, root: root.path)
    }

    /// The folder `relative` below `root` ("" is `root` itself), opened without following links.
    public static func directory(_ relative: String, in root: DirectoryHandle) throws -> DirectoryHandle {
        let display = root.display(relative)
        if relative.isEmpty {
            let fd = dup(root.fd)
            guard fd >= 0 else { throw ConfinementError.cannotOpen(path: display, errno: errno) }
            return DirectoryHandle(fd: fd, path: root.path)
        }
        let fd = try open(relative, in: root, flags: O_RDONLY | O_DIRECTORY, display: display)
        return DirectoryHandle(fd: fd, path: display)
    }

    /// `mkdir -p` below `root`: each missing folder is made with `mode`, and each is entered
    /// without following a link, so a link planted in an output tree is refused, never written
    /// through.
    public static func makeDirectories(_ relative: String, in root: DirectoryHandle, mode: mode_t) throws -> DirectoryHandle {
        var current = try directory("", in: root)
        guard !relative.isEmpty else { return current }
        for part in try components(relative, display: root.display(relative), root: root) {
            let display = current.display(part)
            if mkdirat(current.fd, part, mode) != 0 && errno != EEXIST {
                throw ConfinementError.cannotOpen(path: display, errno: errno)
            }
            let fd = try open(part, in: current, flags: O_RDONLY | O_DIRECTORY, display: display)
            current = DirectoryHandle(fd: fd, path: display)
        }
        return current
    }

    /// Opens the regular file `relative` below `root`: without following a link in any
    /// component, non-blocking (a FIFO or device swapped in never hangs the open), checked to be
    /// a regular file on the descriptor itself, then switched back to blocking reads.
    public static func regularFile(_ relative: String, in root: DirectoryHandle, writable: Bool = false) throws -> OpenedFile {
        let (parent, name) = split(relative)
        let directory = try directory(parent, in: root)
        return try regularFile(named: name, in: directory, writable: writable)
    }

    /// The same for `name` directly in `directory`.
    public static func regularFile(named name: String, in directory: DirectoryHandle, writable: Bool = false) throws -> OpenedFile {
        let display = directory.display(name)
        let fd = try open(name, in: directory, flags: (writable ? O_RDWR : O_RDONLY) | O_NONBLOCK, display: display)
        return try OpenedFile.checking(fd, location: FileLocation(directory: directory, name: name))
    }

    /// "a FIFO", "a device" …, for messages.
    public static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFIFO: return "a FIFO"
        case S_IFSOCK: return "a socket"
        case S_IFCHR, S_IFBLK: return "a device"
        case S_IFDIR: return "a folder"
        case S_IFLNK: return "a symbolic link"
        default: return "not a regular file"
        }
    }

    /// ("a/b", "c") for "a/b/c"; ("", "c") for "c".
    static func split(_ relative: String) -> (parent: String, name: String) {
        guard let slash = relative.lastIndex(of: "/") else { return ("", relative) }
        return (String(relative[..<slash]), String(relative[relative.index(after: slash)...]))
    }
}

/// Where a file is: its folder (held open) and its name there. Writers create their temporary
/// in that folder and rename it there, by descriptor (docs/format.md §7.1).
public struct FileLocation: Sendable {
    /// The folder, held open: every later step goes through this descriptor.
    public let directory: DirectoryHandle
    /// The file's name in that folder (no slash).
    public let name: String

    /// `name` in the already opened `directory`.
    public init(directory: DirectoryHandle, name: String) {
        self.directory = directory
        self.name = name
    }

    /// The path, for messages.
    public var path: String { directory.display(name) }

    /// The permission bits of the file now at this name (a link followed), or nil when there
    /// is none: the mode a replacement keeps.
    var existingMode: mode_t? {
        var st = stat()
        return fstatat(directory.fd, name, &st, 0) == 0 ? st.st_mode & 0o7777 : nil
    }

    /// The location of `path`, its folder opened by path (links in it followed): for callers
    /// outside a zone tree (a path the user named, state files, tests).
    public static func at(_ path: String) throws -> FileLocation {
        let file = FilePath(path)
        let directory = file.removingLastComponent()
        let fd = open(directory.isEmpty ? "." : directory.string, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw FormatError.io(path: path, operation: "open", errno: errno) }
        return FileLocation(directory: DirectoryHandle(fd: fd, path: directory.string), name: file.lastComponent?.string ?? path)
    }
}

/// A regular file opened by `Beneath`, closed when the value goes away.
public final class OpenedFile: @unchecked Sendable {
    /// The descriptor (closed on deinit).
    public let fd: Int32
    /// `fstat` of the descriptor when it was opened.
    public let status: stat
    /// Its folder (held open) and name, for the temporary that replaces it.
    public let location: FileLocation

    init(fd: Int32, status: stat, location: FileLocation) {
        self.fd = fd
        self.status = status
        self.location = location
    }

    /// Opens the regular file at `path`, a path the user named (links in it followed), for
    /// reading: the input of `EncryptedFile`'s operations outside a zone tree. Non-blocking
    /// until checked, so a FIFO or device never hangs the open.
    /// - Throws: `ConfinementError.cannotOpen` or `.notRegularFile` naming the path.
    public static func at(_ path: String, writable: Bool = false) throws -> OpenedFile {
        let location = try FileLocation.at(path)
        let fd = Glibc.open(path, (writable ? O_RDWR : O_RDONLY) | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else { throw ConfinementError.cannotOpen(path: path, errno: errno) }
        return try checking(fd, location: location)
    }

    /// `fd` as an opened file once `fstat` shows a regular file (then switched back to
    /// blocking reads); closed and refused otherwise.
    static func checking(_ fd: Int32, location: FileLocation) throws -> OpenedFile {
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let code = errno
            close(fd)
            throw ConfinementError.cannotOpen(path: location.path, errno: code)
        }
        guard st.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw ConfinementError.notRegularFile(path: location.path, kind: Beneath.kind(st.st_mode))
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        return OpenedFile(fd: fd, status: st, location: location)
    }

    deinit { close(fd) }

    /// The path, for messages.
    public var path: String { location.path }
    /// The permission bits.
    public var mode: mode_t { status.st_mode & 0o7777 }

    /// The extended attribute `name` (at most 256 bytes), or nil when absent.
    public func attribute(_ name: String) -> [UInt8]? {
        LinuxCalls.attribute(fd, name)
    }
}
