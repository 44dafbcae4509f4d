#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemPackage

/// Why a durable write failed: the file (or folder) and the step, with the system's errno.
/// Every message names the path and says what to check, so a caller can pass it on as it is.
public enum DurableError: Error, Equatable, CustomStringConvertible {
    /// A step of the write failed; `path` is the file or folder the step was about.
    case failed(path: FilePath, step: Step, errno: Int32)
    /// The destination exists and the write was asked not to replace anything; nothing was
    /// written under that name and the temporary is gone.
    case exists(path: FilePath)

    /// The steps of a durable write, in the order they happen (docs/format.md §7.1).
    public enum Step: String, Sendable, Equatable {
        /// Opening the destination's folder.
        case openFolder = "open the folder"
        /// Creating a missing folder on the way to the destination (mkdir -p).
        case makeFolder = "create the folder"
        /// Creating the temporary (O_EXCL | O_NOFOLLOW, mode 0600).
        case create = "create a temporary file"
        /// Writing the content.
        case write = "write"
        /// fdatasync(2) of the temporary.
        case sync = "fsync"
        /// fchmod(2) to the final permission bits.
        case setMode = "set the permission bits"
        /// renameat(2), renameat2(2) or linkat(2) of the temporary to the destination.
        case publish = "rename into place"
        /// fsync(2) of the folder, so the rename survives a crash.
        case syncFolder = "fsync the folder"
    }

    /// The path the error is about.
    public var path: FilePath {
        switch self {
        case .failed(let path, _, _), .exists(let path): return path
        }
    }

    /// What went wrong, without the path: for callers whose own message names the file.
    public var reason: String {
        switch self {
        case .failed(_, let step, let code):
            return "cannot \(step.rawValue): \(String(cString: strerror(code)))"
        case .exists:
            return "already exists; not overwritten"
        }
    }

    /// One sentence naming the path, the step and what to do.
    public var description: String {
        switch self {
        case .failed:
            return "\(path): \(reason); check the folder exists, is writable and has space"
        case .exists:
            return "\(path): \(reason) — remove it or choose another name"
        }
    }
}
