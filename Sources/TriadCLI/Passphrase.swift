#if canImport(Glibc)
import Glibc
#endif
import TriadCrypto

/// Reading secrets without putting them in argv or the environment (as PINs, docs/piv-client.md "PIN policy"):
/// from an inherited file descriptor (`--passphrase-fd N`) or from the terminal with echo
/// off. Bytes are collected straight into `SecureBytes` and the read buffer is wiped.
public enum Passphrase {
    /// The passphrase of `keyName` from `fd`, or from the terminal with echo off when `fd` is nil.
    public static func read(fd: Int32?, prompt: String, keyName: String) throws -> SecureBytes {
        if let fd {
            guard let secret = readLine(from: fd) else {
                throw CLIError.identity(name: keyName, problem: "nothing could be read from --passphrase-fd \(fd)")
            }
            return secret
        }
        let tty = open("/dev/tty", O_RDWR | O_CLOEXEC)
        guard tty >= 0 else {
            throw CLIError.identity(name: keyName, problem: "the key file is encrypted and there is no terminal to ask for its passphrase; give it with --passphrase-fd N")
        }
        defer { close(tty) }
        var saved = termios()
        let haveTermios = tcgetattr(tty, &saved) == 0
        if haveTermios {
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(tty, TCSAFLUSH, &quiet)
        }
        defer {
            if haveTermios { var s = saved; tcsetattr(tty, TCSAFLUSH, &s) }
            _ = "\n".withCString { write(tty, $0, 1) }
        }
        _ = prompt.withCString { write(tty, $0, strlen($0)) }
        guard let secret = readLine(from: tty) else { throw CLIError.identity(name: keyName, problem: "no passphrase was entered") }
        return secret
    }

    /// One line (without its newline) or everything up to EOF; nil if nothing was read.
    static func readLine(from fd: Int32) -> SecureBytes? {
        var buffer = [UInt8](repeating: 0, count: 1024)
        defer { wipe(&buffer) }
        var count = 0
        var byte: UInt8 = 0
        var sawAny = false
        while count < buffer.count {
            let n = Glibc.read(fd, &byte, 1)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            sawAny = true
            if byte == 0x0A { break }
            buffer[count] = byte
            count += 1
        }
        byte = 0
        if count > 0 && buffer[count - 1] == 0x0D { count -= 1 }
        guard sawAny else { return nil }
        return SecureBytes(buffer[0..<count])
    }
}

/// Reads a whole key file straight into secret storage: the size comes from `fstat`, so
/// there is no growing buffer leaving copies of the key in freed memory.
enum SecretFile {
    static func read(_ path: String) throws -> SecureBytes {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CLIError.io(path: path, problem: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw CLIError.io(path: path, problem: String(cString: strerror(errno))) }
        guard st.st_size <= 1 << 20 else { throw CLIError.io(path: path, problem: "is larger than 1 MiB; not a PEM key file") }
        var out = SecureBytes(count: Int(st.st_size))
        var filled = 0
        try out.withUnsafeMutableBytes { buffer in
            while filled < buffer.count {
                let n = Glibc.read(fd, buffer.baseAddress! + filled, buffer.count - filled)
                if n < 0 { if errno == EINTR { continue }; throw CLIError.io(path: path, problem: String(cString: strerror(errno))) }
                if n == 0 { break }
                filled += n
            }
        }
        return filled == out.count ? out : out.slice(0..<filled)
    }
}
