#if canImport(Glibc)
import Glibc
#endif

/// Finds the files a zone command works on.
///
/// Skips `.zone/` (metadata), symbolic links (they could point out of the zone) and the
/// format's temporary files (`.NAME.triad-tmp-HEX`, research: DESIGN §4 "temporary file in
/// the same folder"), which are either being written by another process or left by a crash.
public enum ZoneTree {
    public struct Listing {
        public var files: [String] = []
        /// Each file's size when it was listed (same order as `files`), for sizing batches.
        public var sizes: [Int] = []
        public var temporaries: [String] = []
    }

    public static func isTemporary(_ name: String) -> Bool {
        name.hasPrefix(".") && name.contains(".triad-tmp-")
    }

    /// Regular files under each of `paths` (files or folders), in a stable order.
    public static func list(_ paths: [String]) throws -> Listing {
        var listing = Listing()
        for p in paths {
            let path = Zone.absolute(p)
            guard !path.split(separator: "/").contains(".zone") else {
                throw ZoneError.io(path, "is zone metadata (.zone/); zone commands work on the zone's files, not on .zone/")
            }
            try walk(path, into: &listing, top: true)
        }
        return listing
    }

    private static func walk(_ path: String, into listing: inout Listing, top: Bool) throws {
        var st = stat()
        guard lstat(path, &st) == 0 else { throw ZoneError.io(path, "cannot be read: \(FileIO.errorText())") }
        switch st.st_mode & S_IFMT {
        case S_IFDIR:
            if path.lastComponent == ".zone" { return }
            for name in try FileIO.listDirectory(path) { try walk(path + "/" + name, into: &listing, top: false) }
        case S_IFREG:
            if isTemporary(path.lastComponent) {
                listing.temporaries.append(path)
            } else {
                listing.files.append(path)
                listing.sizes.append(Int(st.st_size))
            }
        default:
            if top { throw ZoneError.io(path, "is not a regular file or folder; give files or folders") }
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
        let prefix = root.hasSuffix("/") ? root : root + "/"
        return file.hasPrefix(prefix) ? String(file.dropFirst(prefix.count)) : file.lastComponent
    }

    /// `mkdir -p` for an output folder.
    public static func makeDirectories(_ path: String) throws {
        var prefix = ""
        for part in path.split(separator: "/") {
            prefix += "/" + part
            guard FileIO.isDirectory(prefix) || mkdir(prefix, 0o755) == 0 || errno == EEXIST else {
                throw ZoneError.io(prefix, "cannot create folder: \(FileIO.errorText())")
            }
        }
    }
}
