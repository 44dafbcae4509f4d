import Foundation

/// A program to run from a test: the built `zone`, `ceremony` or `virtual-card`, or a stock tool
/// (openssl, yubico-piv-tool, python3) found on PATH.
///
/// Tests drive the real binaries the way a person or a script would: arguments, standard input,
/// extra descriptors for `--pin-fd N` (so a PIN never appears in argv or the environment), an
/// environment of their own (`XDG_STATE_HOME`, `TRIAD_TRUST`), a working folder and a timeout.
///
///     var zone = Command.product("zone", ["cat", file, "--identity", "piv:00 01", "--pin-fd", "3"])
///     zone.inputs[3] = Data("123456\n".utf8)
///     let result = try zone.run()
public struct Command: CustomStringConvertible {
    /// Where the child's standard output or standard error goes.
    public enum Output: Equatable {
        /// Collected in memory and returned in the ``ProcessResult``.
        case capture
        /// Thrown away (`/dev/null`).
        case discard
        /// Appended to a file (created 0644 if missing), readable while the child runs.
        case file(String)
    }

    /// An absolute or relative path (it contains a slash), or a name looked up on PATH.
    public var executable: String
    public var arguments: [String]
    /// The child's whole environment; nil inherits this process's.
    public var environment: [String: String]?
    /// The child's working folder; nil keeps this process's.
    public var directory: String?
    /// Written to the child's standard input, which is then closed; nil gives it `/dev/null`
    /// (unless ``keepsStdinOpen``).
    public var stdin: Data?
    /// The child's standard input is a pipe the test keeps open and writes to while the child
    /// runs (``RunningProcess/send(_:)``, ``RunningProcess/closeStdin()``): a person who has
    /// not answered yet. `stdin`, if set, is written first.
    public var keepsStdinOpen = false
    /// Extra descriptors the child inherits, each the read end of a pipe carrying these bytes
    /// (then end of file): `inputs[3] = pin` for `--pin-fd 3`. Descriptors 0–2 are not allowed.
    public var inputs: [Int32: Data] = [:]
    public var stdout: Output = .capture
    public var stderr: Output = .capture
    /// `run()` kills the child (and its process group) after this many seconds and reports
    /// ``ProcessResult/timedOut``.
    public var timeout: TimeInterval = 300
    /// The child leads a process group of its own, so a timeout or ``RunningProcess/kill(_:)``
    /// reaches the processes it started (`sh -c`, `xargs`).
    public var newProcessGroup = true

    public init(_ executable: String, _ arguments: [String] = [], stdin: Data? = nil,
                environment: [String: String]? = nil, directory: String? = nil) {
        self.executable = executable
        self.arguments = arguments
        self.stdin = stdin
        self.environment = environment
        self.directory = directory
    }

    /// A built product of this package (`zone`, `ceremony`, `virtual-card`), from the folder the
    /// running tests were built into (see ``Products``).
    public static func product(_ name: String, _ arguments: [String] = [], stdin: Data? = nil,
                               environment: [String: String]? = nil) -> Command {
        Command(Products.path(name), arguments, stdin: stdin, environment: environment)
    }

    /// Runs the command to completion (or its timeout) and collects what it printed.
    /// Throws only when the program cannot be started at all.
    public func run() throws -> ProcessResult {
        try start().wait(timeout: timeout)
    }

    /// Starts the command and returns at once; the caller waits, signals or kills it.
    public func start() throws -> RunningProcess {
        try RunningProcess(spawning: self)
    }

    /// The command line as a person would type it (arguments quoted where needed); inputs show
    /// only their descriptor numbers and sizes, never their bytes (they carry PINs).
    public var description: String {
        var words = ([executable] + arguments).map(Self.quoted)
        for (fd, data) in inputs.sorted(by: { $0.key < $1.key }) { words.append("\(fd)<(\(data.count) bytes)") }
        return words.joined(separator: " ")
    }

    static func quoted(_ word: String) -> String {
        let plain = word.unicodeScalars.allSatisfy {
            CharacterSet.alphanumerics.contains($0) || "-_./:=,+@%".unicodeScalars.contains($0)
        }
        return plain && !word.isEmpty ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// The path that will be executed: `executable` itself when it has a slash, else the first
    /// executable file of that name on the child's PATH.
    func resolvedExecutable() throws -> String {
        if executable.contains("/") {
            guard FileManager.default.isExecutableFile(atPath: executable) else {
                throw TestSupportError.programNotFound(executable, hint: "no executable file at that path")
            }
            return executable
        }
        let path = (environment ?? ProcessInfo.processInfo.environment)["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for folder in path.split(separator: ":") {
            let candidate = "\(folder)/\(executable)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw TestSupportError.programNotFound(executable, hint: "not on PATH; scripts/setup installs the tools the tests use")
    }
}

/// What a finished child did.
public struct ProcessResult: CustomStringConvertible {
    /// The command that ran (for failure messages).
    public var command: String
    /// The exit code, or nil if a signal ended the child.
    public var exitCode: Int32?
    /// The signal that ended the child, if one did.
    public var signal: Int32?
    /// True when ``Command/timeout`` ran out and the child was killed.
    public var timedOut: Bool
    /// Standard output (empty unless captured).
    public var stdout: Data
    /// Standard error (empty unless captured).
    public var stderr: Data

    /// The exit code, or 128 + the signal number as a shell reports it.
    public var status: Int32 { exitCode ?? (128 + (signal ?? 0)) }
    public var succeeded: Bool { exitCode == 0 }
    /// Standard output as UTF-8 text.
    public var out: String { String(decoding: stdout, as: UTF8.self) }
    /// Standard error as UTF-8 text.
    public var err: String { String(decoding: stderr, as: UTF8.self) }

    /// The command, how it ended and the end of its standard error: a ready assertion message.
    public var description: String {
        let ended = timedOut ? "timed out (killed)" : exitCode.map { "exit \($0)" } ?? "killed by signal \(signal ?? 0)"
        let tail = err.count > 2000 ? "…" + err.suffix(2000) : err
        return "\(command): \(ended)" + (tail.isEmpty ? "" : "; stderr: \(tail)")
    }
}

/// Errors of the test-support target, each saying what to do.
public enum TestSupportError: Error, CustomStringConvertible {
    case programNotFound(String, hint: String)
    case spawnFailed(program: String, errno: Int32)
    case invalidDescriptor(Int32)
    case toolFailed(ProcessResult)
    case productNotBuilt(name: String, searched: [String])
    case pcscUnavailable(String)
    case cardDidNotAppear(reader: String, log: String)
    case readerBusy(reader: String)
    case unsupported(String)
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case let .programNotFound(program, hint): return "cannot run \(program): \(hint)"
        case let .spawnFailed(program, code): return "cannot start \(program): \(String(cString: strerror(code)))"
        case let .invalidDescriptor(fd): return "descriptor \(fd) cannot be an extra input (use 3 or above)"
        case let .toolFailed(result): return "\(result)"
        case let .productNotBuilt(name, searched):
            return "the \(name) executable was not found in \(searched.joined(separator: ", ")): run swift build --build-tests first"
        case let .pcscUnavailable(why): return why
        case let .cardDidNotAppear(reader, log):
            return "no card appeared in \(reader) (is another card holding that vpcd port?); virtual-card said: \(log)"
        case let .readerBusy(reader): return "\(reader) still holds another card (a card process left running?)"
        case let .unsupported(what): return what
        case let .io(path, reason): return "\(path): \(reason)"
        }
    }
}
