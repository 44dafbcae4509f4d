#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import DurableFile
import SystemPackage

/// How the format's writers use the durable-write module (docs/format.md §7.1): every file
/// they produce is a `StagedFile` in the destination's folder, and the module's errors are
/// reported as the format's own (`FormatError.io`, `ConfinementError.exists`), which the zone,
/// recovery and mount layers already map to messages and errno values.
enum Staging {
    /// A temporary for `location`, created through its folder's descriptor.
    static func file(at location: FileLocation, replacing: Bool = true, finalMode: mode_t? = nil) throws -> StagedFile {
        try mapped {
            try StagedFile(in: location.directory.folder, name: location.name,
                           publication: replacing ? .replace : .noReplace, finalMode: finalMode)
        }
    }

    /// Runs `body`, reporting a `DurableError` as the format's error for the same path and step.
    static func mapped<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as DurableError { throw formatError(error) }
    }

    /// The format's error for a durable-write error.
    static func formatError(_ error: DurableError) -> Error {
        switch error {
        case .exists(let path):
            return ConfinementError.exists(path: path.string)
        case .failed(let path, let step, let code):
            let operation: String
            switch step {
            case .openFolder, .create: operation = "open"
            case .makeFolder: operation = "mkdir"
            case .write: operation = "write"
            case .sync: operation = "fsync"
            case .setMode: operation = "chmod"
            case .publish: operation = "rename"
            case .syncFolder: operation = "fsync directory"
            }
            return FormatError.io(path: path.string, operation: operation, errno: code)
        }
    }
}

extension StagedFile {
    /// The temporary as the format's file handle (borrowed: the staged file closes it).
    var handle: FileHandle { FileHandle(borrowing: fd, path: temporaryPath.string) }
}
