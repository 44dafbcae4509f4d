import Foundation
import TriadCrypto

/// Reads a secret (a PIN) without it touching argv, the environment, an answers file or
/// the journal (docs/piv-client.md "PIN policy"): from `--pin-fd N` when given, else from the terminal with
/// echo off.
public struct SecretInput: Sendable {
    /// The descriptor PINs are read from, or nil for the terminal with echo off.
    public let pinFD: Int32?

    /// Reads PINs from `pinFD`, or from the terminal when nil.
    public init(pinFD: Int32?) { self.pinFD = pinFD }

    /// Reads one line as a secret. The bytes read are wiped after being copied.
    public func read(prompt: String) throws -> SecureBytes {
        if let fd = pinFD { return try Self.readLine(fd: fd, what: "PIN descriptor \(fd)") }
        let tty = open("/dev/tty", O_RDWR | O_CLOEXEC)
        guard tty >= 0 else { throw CeremonyError.noSecretInput }
        defer { close(tty) }
        var saved = termios()
        guard tcgetattr(tty, &saved) == 0 else { throw CeremonyError.noSecretInput }
        var quiet = saved
        quiet.c_lflag &= ~tcflag_t(ECHO)
        _ = tcsetattr(tty, TCSAFLUSH, &quiet)
        defer {
            _ = tcsetattr(tty, TCSAFLUSH, &saved)
            _ = "\n".withCString { write(tty, $0, 1) }
        }
        _ = prompt.withCString { write(tty, $0, strlen($0)) }
        return try Self.readLine(fd: tty, what: "the terminal")
    }

    static func readLine(fd: Int32, what: String) throws -> SecureBytes {
        var bytes: [UInt8] = []
        defer { wipe(&bytes) }
        var byte: UInt8 = 0
        while true {
            let n = Foundation.read(fd, &byte, 1)
            if n < 0 && errno == EINTR { try Interruption.check(); continue }
            if n <= 0 { break }
            if byte == 0x0A { break }
            if byte != 0x0D { bytes.append(byte) }
        }
        byte = 0
        guard !bytes.isEmpty else { throw CeremonyError.secretEmpty(source: what) }
        return SecureBytes(bytes)
    }
}

/// SHA-256 of text, lowercase hex.
enum ScriptHash {
    static func hex(_ text: String) -> String { Hex.encode(SHA256.hash(Array(text.utf8))) }
}
