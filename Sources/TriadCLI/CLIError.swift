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
    case usage(message: String)
    /// An identity that cannot be used; names it and says why.
    case identity(name: String, problem: String)
    /// A file the command reads or writes itself (a certificate, a key file, a pipe).
    case io(path: String, problem: String)

    /// One sentence naming the identity or file and what to do.
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
    /// 2 for a usage error, 1 for everything else (README "Exit status").
    public static func exitCode(for error: Error) -> Int32 {
        switch error {
        case CLIError.usage: return 2
        case is ValidationError: return 2
        default: return 1
        }
    }

    /// The error's own sentence, then what to type next when the remedy is a command-line
    /// option: library errors carry values, the option names live here (README "Exit status").
    /// - Parameter commandHint: the running command's own hint for `error`
    ///   (`CommandLineHinting`), used when the shared ones have none.
    public static func message(for error: Error, commandHint: String? = nil) -> String {
        let text: String
        switch error {
        case let e as ValidationError: text = e.message
        case let e as CustomStringConvertible: text = e.description
        default: text = String(describing: error)
        }
        guard let hint = CommandLineHint.hint(for: error) ?? commandHint else { return text }
        return text + "; " + hint
    }
}

/// Writes one line to stderr.
public func printError(_ line: String) {
    let text = line.hasSuffix("\n") ? line : line + "\n"
    _ = text.withCString { fputs($0, stderr) }
}
