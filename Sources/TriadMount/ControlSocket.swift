#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TriadCrypto

/// The per-mount control socket (docs/mount.md §7): how `zone unlock` hands a card's PIN to a
/// daemon whose card left and came back, without the PIN touching argv, the environment or
/// the disk. An `AF_UNIX` stream socket in the user's runtime folder beside the mount's
/// registry record (`$XDG_RUNTIME_DIR/triad/mounts/<hash>.sock`, folder 0700, socket 0600);
/// the daemon also checks the caller's uid with `SO_PEERCRED` (unix(7)), so only the user who
/// mounted can talk to it.
///
/// The exchange is one request and one answer, each a line: the client sends `unlock`, then
/// the PIN on a line of its own; the daemon answers `ok` or `refused <reason>`.
public enum ControlSocket {
    /// Longest PIN line accepted (PIV PINs are at most 8 bytes, SP 800-73-4 Part 2 §3.2.1).
    static let maximumRequest = 256

    /// The socket of the mount at `mountPoint` (absolute).
    public static func path(for mountPoint: String) -> String {
        MountRegistry.path(for: mountPoint, suffix: ".sock")
    }

    /// Sends `pin` to the daemon of `mountPoint`; returns nil when it unlocked, else its reason.
    /// Throws `ControlSocketError` when there is no daemon to talk to.
    public static func unlock(mountPoint: String, pin: SecureBytes) throws -> String? {
        let socketPath = path(for: mountPoint)
        // The folder must be the user's alone, and the listener the user's own daemon: the
        // PIN is sent to nobody else (docs/mount.md §7).
        try MountRegistry.makeFolder()
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ControlSocketError.unreachable(path: socketPath, errno: errno) }
        defer { close(fd) }
        var address = try socketAddress(socketPath)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { throw ControlSocketError.unreachable(path: socketPath, errno: errno) }
        let peer = peerUID(fd)
        guard peer == getuid() else { throw ControlSocketError.notYours(path: socketPath, uid: peer) }
        var request = [UInt8]("unlock\n".utf8)
        pin.withUnsafeBytes { request.append(contentsOf: $0) }
        request.append(0x0A)
        defer { request.withUnsafeMutableBytes { explicit_bzero($0.baseAddress!, $0.count) } }
        guard writeAll(fd, request) else { throw ControlSocketError.unreachable(path: socketPath, errno: errno) }
        shutdown(fd, Int32(SHUT_WR))
        var answer = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 1024)
        while answer.count < 4096 {
            let n = read(fd, &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            answer += buffer.prefix(n)
        }
        let text = String(decoding: answer, as: UTF8.self).trimmingCharacters(in: .newlines)
        if text == "ok" { return nil }
        if text.hasPrefix("refused ") { return String(text.dropFirst(8)) }
        return "the mount daemon gave no answer; see `zone mounts` and the system log"
    }

    /// The uid of the process at the other end of `fd` (SO_PEERCRED, unix(7)); nil if unknown.
    static func peerUID(_ fd: Int32) -> UInt32? {
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; } (unix(7); Glibc shows it only
        // under _GNU_SOURCE).
        var credentials: (pid: Int32, uid: UInt32, gid: UInt32) = (0, UInt32.max, UInt32.max)
        var length = socklen_t(MemoryLayout<(Int32, UInt32, UInt32)>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0 else { return nil }
        return credentials.uid
    }

    static func socketAddress(_ path: String) throws -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw ControlSocketError.pathTooLong(path: path) }
        withUnsafeMutableBytes(of: &address.sun_path) { dst in
            for (i, b) in bytes.enumerated() { dst[i] = b }
        }
        return address
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + sent, bytes.count - sent) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            sent += n
        }
        return true
    }
}

/// Why `zone unlock` could not reach a daemon.
public enum ControlSocketError: Error, CustomStringConvertible, Equatable {
    case unreachable(path: String, errno: Int32)
    case pathTooLong(path: String)
    case cannotListen(path: String, errno: Int32)
    /// The socket answering at the mount's path belongs to another user (or to nobody known).
    case notYours(path: String, uid: UInt32?)

