#if canImport(Glibc)
import Glibc
#endif
import Foundation
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
        if let runtime = ProcessInfo.processInfo.environment["XDG_RUNTIME_DIR"], !runtime.isEmpty {
            return runtime + "/triad/mounts"
        }
        return "/tmp/triad-\(getuid())/mounts"
    }

    static func file(for mountPoint: String) -> String { path(for: mountPoint, suffix: ".json") }

    /// A per-mount name in the folder: the record (`.json`) and the control socket (`.sock`).
    static func path(for mountPoint: String, suffix: String) -> String {
        folder + "/" + Hex.encode(SHA256.hash(mountPoint)).prefix(32) + suffix
    }

    /// Makes the folder (and its parents) private to the user: 0700.
    static func makeFolder() {
        var path = ""
        for part in folder.split(separator: "/") {
            path += "/" + part
            if mkdir(path, 0o700) != 0 && errno != EEXIST { return }
        }
    }

    /// Writes `entry` to the private runtime folder (0700), replacing a record for the same
    /// mount point.
    public static func record(_ entry: Entry) throws {
        makeFolder()
        let data = try JSONEncoder().encode(entry)
        try data.write(to: URL(fileURLWithPath: file(for: entry.mountPoint)), options: .atomic)
    }

    /// Removes the record of the daemon at `mountPoint` (when it stops).
    public static func remove(mountPoint: String) {
        unlink(file(for: mountPoint))
    }

    /// Records of daemons still running.
    public static func entries() -> [Entry] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [] }
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
