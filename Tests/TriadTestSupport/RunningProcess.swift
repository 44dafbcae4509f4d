import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A child started by ``Command/start()``: its pid, its output so far, signals, and waiting.
///
/// The child is started with posix_spawn: its signal mask is empty and every signal has its
/// default action (a test runner thread may block or ignore some, and an ignored disposition
/// would survive exec), it gets only descriptors 0–2 and the ``Command/inputs`` (every other
/// descriptor of the test process is closed in the child, so a long-running card process never
/// holds another test's pipe open), and it leads its own process group unless told otherwise.
public final class RunningProcess: @unchecked Sendable {
    public let pid: pid_t
    public let command: String
    private let processGroup: Bool
    private let child = ChildState()
    private let outputs: OutputCollector
    private let stdinLock = NSLock()
    private var stdinWriter: Int32?

    init(spawning command: Command) throws {
        Self.ignoreSIGPIPE
        let program = try command.resolvedExecutable()
        self.command = command.description
        self.processGroup = command.newProcessGroup
        for fd in command.inputs.keys where fd < 3 { throw TestSupportError.invalidDescriptor(fd) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var childEnds: [Int32] = []          // closed in the parent after the spawn
        var writers: [(fd: Int32, data: Data)] = []
        var captured: [(fd: Int32, stream: Int)] = []
        defer { for fd in childEnds { close(fd) } }

        // Standard input.
        var keptWriter: Int32?
        if command.keepsStdinOpen {
            let (read, write) = try Self.pipePair()
            childEnds.append(read); keptWriter = write
            posix_spawn_file_actions_adddup2(&actions, read, 0)
        } else if let data = command.stdin {
            let (read, write) = try Self.pipePair()
            childEnds.append(read); writers.append((write, data))
            posix_spawn_file_actions_adddup2(&actions, read, 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        // Standard output and error.
        for (target, output) in [(Int32(1), command.stdout), (Int32(2), command.stderr)] {
            switch output {
            case .capture:
                let (read, write) = try Self.pipePair()
                childEnds.append(write); captured.append((read, Int(target)))
                posix_spawn_file_actions_adddup2(&actions, write, target)
            case .discard:
                posix_spawn_file_actions_addopen(&actions, target, "/dev/null", O_WRONLY, 0)
            case .file(let path):
                posix_spawn_file_actions_addopen(&actions, target, path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            }
        }
        // Extra inputs (--pin-fd N).
        for (target, data) in command.inputs.sorted(by: { $0.key < $1.key }) {
            let (read, write) = try Self.pipePair()
            childEnds.append(read); writers.append((write, data))
            posix_spawn_file_actions_adddup2(&actions, read, target)
        }
        // Everything else this process has open stays out of the child.
        let keep = Set([0, 1, 2] + command.inputs.keys)
        for fd in Self.openDescriptors() where !keep.contains(fd) {
            posix_spawn_file_actions_addclose(&actions, fd)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var flags = Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        if command.newProcessGroup { flags |= Int32(POSIX_SPAWN_SETPGROUP); posix_spawnattr_setpgroup(&attributes, 0) }
        posix_spawnattr_setflags(&attributes, Int16(flags))
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none); sigfillset(&all); sigdelset(&all, SIGKILL); sigdelset(&all, SIGSTOP)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)

        var directoryPrefix: [String] = []
        if let directory = command.directory { directoryPrefix = ["/usr/bin/env", "-C", directory, "--"] }
        let argv = directoryPrefix + [program] + command.arguments
        let environment = (command.environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        var spawned: pid_t = 0
        let code = Self.withCStrings(argv) { cArgv in
            Self.withCStrings(environment) { cEnv in
                posix_spawn(&spawned, argv[0], &actions, &attributes, cArgv, cEnv)
            }
        }
        guard code == 0 else {
            if let keptWriter { close(keptWriter) }
            for w in writers { close(w.fd) }
            for c in captured { close(c.fd) }
            throw TestSupportError.spawnFailed(program: program, errno: code)
        }
        pid = spawned
        outputs = OutputCollector(captured)
        stdinWriter = keptWriter
        if command.keepsStdinOpen, let data = command.stdin { send(data) }

        for (fd, data) in writers {
            Thread.detachNewThread {
                Self.writeAll(fd, data)     // stops early if the child closed its end or exited
                close(fd)
            }
        }
        Thread.detachNewThread { [child, pid] in
            // Wait without reaping, then reap under the lock kill() takes: a signal is never
            // sent to a pid that may already belong to another process.
            var info = siginfo_t()
            while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR {}
            child.reap(pid)
        }
    }

    /// True until the child has exited (and been reaped).
    public var isRunning: Bool { child.status == nil }

    /// What the child has written so far to a captured standard output.
    public var stdoutSoFar: Data { outputs.data(1) }
    /// What the child has written so far to a captured standard error.
    public var stderrSoFar: Data { outputs.data(2) }

    /// Sends `signal` to the child (and, if it leads one, to its process group); no effect once
    /// the child has been reaped, so a recycled pid is never hit.
    public func kill(_ signal: Int32 = SIGKILL) {
        child.whileRunning {
            if processGroup { _ = Glibc.kill(-pid, signal) }
            _ = Glibc.kill(pid, signal)
        }
    }

    /// SIGTERM.
    public func terminate() { kill(SIGTERM) }

    /// Writes `data` to a standard input kept open (``Command/keepsStdinOpen``); false once it
    /// is closed or the child stopped reading.
    @discardableResult
    public func send(_ data: Data) -> Bool {
        stdinLock.lock(); defer { stdinLock.unlock() }
        guard let fd = stdinWriter else { return false }
        return Self.writeAll(fd, data)
    }

    /// Closes a standard input kept open: the child reads end of file.
    public func closeStdin() {
        stdinLock.lock(); defer { stdinLock.unlock() }
        if let fd = stdinWriter { close(fd) }
        stdinWriter = nil
    }

    /// Waits for the child to exit; after `timeout` seconds (nil: forever) kills it with SIGKILL
    /// and reports ``ProcessResult/timedOut``. Output still arriving from processes the child
    /// left behind is read for at most two more seconds.
    @discardableResult
    public func wait(timeout: TimeInterval? = nil) -> ProcessResult {
        var timedOut = false
        if !child.waitForExit(timeout: timeout) {
            timedOut = true
            kill(SIGKILL)
            _ = child.waitForExit(timeout: nil)
        }
        outputs.finish(within: 2)
        let status = child.status ?? 0
        let signalled = (status & 0x7F) != 0 && (status & 0x7F) != 0x7F
        return ProcessResult(command: command,
                             exitCode: signalled ? nil : (status >> 8) & 0xFF,
                             signal: signalled ? status & 0x7F : nil,
                             timedOut: timedOut,
                             stdout: outputs.data(1), stderr: outputs.data(2))
    }

    deinit {
        // A child nobody waited for is not left running after its test.
        kill(SIGKILL)
        closeStdin()
    }

    // MARK: - Plumbing

    private static let ignoreSIGPIPE: Void = { signal(SIGPIPE, SIG_IGN); return () }()

    /// A pipe whose both ends are close-on-exec and numbered 100 or above, so a `dup2` to a
    /// small descriptor number in the child never meets a pipe end of the same number.
    private static func pipePair() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw TestSupportError.io(path: "pipe", reason: String(cString: strerror(errno))) }
        let read = fcntl(fds[0], F_DUPFD_CLOEXEC, 100), write = fcntl(fds[1], F_DUPFD_CLOEXEC, 100)
        close(fds[0]); close(fds[1])
        guard read >= 0, write >= 0 else { throw TestSupportError.io(path: "pipe", reason: String(cString: strerror(errno))) }
        return (read, write)
    }

    /// Writes all of `data` (a pipe may take it in pieces); false if the reader is gone.
    @discardableResult
    private static func writeAll(_ fd: Int32, _ data: Data) -> Bool {
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return false }
                offset += n
            }
            return true
        }
    }

    private static func openDescriptors() -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).compactMap { Int32($0) }.filter { $0 > 2 }
    }

    private static func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
        let pointers = strings.map { strdup($0) } + [nil]
        defer { for p in pointers { free(p) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}

/// The child's wait status once reaped; shared with the reaper thread (which must not keep
/// the ``RunningProcess`` alive, so that its deinit can kill a child nobody waits for).
private final class ChildState: @unchecked Sendable {
    private let lock = NSLock()
    private var waitStatus: Int32?
    private let exited = DispatchSemaphore(value: 0)

    var status: Int32? { lock.lock(); defer { lock.unlock() }; return waitStatus }

    func reap(_ pid: pid_t) {
        var status: Int32 = 0
        lock.lock()
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        waitStatus = status
        lock.unlock()
        exited.signal()
    }

    /// Runs `body` only while the child has not been reaped (its pid cannot have been reused).
    func whileRunning(_ body: () -> Void) {
        lock.lock(); defer { lock.unlock() }
        if waitStatus == nil { body() }
    }

    /// False if `timeout` ran out first.
    func waitForExit(timeout: TimeInterval?) -> Bool {
        if status != nil { return true }
        if let timeout {
            guard exited.wait(timeout: .now() + timeout) == .success else { return false }
        } else {
            exited.wait()
        }
        exited.signal()     // any other waiter returns too
        return true
    }
}

/// Reads every captured stream on one thread with poll(2), until each reaches end of file or
/// ``finish(within:)`` gives up on streams a grandchild still holds open.
private final class OutputCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var buffers: [Int: Data] = [:]
    private var giveUp = false
    private let done = DispatchSemaphore(value: 0)
    private let streams: [(fd: Int32, stream: Int)]

    init(_ streams: [(fd: Int32, stream: Int)]) {
        self.streams = streams
        for s in streams { buffers[s.stream] = Data() }
        if streams.isEmpty { done.signal(); return }
        Thread.detachNewThread { [self] in pump() }
    }

    private func pump() {
        var open = streams
        var chunk = [UInt8](repeating: 0, count: 65536)
        while !open.isEmpty {
            lock.lock(); let stop = giveUp; lock.unlock()
            if stop { break }
            var polls = open.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            let ready = poll(&polls, nfds_t(polls.count), 100)
            if ready < 0 && errno != EINTR { break }
            guard ready > 0 else { continue }
            var stillOpen: [(fd: Int32, stream: Int)] = []
            for (index, s) in open.enumerated() {
                guard polls[index].revents != 0 else { stillOpen.append(s); continue }
                let n = read(s.fd, &chunk, chunk.count)
                if n > 0 {
                    lock.lock(); buffers[s.stream]!.append(contentsOf: chunk[0..<n]); lock.unlock()
                    stillOpen.append(s)
                } else if n < 0 && (errno == EINTR || errno == EAGAIN) {
                    stillOpen.append(s)
                } else {
                    close(s.fd)
                }
            }
            open = stillOpen
        }
        for s in open { close(s.fd) }
        done.signal()
    }

    func data(_ stream: Int) -> Data {
        lock.lock(); defer { lock.unlock() }
        return buffers[stream] ?? Data()
    }

    func finish(within seconds: TimeInterval) {
        if done.wait(timeout: .now() + seconds) == .timedOut {
            lock.lock(); giveUp = true; lock.unlock()
            done.wait()
        }
        done.signal()
    }
}
