#if canImport(Glibc)
import Glibc
#endif
import DurableFile
import Foundation
import SystemPackage
import TriadCrypto

/// What `zone mounts` lists (docs/mount.md): the kernel's mount table (`/proc/self/mountinfo`,
/// file system type `fuse.triad`) joined with one small record per running daemon in the
/// user's runtime folder (`$XDG_RUNTIME_DIR/triad/mounts/`, else `/tmp/triad-<uid>/mounts/`).
public enum MountRegistry {
    /// One running daemon's record (`zone mounts --json` prints these fields).
    public struct Entry: Codable, Equatable {
        /// Where the view is mounted.
        public var mountPoint: String
        /// The zone folder behind it.
        public var zone: String
        /// The zone id (hex) of the zone's first policy.
        public var zoneID: String
        /// The daemon's process id; a record whose process is gone is dropped when listed.
        public var pid: Int32
        /// The identity as given (`piv:READER` or `file:PATH`), never a key or PIN.
        public var identity: String
        /// The member certificate's subject.
        public var subject: String
        /// The member certificate's SHA-256 fingerprint (hex).
        public var fingerprint: String
        /// Whether the mount is read-only.
        public var readOnly: Bool
        /// The `--audit` file, if any.
        public var audit: String?
        /// When the daemon started (seconds since 1970).
        public var started: Int

        /// A record with every field given.
        public init(mountPoint: String, zone: String, zoneID: String, pid: Int32, identity: String, subject: String,
                    fingerprint: String, readOnly: Bool, audit: String?, started: Int) {
            self.mountPoint = mountPoint; self.zone = zone; self.zoneID = zoneID; self.pid = pid; self.identity = identity
            self.subject = subject; self.fingerprint = fingerprint; self.readOnly = readOnly; self.audit = audit; self.started = started
        }
    }

    static var folder: String {
        let base = runtimeBase
        return base.root + "/" + base.private
    }

    static func file(for mountPoint: String) -> String { path(for: mountPoint, suffix: ".json") }

    /// A per-mount name in the folder: the record (`.json`) and the control socket (`.sock`).
    static func path(for mountPoint: String, suffix: String) -> String {
        folder + "/" + Hex.encode(SHA256.hash(mountPoint)).prefix(32) + suffix
    }

    /// Makes the folder (and its parents) private to the user (0700) and checks that it is:
    /// every component from the runtime folder down is a directory, not a symbolic link, owned
    /// by this user and open to nobody else. Why: in the `/tmp` fallback another user of the
    /// terminal server could create the folder first; if it were theirs, they could replace
    /// the control socket and read the PIN `zone unlock` sends (docs/mount.md §7).
    static func makeFolder() throws {
        let base = runtimeBase
        // The session's runtime folder is made if missing (as before), not judged: it is the
        // user's own setting.
        var path = ""
        for part in base.root.split(separator: "/") {
            path += "/" + part
            if mkdir(path, 0o700) != 0 && errno != EEXIST { throw MountRegistryError.cannotMake(path: path, errno: errno) }
        }
        path = base.root
        for part in base.private.split(separator: "/") {
            path += "/" + part
            if mkdir(path, 0o700) != 0 && errno != EEXIST {
                throw MountRegistryError.cannotMake(path: path, errno: errno)
            }
            var info = stat()
            guard lstat(path, &info) == 0 else { throw MountRegistryError.cannotMake(path: path, errno: errno) }
            guard info.st_mode & S_IFMT == S_IFDIR, info.st_uid == getuid(), info.st_mode & 0o077 == 0 else {
                throw MountRegistryError.notPrivate(path: path, owner: info.st_uid, mode: info.st_mode & 0o7777,
                                                    isDirectory: info.st_mode & S_IFMT == S_IFDIR)
            }
        }
    }

    /// The runtime folder the user's session provides (trusted as it is), and the components
    /// below it that Triad makes and checks.
    static var runtimeBase: (root: String, private: String) {
        if let runtime = ProcessInfo.processInfo.environment["XDG_RUNTIME_DIR"], !runtime.isEmpty {
            return (runtime, "triad/mounts")
        }
        return ("/tmp", "triad-\(getuid())/mounts")
    }

    /// Writes `entry` to the private runtime folder (0700), replacing a record for the same
    /// mount point durably (docs/format.md §7.1).
    public static func record(_ entry: Entry) throws {
        try makeFolder()
        let data = try JSONEncoder().encode(entry)
        try Durable.write(Array(data), to: FilePath(file(for: entry.mountPoint)), mode: 0o600)
    }

