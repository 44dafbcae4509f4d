#if canImport(Glibc)
import Glibc
#endif
import DurableFile
import SystemPackage
import TriadCrypto
import TriadFormat
import TriadZone

/// The quarantine folder of a recovery decrypt (docs/recovery.md §4): plaintext copies go
/// only into a folder the ceremony created itself, mode 0700, so nobody else can read them,
/// plant a file that would count as "already done", or swap a subfolder for a link.
///
/// Why a marker: a step may be run again within the same ceremony to finish an interrupted
/// decrypt. The folder is adopted then only if it is still ours (owner, mode 0700, not a link)
/// and holds the marker naming this ceremony; any other existing folder is refused.
public struct Quarantine {
    /// The quarantine folder (absolute).
    public let path: String
    /// The folder, held open: copies and their folders are made through it (docs/zone.md §1b).
    let directory: DirectoryHandle

    /// The extended attribute naming the encrypted file a copy was made from (hex file id).
    static let sourceAttribute = "user.triad.quarantine-source"

    /// The marker file written when the ceremony creates the folder.
    public static let markerName = ".triad-quarantine"

    static func marker(ceremonyID: String) -> [UInt8] {
        Array("triad quarantine\nceremony \(ceremonyID)\n".utf8)
    }

    /// Creates `path` (its parent must exist) with mode 0700 and the marker, or adopts it when
    /// this ceremony made it before.
    ///
    /// - Throws: `RecoveryError.quarantineNotNew` for a folder (or anything else) that exists
    ///   and was not made by this ceremony; `RecoveryError.io` when it cannot be created.
    public static func prepare(_ path: String, ceremonyID: String) throws -> Quarantine {
        let absolute = Zone.absolute(path)
        if mkdir(absolute, 0o700) == 0 {
            let folder = DurableFolder(adopting: try openFolder(absolute), path: FilePath(absolute))
            // Exactly 0700 whatever the umask; through the descriptor, never a swapped name.
            guard fchmod(folder.fd, 0o700) == 0 else { throw RecoveryError.io(path: absolute, reason: "cannot set mode 0700: \(errorText())") }
            do {
                try Durable.write(marker(ceremonyID: ceremonyID), as: markerName, in: folder, mode: 0o600, publication: .noReplace)
            } catch let error as DurableError {
                throw RecoveryError.io(path: absolute, reason: "cannot write the quarantine marker: \(error.reason)")
            }
            return Quarantine(path: absolute, directory: DirectoryHandle(folder: folder))
        }
        guard errno == EEXIST else {
            throw RecoveryError.io(path: absolute, reason: "cannot create the quarantine folder: \(errorText())")
        }
        // The folder checked is the folder used: its descriptor, never its name again.
        return Quarantine(path: absolute, directory: DirectoryHandle(folder: try adopt(absolute, ceremonyID: ceremonyID)))
    }

    private static func adopt(_ path: String, ceremonyID: String) throws -> DurableFolder {
        func refuse(_ why: String) -> RecoveryError { .quarantineNotNew(path: path, reason: why) }
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw refuse(errno == ENOTDIR || errno == ELOOP ? "it is not a folder" : errorText()) }
        let folder = DurableFolder(adopting: fd, path: FilePath(path))
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw refuse(errorText()) }
        guard st.st_uid == geteuid() else { throw refuse("it belongs to user id \(st.st_uid), not to this ceremony's user") }
        guard st.st_mode & 0o7777 == 0o700 else { throw refuse("its mode is \(String(st.st_mode & 0o7777, radix: 8)), not 700") }
        let m = openat(fd, markerName, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard m >= 0 else { throw refuse("it has no marker of this ceremony") }
        defer { close(m) }
        var ms = stat()
        guard fstat(m, &ms) == 0, ms.st_mode & S_IFMT == S_IFREG, ms.st_uid == geteuid(), ms.st_size < 4096 else {
            throw refuse("its marker is not this ceremony's")
        }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { read(m, $0.baseAddress, $0.count) }
        guard n >= 0, Array(buffer[0..<n]) == marker(ceremonyID: ceremonyID) else {
            throw refuse("it was made by another ceremony")
        }
        return folder
    }

    private static func openFolder(_ path: String) throws -> Int32 {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw RecoveryError.io(path: path, reason: "cannot open the quarantine folder: \(errorText())") }
        return fd
    }

    /// Where the copy of a file at `relative` goes; creates its folders (mode 0700), entered
    /// through the quarantine's descriptor without following a link.
    func target(for relative: String) throws -> FileLocation {
        try ZoneDirectory.output(relative, in: directory, force: true, folderMode: 0o700)
    }

    /// Whether `target` holds a copy this ceremony made of the encrypted file `fileID`: a
    /// regular file of ours, mode 0600, labelled with that file id when it was written. Any
    /// other file there — planted, or left by a run on a filesystem without user attributes —
    /// is not "already done": it is replaced by a fresh copy.
    func holdsCopy(_ target: FileLocation, of fileID: [UInt8]) -> Bool {
        guard let copy = try? Beneath.regularFile(named: target.name, in: target.directory),
              copy.status.st_uid == geteuid(), copy.mode == 0o600, copy.status.st_nlink == 1 else { return false }
        return copy.attribute(Quarantine.sourceAttribute) == Array(Hex.encode(fileID).utf8)
    }

    /// Labels a copy being written with the file id it comes from (see `holdsCopy`).
    static func label(_ pending: PendingFile, fileID: [UInt8]) {
        pending.setAttribute(sourceAttribute, Array(Hex.encode(fileID).utf8))
    }
}

private func errorText() -> String { String(cString: strerror(errno)) }

