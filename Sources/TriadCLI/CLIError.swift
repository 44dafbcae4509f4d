#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import TriadCrypto
import TriadFormat
import TriadZone

/// Errors of the command-line layer itself.
public enum CLIError: Error, CustomStringConvertible {
    /// Bad command-line input (exit 2).
    case usage(String)
    /// An identity that cannot be used; names it and says why.
    case identity(String, String)
    case io(String, String)

    public var description: String {
        switch self {
        case .usage(let why): return why
        case let .identity(name, why): return "identity \(name): \(why)"
        case let .io(path, why): return "\(path): \(why)"
        }
    }
}

/// Maps any error to the one-line message and exit code of README "Exit status": 1 for a refused or
/// failed operation, 2 for a usage error.
public enum ErrorReport {
    public static func exitCode(for error: Error) -> Int32 {
        switch error {
        case CLIError.usage: return 2
        case is ValidationError: return 2
        default: return 1
        }
    }

    public static func message(for error: Error) -> String {
        switch error {
        case let e as ValidationError: return e.message
        case let e as CustomStringConvertible: return e.description
        default: return String(describing: error)
        }
    }
}

/// Writes one line to stderr.
public func printError(_ line: String) {
    let text = line.hasSuffix("\n") ? line : line + "\n"
    _ = text.withCString { fputs($0, stderr) }
}
