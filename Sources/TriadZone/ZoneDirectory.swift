#if canImport(Glibc)
import Glibc
#endif
import SystemPackage
import TriadFormat

/// A folder tree held open at its root: every file a tree command reads or writes is opened
/// beneath it (docs/zone.md §1b).
///
/// Why: IT and every member can write the zone's folders, so any component of a path can
/// become a symbolic link (or a FIFO, or a device) between the listing and the open. A path
/// string would follow it out of the zone — encrypting a member's private file for everyone,
/// or writing plaintext outside — or hang on a FIFO. Through the root's descriptor, with no
/// link followed in any component, non-blocking and checked to be a regular file, nothing
/// outside the root is ever read or written and nothing blocks.
public struct ZoneDirectory: Sendable {
    /// The root's absolute path (as typed, `.`/`..` removed).
    public let root: String
    let handle: DirectoryHandle

    /// Opens `root` (links in the root's own path are followed: the user named the folder).
    public init(root: String) throws {
        self.root = Zone.absolute(root)
        do { handle = try DirectoryHandle.open(self.root) } catch { throw ZoneDirectory.zoneError(error, self.root) }
    }

    /// `path` relative to the root; refused when it is not below it.
    public func relative(_ path: String) throws -> String {
        let absolute = Zone.absolute(path)
        let prefix = root == "/" ? "/" : root + "/"
        guard absolute.hasPrefix(prefix), absolute.count > prefix.count else {
            throw ZoneError.io(path: absolute, problem: "is not inside \(root); give paths inside the folder")
        }
        return String(absolute.dropFirst(prefix.count))
    }

    /// Opens the regular file at `path` beneath the root (docs/zone.md §1b).
    ///
    /// - Throws: `ZoneError.io` naming the file when a component is a symbolic link, the file is
    ///   a FIFO, socket, device or folder, or it cannot be opened.
    public func open(_ path: String) throws -> OpenedFile {
        do { return try Beneath.regularFile(try relative(path), in: handle) } catch {
            throw ZoneDirectory.zoneError(error, Zone.absolute(path))
        }
    }

    /// Confinement errors as the zone layer's `ZoneError.io` (a file that cannot be processed).
    static func zoneError(_ error: Error, _ path: String) -> Error {
        guard let confinement = error as? ConfinementError else { return error }
        let text = confinement.description
        let prefix = path + ": "
        return ZoneError.io(path: path, problem: text.hasPrefix(prefix) ? String(text.dropFirst(prefix.count)) : text)
    }

    /// The roots of `paths`: the zone each lies in, or the folder itself when it is not in a
    /// zone (recovery jobs may be given such a folder). Each file is later opened beneath the
    /// longest root that contains it.
    public static func roots(of paths: [String]) throws -> [ZoneDirectory] {
        try paths.map { p in
            let absolute = FilePath(Zone.absolute(p))
            let root = (try? Zone.findRoot(containing: p))
                ?? (FileIO.isDirectory(absolute.string) ? absolute : absolute.removingLastComponent()).string
            return try ZoneDirectory(root: root)
        }
    }

    /// Opens `path` beneath the longest of `roots` containing it.
    public static func open(_ path: String, in roots: [ZoneDirectory]) throws -> OpenedFile {
        let absolute = Zone.absolute(path)
        guard let root = roots.filter({ absolute.hasPrefix($0.root == "/" ? "/" : $0.root + "/") })
            .max(by: { $0.root.count < $1.root.count }) else {
            throw ZoneError.io(path: absolute, problem: "is not inside the folders given; refused")
        }
        return try root.open(absolute)
    }
}

extension ZoneDirectory {
    /// Where the copy of the file at `relative` goes below `base` (an output folder): its
    /// folders are made (0755) and entered without following a link; an existing name is
    /// refused unless `force` (then the commit replaces the name itself, link or file, never
    /// writing through it), and a folder there is always refused (docs/zone.md §5b).
    public static func output(_ relative: String, in base: DirectoryHandle, force: Bool, folderMode: mode_t = 0o755) throws -> FileLocation {
        let display = base.display(relative)
        let slash = relative.lastIndex(of: "/")
        let parent = slash.map { String(relative[..<$0]) } ?? ""
        let name = slash.map { String(relative[relative.index(after: $0)...]) } ?? relative
        do {
            let folder = try Beneath.makeDirectories(parent, in: base, mode: folderMode)
            var st = stat()
            if fstatat(folder.fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 {
                if st.st_mode & S_IFMT == S_IFDIR { throw ConfinementError.notRegularFile(path: display, kind: "a folder") }
                if !force { throw ConfinementError.exists(path: display) }
            }
            return FileLocation(directory: folder, name: name)
        } catch {
            throw zoneError(error, display)
        }
    }
}

extension FileProbe {
    /// `read` of a file opened beneath a root (docs/zone.md §1b).
    public static func read(_ file: OpenedFile) throws -> FileProbe {
        guard EncryptedFile.isEncrypted(fd: file.fd) else { return .plaintext }
        return .encrypted(try EncryptedFile.readHeader(of: file))
    }

    /// Opens `path` beneath `root` and reads it.
    public static func read(_ path: String, beneath root: ZoneDirectory) throws -> FileProbe {
        try read(root.open(path))
    }
}
