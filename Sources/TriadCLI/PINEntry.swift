import Foundation
import TriadCrypto

/// Reads a PIN (or PUK) without it ever touching argv, the environment, a log or the disk
/// (docs/piv-client.md "PIN policy"): from a file descriptor the caller opened
/// (`--pin-fd N`, for automation) or from the controlling terminal with echo off.
///
/// The PIN is collected into a fixed buffer that is wiped, and handed out as `SecureBytes`.
public enum PINEntry {
    /// Longest line accepted; PIV PINs and PUKs have at most 8 bytes, so anything longer
    /// is a mistake (a wrong file descriptor), not a PIN.
    static let maximumLength = 64

    /// Reads one line from `fd`: up to the first newline or end of file, without the newline
    /// (and without a trailing carriage return). Reads byte by byte so that nothing after the
    /// line is consumed: a later step may read the next line from the same descriptor.
    /// - Throws: `PINEntryError` when the descriptor is not readable, empty or too long.
    public static func read(fromDescriptor fd: Int32) throws -> SecureBytes {
        var buffer = [UInt8](repeating: 0, count: maximumLength + 1)
        defer { wipe(&buffer) }
        var count = 0
        var byte: UInt8 = 0
        var sawAnything = false
        while true {
            let n = Foundation.read(fd, &byte, 1)
            if n < 0 {
                if errno == EINTR { continue }
                throw PINEntryError.unreadable(fd: fd, errno: errno)
            }
            if n == 0 { break }
            sawAnything = true
            if byte == 0x0A { break }
            guard count < maximumLength else { byte = 0; throw PINEntryError.tooLong(source: "file descriptor \(fd)") }
            buffer[count] = byte
            count += 1
        }
        byte = 0
        if count > 0, buffer[count - 1] == 0x0D { count -= 1; buffer[count] = 0 }
        guard sawAnything, count > 0 else { throw PINEntryError.empty(source: "file descriptor \(fd)") }
        return SecureBytes(Array(buffer[0..<count]))
    }

    /// Asks on the controlling terminal (`/dev/tty`) with echo switched off, restoring the
    /// terminal settings afterwards even on error.
    /// - Parameter prompt: printed on the terminal, e.g. "PIN for card in Virtual PCD 00 00: ".
    public static func readFromTerminal(prompt: String) throws -> SecureBytes {
        let tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard tty >= 0 else { throw PINEntryError.noTerminal }
        defer { close(tty) }
        var saved = termios()
        guard tcgetattr(tty, &saved) == 0 else { throw PINEntryError.noTerminal }
        var silent = saved
        silent.c_lflag &= ~tcflag_t(ECHO | ECHONL)
        silent.c_lflag |= tcflag_t(ICANON)
        writeAll(tty, prompt)
        // Ctrl-C or a TERM while echo is off must not leave the terminal silent.
        TerminalRestore.arm(fd: tty, settings: saved)
        guard tcsetattr(tty, TCSAFLUSH, &silent) == 0 else { TerminalRestore.disarm(); throw PINEntryError.noTerminal }
        defer {
            _ = tcsetattr(tty, TCSAFLUSH, &saved)
            TerminalRestore.disarm()
            writeAll(tty, "\n")
        }
        do {
            return try read(fromDescriptor: tty)
        } catch PINEntryError.empty {
            throw PINEntryError.empty(source: "the terminal")
        }
    }

    /// Reads from `--pin-fd` when given, else from the terminal.
    public static func read(pinFD: Int32?, prompt: String) throws -> SecureBytes {
        if let fd = pinFD { return try read(fromDescriptor: fd) }
        return try readFromTerminal(prompt: prompt)
    }

    private static func writeAll(_ fd: Int32, _ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBufferPointer { Foundation.write(fd, $0.baseAddress, $0.count) }
            if n <= 0 { if n < 0 && errno == EINTR { continue }; break }
            offset += n
        }
        bytes.removeAll()
    }
}

/// Restores the terminal settings from a signal handler (SIGINT, SIGTERM, SIGHUP) and then
/// lets the signal take its default course. Only async-signal-safe calls are made.
enum TerminalRestore {
    nonisolated(unsafe) static var fd: Int32 = -1
    nonisolated(unsafe) static var settings = termios()
    nonisolated(unsafe) static var previous: [Int32: sigaction] = [:]
    static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    static func arm(fd: Int32, settings: termios) {
        Self.fd = fd
        Self.settings = settings
        for sig in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { sig in
                if TerminalRestore.fd >= 0 { _ = tcsetattr(TerminalRestore.fd, TCSAFLUSH, &TerminalRestore.settings) }
                signal(sig, SIG_DFL)
                raise(sig)
            }
            sigemptyset(&action.sa_mask)
            var old = sigaction()
            sigaction(sig, &action, &old)
            previous[sig] = old
        }
    }

    static func disarm() {
        for sig in signals {
            if var old = previous[sig] { sigaction(sig, &old, nil) }
        }
        previous = [:]
        fd = -1
    }
}

/// Why no PIN could be read.
public enum PINEntryError: Error, Equatable, CustomStringConvertible {
    case noTerminal
    case unreadable(fd: Int32, errno: Int32)
    case empty(source: String)
    case tooLong(source: String)

    /// One sentence naming where the PIN was to come from and what to do.
    public var description: String {
        switch self {
        case .noTerminal:
            return "no terminal to ask for the PIN on: run in a terminal or pass the PIN with --pin-fd N"
        case .unreadable(let fd, let e):
            return "cannot read the PIN from file descriptor \(fd): \(String(cString: strerror(e))); open it for reading, e.g. --pin-fd 3 3<pinfile"
        case .empty(let source):
            return "no PIN was given on \(source): write the PIN followed by a newline"
        case .tooLong(let source):
            return "the line read from \(source) is too long to be a PIN (at most \(PINEntry.maximumLength) bytes): check --pin-fd"
        }
    }
}