    /// The message `zone unlock` prints: the socket, what failed, what to check.
    public var description: String {
        switch self {
        case let .unreachable(path, e):
            return "\(path): no mount daemon answers (\(String(cString: strerror(e)))); is the zone mounted there by you (zone mounts)?"
        case let .pathTooLong(path):
            return "\(path): the control socket's path is too long for AF_UNIX; set XDG_RUNTIME_DIR to a shorter folder"
        case let .notYours(path, uid):
            let owner = uid.map { "uid \($0)" } ?? "an unknown user"
            return "\(path): the socket is served by \(owner), not by your mount daemon; the PIN was not sent. "
                + "Tell your administrator; unmount with zone unmount and mount again"
        case let .cannotListen(path, e):
            return "\(path): cannot create the mount's control socket (\(String(cString: strerror(e))))"
        }
    }
}

/// The daemon's side: a listening socket and a thread that answers one request at a time.
final class ControlServer: @unchecked Sendable {
    let path: String
    private let fd: Int32
    private var thread: Thread?
    private var handler: (SecureBytes) -> String? = { _ in "the mount is starting" }
    private var stopped = false

    /// Listens at `path` (a stale socket there is replaced).
    init(path: String) throws {
        self.path = path
        try MountRegistry.makeFolder()
        var address = try ControlSocket.socketAddress(path)
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ControlSocketError.cannotListen(path: path, errno: errno) }
        unlink(path)
        let old = umask(0o177)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        umask(old)
        guard bound == 0, chmod(path, 0o600) == 0, listen(fd, 4) == 0 else {
            let e = errno
            close(fd)
            throw ControlSocketError.cannotListen(path: path, errno: e)
        }
    }

    /// Answers requests from now on: `handler` gets the PIN and returns nil for success or the
    /// reason for refusing.
    func start(handler: @escaping (SecureBytes) -> String?) {
        self.handler = handler
        let t = Thread { [self] in serve() }
        thread = t
        t.start()
    }

    /// Stops accepting, waits for the thread, removes the socket.
    func stop() {
        stopped = true
        shutdown(fd, Int32(SHUT_RDWR))
        while thread?.isFinished == false { usleep(10_000) }
        close(fd)
        unlink(path)
    }

    private func serve() {
        while !stopped {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 250) > 0, !stopped else { continue }
            let client = accept(fd, nil, nil)
            guard client >= 0 else { continue }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            answer(client)
            close(client)
        }
    }

    private func answer(_ client: Int32) {
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard ControlSocket.peerUID(client) == getuid() else {
            _ = ControlSocket.writeAll(client, Array("refused only the user who mounted the zone can unlock it\n".utf8))
            return
        }
        var request = [UInt8](repeating: 0, count: ControlSocket.maximumRequest)
        defer { request.withUnsafeMutableBytes { explicit_bzero($0.baseAddress!, $0.count) } }
        var count = 0
        while count < request.count {
            let n = request.withUnsafeMutableBytes { read(client, $0.baseAddress! + count, $0.count - count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            count += n
        }
        let lines = request.prefix(count).split(separator: 0x0A, maxSplits: 2, omittingEmptySubsequences: false)
        guard lines.count >= 2, Array(lines[0]) == Array("unlock".utf8), count < request.count else {
            _ = ControlSocket.writeAll(client, Array("refused the request was not `unlock` and a PIN line\n".utf8))
            return
        }
        let pin = SecureBytes(lines[1])
        let reason = handler(pin)
        let reply = reason.map { "refused " + $0.replacingNewlines + "\n" } ?? "ok\n"
        _ = ControlSocket.writeAll(client, Array(reply.utf8))
    }
}

extension String {
    fileprivate var replacingNewlines: String { String(map { $0.isNewline ? " " : $0 }) }
}
