#if canImport(Glibc)
import Glibc
#endif

/// Why a mount could not start or stopped (the CLI maps these to messages a person can act on).
public enum MountError: Error, CustomStringConvertible, Equatable {
    case zoneFolder(path: String, errno: Int32)
    case mountPoint(path: String, reason: String)
    case fuse(step: String)
    case audit(path: String, errno: Int32)
    /// Nothing receives audit records at the syslog socket and no `--audit FILE` was given.
    case noAuditSink(socket: String, errno: Int32)
    case notMounted(path: String)
    case unmount(path: String, reason: String)
    /// `zone unlock` was refused (docs/mount.md §7).
    case unlock(reason: String)

    /// A message naming the path or step and what to do.
    public var description: String {
        switch self {
        case let .zoneFolder(path, e): return "\(path): cannot open the zone folder (\(String(cString: strerror(e))))"
        case let .mountPoint(path, reason): return "\(path): \(reason)"
        case let .fuse(step): return "FUSE: \(step) failed; check that fuse3 is installed and /dev/fuse is usable"
        case let .audit(path, e): return "\(path): cannot open the audit file (\(String(cString: strerror(e))))"
        case let .noAuditSink(socket, e):
            return "\(socket): nothing receives audit records there (\(String(cString: strerror(e)))); every open through a mount "
                + "is recorded, so the mount is refused: start journald or rsyslog, or give --audit FILE (docs/mount.md §8.1)"
        case let .notMounted(path): return "\(path): no zone is mounted there"
        case let .unmount(path, reason): return "\(path): cannot unmount: \(reason)"
        case let .unlock(reason): return reason
        }
    }
}
