#if canImport(Glibc)
import Glibc
#endif

/// Records a sink could not take since its last delivered one (docs/mount.md §8.1): reported
/// by an `audit-lost` record, the first that sink takes again, so a gap in the central
/// repository shows how many records it lacks and since when.
struct AuditLoss: Equatable {
    var count: Int
    /// Time of the first record lost (RFC 3339, as the records' own `time`).
    var since: String
    /// Why the first one was lost (an errno).
    var reason: Int32
}

/// Where audit records go: the syslog socket, `--audit FILE`. What to do when one cannot take
/// a record is the same for both (docs/mount.md §8.1), so it lives here, once.
protocol AuditSink: AnyObject {
    /// The socket or file, for messages.
    var path: String { get }
    /// Set while records are not taken; guarded by the audit log's lock.
    var loss: AuditLoss? { get set }
    /// Hands `text` over: 0, or the errno. `wait`: whether it may wait for room (a datagram
    /// receiver's queue; a file never waits).
    func deliver(_ text: String, wait: Bool) -> Int32
}

extension AuditSink {
    /// Sends one record: true if the sink took it. In loss nothing waits: `report` (the
    /// `audit-lost` text for the loss so far) goes first, and while it is not taken this record
    /// is not sent either (it would only be lost after it) but counted; once the report is
    /// taken the loss is over and the record goes as usual, waiting for room if it must.
    /// `text` is made only when it is sent: with no syslog socket, every open would otherwise
    /// format an RFC 5424 message nobody takes.
    func send(_ text: @autoclosure () -> String, time: String, report: (AuditLoss) -> String) -> Bool {
        if let current = loss {
            let e = deliver(report(current), wait: false)
            guard e == 0 else { return count(reason: e, time: time) }
            loss = nil
            AuditLog.say("audit records reach \(path) again; \(current.count) were lost since \(current.since) and are reported to it")
        }
        let e = deliver(text(), wait: true)
        return e == 0 ? true : count(reason: e, time: time)
    }

    /// At unmount: a loss not reported yet gets one more try, waiting as an ordinary send
    /// does; one still unreported is said on standard error (the journal, under the unit).
    func settle(report: (AuditLoss) -> String) {
        guard let current = loss, current.count > 0 else { return }
        if deliver(report(current), wait: true) == 0 {
            loss = nil
        } else {
            AuditLog.say("\(current.count) audit records since \(current.since) never reached \(path)")
        }
    }

    private func count(reason: Int32, time: String) -> Bool {
        if loss == nil {
            loss = AuditLoss(count: 0, since: time, reason: reason)
            AuditLog.say("audit records cannot reach \(path) (\(String(cString: strerror(reason)))); they are counted, "
                         + "and the count goes to it in an audit-lost record once it takes records again")
        }
        loss?.count += 1
        return false
    }
}

/// The local syslog socket (RFC 5424 over a Unix datagram socket, `/dev/log`).
///
/// A datagram socket's receiver queues at most `net.unix.max_dgram_qlen` messages (10 by
/// default), so a burst of opens — ten workers, one record each — fills it whenever journald
/// or rsyslog falls behind for a moment. A non-blocking send then fails and the record is gone
/// (until 2026-12-03 that is what happened, silently). So a send waits for room, up to
/// `sendTimeout`: a receiver that is merely slow slows the mount instead of losing records.
/// One that takes nothing for that long (stopped, or gone) puts the sink in *loss*
/// (`AuditSink.send`).
final class SyslogSink: AuditSink {
    let path: String
    private let fd: Int32
    private var address = sockaddr_un()
    var loss: AuditLoss?

    /// How long one send waits for the receiver to take a message before the sink is in loss.
    static let sendTimeout = timeval(tv_sec: 0, tv_usec: 500_000)

    /// - Parameter unreachable: the errno of a failed `probe` at start: the sink starts in
    ///   loss, so the receiver's first record says how many it missed since the mount began.
    init(path: String, unreachable: Int32?, since: String) {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var timeout = Self.sendTimeout
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        address = Self.address(path)
        if let unreachable { loss = AuditLoss(count: 0, since: since, reason: unreachable) }
    }

    deinit { if fd >= 0 { close(fd) } }

    /// 0 when something receives datagrams at `path` now, else the errno (`ENOENT`: no
    /// socket; `ECONNREFUSED`: a socket nobody reads). `connect(2)` on a throwaway socket
    /// sends nothing.
    static func probe(_ path: String) -> Int32 {
        let probe = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard probe >= 0 else { return errno }
        defer { close(probe) }
        var target = address(path)
        let r = withUnsafePointer(to: &target) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(probe, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        return r == 0 ? 0 : errno
    }

    private static func address(_ path: String) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { dst in
            for (i, b) in path.utf8.prefix(dst.count - 1).enumerated() { dst[i] = b }
        }
        return address
    }

    /// 0 or the errno of the send (`EAGAIN` after `sendTimeout` with the receiver's queue full).
    func deliver(_ text: String, wait: Bool) -> Int32 {
        guard fd >= 0 else { return EBADF }
        let sent = text.withCString { bytes in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, bytes, strlen(bytes), wait ? 0 : Int32(MSG_DONTWAIT), $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
        }
        return sent >= 0 ? 0 : errno
    }
}

/// `--audit FILE`: JSON lines, one `write(2)` each, `O_APPEND`.
final class AuditFileSink: AuditSink {
    let path: String
    private let fd: Int32
    var loss: AuditLoss?
    /// The last write was cut short (a full disk): the next line starts on a line of its own.
    private var torn = false

    init(path: String) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw MountError.audit(path: path, errno: errno) }
    }

    deinit { close(fd) }

    /// 0, or the errno (`ENOSPC` for a line cut short, which then counts as not written).
    func deliver(_ line: String, wait: Bool) -> Int32 {
        let text = torn ? "\n" + line : line
        let length = text.utf8.count
        let n = text.withCString { write(fd, $0, length) }
        if n == length {
            torn = false
            return 0
        }
        let e = n < 0 ? errno : ENOSPC
        if n > 0 { torn = true }
        return e
    }
}
