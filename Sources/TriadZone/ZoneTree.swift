#if canImport(Glibc)
import Glibc
#endif
import SystemPackage
import TriadFormat

/// One regular file a tree command works on, as the listing found it.
public struct TreeFile: Equatable, Sendable {
    /// Absolute path.
    public var path: String
    /// Size when listed: sizes batches (docs/format.md §7.4) before any file is opened.
    public var size: Int

    /// A file at `path` of `size` bytes.
    public init(path: String, size: Int) {
        self.path = path
        self.size = size
    }
}

/// Finds the files a tree command works on (docs/zone.md §1, §7).
///
/// Skips `.zone/` (metadata), symbolic links (they could point out of the zone) and the
/// format's temporary files (`.NAME.triad-tmp-HEX`, docs/format.md §7.1), which are either
/// being written by another process or left by a crash. A folder below a given path that
/// holds its own `.zone/` is another zone (docs/zone.md §1a, `Zone.isZoneRoot`): it is not entered, and the
/// listing names it. A folder that cannot be read is named too; the walk goes on with the
/// rest, so one unreadable folder cannot hide every file after it.
public enum ZoneTree {
    /// What a walk found.
    public struct Listing {
        /// The regular files to work on, in walk order.
        public var files: [TreeFile] = []
        /// Temporary files of the format found on the way (removed when stale).
        public var temporaries: [String] = []
        /// Folders below a given path holding their own `.zone/`: not entered.
        public var nestedZones: [String] = []
        /// Folders the walk could not read, with the reason.
        public var unreadable: [(path: String, reason: String)] = []
        /// Symbolic links, FIFOs, sockets and devices found in the tree: never followed or
        /// opened, named in the command's notes (docs/zone.md §1b).
        public var skipped: [(path: String, kind: String)] = []
        /// Write journals of files being changed through `zone mount` (docs/format.md §14):
        /// never files of their own, never removed here (the next opener of their file does).
        public var journals: [String] = []

        /// An empty listing.
        public init() {}

        /// The listed paths, in order.
        public var paths: [String] { files.map(\.path) }
    }

    /// True for a write journal's name (docs/format.md §14).
    public static func isJournal(_ name: String) -> Bool { name.hasPrefix(WriteJournal.namePrefix) }

    /// The name of the zone metadata folder (docs/zone.md §1).
    public static let metadataName = ".zone"

    /// True for a temporary file's name (`.NAME.triad-tmp-HEX`, docs/format.md §7.1).
    public static func isTemporary(_ name: String) -> Bool {
        name.hasPrefix(".") && name.contains(".triad-tmp-")
    }

    /// Regular files under each of `paths` (files or folders), in a stable order.
    ///
    /// - Throws: `ZoneError.io` when a given path is inside `.zone/`, does not exist, or is
    ///   neither a regular file nor a folder (a usage mistake, refused before any work).
    public static func list(_ paths: [String]) throws -> Listing {
        var listing = Listing()
        for p in paths {
            let path = Zone.absolute(p)
            guard !path.split(separator: "/").contains(Substring(metadataName)) else {
                throw ZoneError.io(path: path, problem: "is zone metadata (.zone/); zone commands work on the zone's files, not on .zone/")
            }
            var st = stat()
            guard lstat(path, &st) == 0 else { throw ZoneError.io(path: path, problem: "cannot be read: \(FileIO.errorText())") }
            switch st.st_mode & S_IFMT {
            case S_IFDIR: walk(path, into: &listing)
            case S_IFREG: add(path, st, into: &listing)
            default: throw ZoneError.io(path: path, problem: "is not a regular file or folder; give files or folders")
            }
        }
        return listing
    }

    /// Lists `directory` (already known to be a folder) and everything below it.
    private static func walk(_ directory: String, into listing: inout Listing) {
        let names: [String]
        do { names = try FileIO.listDirectory(directory) } catch {
            listing.unreadable.append((directory, "cannot list the folder: \(FileIO.errorText())"))
            return
        }
        for name in names where name != metadataName {
            let path = directory == "/" ? "/" + name : directory + "/" + name
            var st = stat()
            // Gone since the folder was listed (a colleague's rename): nothing to do.
            guard lstat(path, &st) == 0 else { continue }
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                do {
                    if try Zone.isZoneRoot(path) { listing.nestedZones.append(path); continue }
                } catch {
                    // A `.zone` that is a link or a file: not entered, named.
                    listing.unreadable.append((path, "\(error)"))
                    continue
                }
                walk(path, into: &listing)
            case S_IFREG:
                add(path, st, into: &listing)
            default:
                // Symbolic links, FIFOs, sockets, devices: never followed or opened.
                listing.skipped.append((path, Beneath.kind(st.st_mode)))
            }
        }
    }

    private static func add(_ path: String, _ st: stat, into listing: inout Listing) {
        let name = FilePath(path).lastComponent?.string ?? path
        if isTemporary(name) {
            listing.temporaries.append(path)
        } else if isJournal(name) {
            listing.journals.append(path)
        } else {
            listing.files.append(TreeFile(path: path, size: Int(st.st_size)))
        }
    }

    /// Removes temporaries older than `age` seconds: a writer that old is dead (a run killed
    /// mid-file). Younger ones may belong to a colleague's running command and are left alone.
    @discardableResult
    public static func removeStale(_ temporaries: [String], olderThan age: Int) -> Int {
        let now = time(nil)
        var removed = 0
        for t in temporaries {
            var st = stat()
            if lstat(t, &st) == 0, now - st.st_mtim.tv_sec > age, unlink(t) == 0 { removed += 1 }
        }
        return removed
    }

    /// `file`'s path relative to `root` (both absolute).
    public static func relative(_ file: String, to root: String) -> String {
        var relative = FilePath(file)
        guard relative.removePrefix(FilePath(root)), !relative.isEmpty else { return FilePath(file).lastComponent?.string ?? file }
        return relative.string
    }
}
