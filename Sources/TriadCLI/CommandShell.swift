#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser

/// A refusal or failure a command reports itself: one line on stderr, exit 1.
///
/// Subcommands throw it for problems no library layer owns (no scripts in a folder, a lock
/// held by another process); library errors are thrown as they are and mapped by
/// `ErrorReport`.
public struct CommandFailure: Error, CustomStringConvertible {
    /// The sentence printed after the command's name: what is wrong and what to do.
    public let message: String

    /// A failure with `message`, which names the file or step and what to do next.
    public init(_ message: String) { self.message = message }

    /// The message itself.
    public var description: String { message }
}

/// The one shell `zone`, `ceremony` and `virtual-card` run in: it parses the root command,
/// runs it and turns whatever it throws into an exit status and a line a person can act on
/// (README "Exit status").
///
/// Exit 0 on success and for `--help`/`--version` (printed on stdout); 2 for a usage error
/// (ArgumentParser's parse and validation errors, `CLIError.usage`), printed with the usage
/// text; an `ExitCode` thrown by a subcommand exits with that code and prints nothing more;
/// anything else is 1 with `name: message[; hint]` on stderr, where `ErrorReport` maps each
/// layer's error to its sentence and `CommandLineHint` adds the option that resolves it.
public enum CommandShell {
    /// Runs `Root` with the process's arguments and exits. `hardenProcess` first turns core
    /// dumps off (`ProcessHardening`): for commands that hold private keys in memory.
    public static func main<Root: ParsableCommand>(_ root: Root.Type, hardenProcess: Bool = true) -> Never {
        let name = Root.configuration.commandName ?? "triad"
        if hardenProcess {
            for failure in ProcessHardening.disableCoreDumps() {
                printError("\(name): warning: core dumps stay possible: \(failure)")
            }
        }
        var command: ParsableCommand
        do {
            command = try Root.parseAsRoot()
        } catch {
            finish(Root.self, name: name, error: error, parsing: true)
        }
        do {
            try command.run()
        } catch {
            finish(Root.self, name: name, error: error, parsing: false)
        }
        exit(0)
    }

    /// What the shell does with `error`: where it prints what, and the exit status.
    public enum Outcome: Equatable {
        /// Help or version text on stdout, exit 0.
        case help(text: String)
        /// The usage message on stderr, exit 2.
        case usage(text: String)
        /// Exit with `code`, nothing printed (the subcommand has said what it had to).
        case exit(code: Int32)
        /// `name: message` on stderr, exit `code`.
        case failure(line: String, code: Int32)
    }

    /// Classifies `error` thrown while parsing (`parsing`) or running `Root` named `name`.
    public static func outcome<Root: ParsableCommand>(_ root: Root.Type, name: String, error: Error, parsing: Bool) -> Outcome {
        let code = Root.exitCode(for: error)
        if code == .success { return .help(text: Root.fullMessage(for: error)) }
        if let exitCode = error as? ExitCode { return .exit(code: exitCode.rawValue) }
        if parsing || code == .validationFailure { return .usage(text: Root.fullMessage(for: error)) }
        let commandHint = (Root.self as? CommandLineHinting.Type)?.hint(for: error)
        return .failure(line: "\(name): " + ErrorReport.message(for: error, commandHint: commandHint), code: ErrorReport.exitCode(for: error))
    }

    private static func finish<Root: ParsableCommand>(_ root: Root.Type, name: String, error: Error, parsing: Bool) -> Never {
        switch outcome(root, name: name, error: error, parsing: parsing) {
        case .help(let text):
            print(text)
            exit(0)
        case .usage(let text):
            printError(text)
            exit(2)
        case .exit(let code):
            exit(code)
        case let .failure(line, code):
            printError(line)
            exit(code)
        }
    }
}