    /// Removes the record of the daemon at `mountPoint` (when it stops).
    public static func remove(mountPoint: String) {
        unlink(file(for: mountPoint))
    }

    /// Records of daemons still running.
    public static func entries() -> [Entry] {
        // Records in a folder that is not the user's alone are not believed.
        guard (try? makeFolder()) != nil, let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [] }
        return names.filter { $0.hasSuffix(".json") }.compactMap { name in
            guard let data = FileManager.default.contents(atPath: folder + "/" + name),
                  let entry = try? JSONDecoder().decode(Entry.self, from: data) else { return nil }
            guard kill(entry.pid, 0) == 0 || errno == EPERM else {
                unlink(folder + "/" + name)
                return nil
            }
            return entry
        }
    }
}

/// The kernel's view of the mounts: `fuse.triad` entries of `/proc/self/mountinfo`.
public enum MountTable {
    /// One `fuse.triad` line of the mount table.
    public struct Mounted: Equatable {
        /// Where it is mounted (mountinfo's escapes undone).
        public var mountPoint: String
        /// The mount source the daemon gave: the zone folder.
        public var source: String
        /// Mounted with the `ro` option.
        public var readOnly: Bool
    }

    /// The `fuse.triad` mounts the kernel lists for this process's mount namespace.
    public static func current() -> [Mounted] {
        guard let text = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            // id parent major:minor root mountpoint options [optional fields] - fstype source superoptions
            let parts = line.split(separator: " ").map(String.init)
            guard let dash = parts.firstIndex(of: "-"), dash + 2 < parts.count, parts[dash + 1] == "fuse.triad", parts.count > 5 else {
                return nil
            }
            return Mounted(mountPoint: unescape(parts[4]), source: unescape(parts[dash + 2]),
                           readOnly: parts[5].split(separator: ",").contains("ro"))
        }
    }

    /// mountinfo escapes space, tab, newline and backslash as \ooo.
    static func unescape(_ s: String) -> String {
        var out = [UInt8]()
        let bytes = Array(s.utf8)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "\\"), i + 3 < bytes.count,
               let v = UInt8(String(decoding: bytes[(i + 1)...(i + 3)], as: UTF8.self), radix: 8) {
                out.append(v)
                i += 4
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Unmounts a FUSE mount: umount2 as root, `fusermount3 -u` otherwise.
    public static func unmount(_ mountPoint: String) throws {
        if getuid() == 0 {
            guard umount2(mountPoint, 0) == 0 else {
                let e = errno
                throw MountError.unmount(path: mountPoint, reason: e == EBUSY
                    ? "files are still open through it; close them (or the programs using them) and try again"
                    : String(cString: strerror(e)))
            }
            return
        }
        var pid: pid_t = 0
        let strings: [String] = ["fusermount3", "-u", mountPoint]
        var argv: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        guard posix_spawnp(&pid, "fusermount3", nil, nil, &argv, environ) == 0 else {
            throw MountError.unmount(path: mountPoint, reason: "fusermount3 is missing; install the fuse3 package")
        }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        guard status == 0 else {
            throw MountError.unmount(path: mountPoint, reason: "fusermount3 -u failed; close the files open through it and try again")
        }
    }
}

/// Why the user's private runtime folder for mount records and control sockets cannot be used.
public enum MountRegistryError: Error, CustomStringConvertible, Equatable {
    /// A component could not be created or examined.
    case cannotMake(path: String, errno: Int32)
    /// A component exists but is not a directory of this user's that only they can use.
    case notPrivate(path: String, owner: UInt32, mode: mode_t, isDirectory: Bool)

    /// Names the folder, what is wrong with it and what to do.
    public var description: String {
        switch self {
        case let .cannotMake(path, e):
            return "\(path): cannot create the private folder for mount records (\(String(cString: strerror(e))))"
        case let .notPrivate(path, owner, mode, isDirectory):
            let what = isDirectory ? "a folder of uid \(owner) with mode \(String(mode, radix: 8))" : "not a folder (a link or a file)"
            return "\(path) is \(what); mount records and the PIN socket must be in a folder only you can use. "
                + "Have it removed (by its owner or root), or set XDG_RUNTIME_DIR to your own private folder"
        }
    }
}
