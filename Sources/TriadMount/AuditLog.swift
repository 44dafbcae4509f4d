#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization
import TriadCrypto

/// One audit record (docs/mount.md §8).
struct AuditRecord {
    var path: String
    var fileID: [UInt8]?
    var operation: String
    var result: Int32          // 0 or an errno
    var target: String? = nil  // rename destination
}

/// Emits one record per open, create, unlink and rename (docs/mount.md §8): RFC 5424 to the
/// local syslog socket, and JSON lines to `--audit FILE`. Who and where are fixed per mount.
final class AuditLog: @unchecked Sendable {
    let uid: uid_t
    let subject: String
    let fingerprint: String
    let zoneID: String
    private let file: AuditFileSink?
    private let syslog: SyslogSink
    private let hostname: String
    /// PROCID of the records: this daemon's pid, read once (it never forks after mounting).
    private let pid = getpid()
    private let lock = Mutex<Void>(())

    /// Refuses a mount whose records would reach no one (docs/mount.md §8.1): nothing receives
    /// datagrams at `syslogSocket` and no `--audit FILE` was given. Returns the probe's result
    /// (0, or why nothing receives there).
    static func requireSink(auditFile: String?, syslogSocket: String) throws -> Int32 {
        let reach = SyslogSink.probe(syslogSocket)
        if reach != 0, auditFile == nil { throw MountError.noAuditSink(socket: syslogSocket, errno: reach) }
        return reach
    }

    /// Refused as `requireSink` says.
    init(subject: String, fingerprint: [UInt8], zoneID: [UInt8], auditFile: String?, syslogSocket: String) throws {
        uid = getuid()
        self.subject = subject
        self.fingerprint = Hex.encode(fingerprint)
        self.zoneID = Hex.encode(zoneID)
        let reach = try Self.requireSink(auditFile: auditFile, syslogSocket: syslogSocket)
        file = try auditFile.map { try AuditFileSink(path: $0) }
        if reach != 0, let file {
            Self.say("warning: nothing receives audit records at \(syslogSocket) (\(String(cString: strerror(reach)))); "
                           + "they go to \(file.path), and an audit-lost record tells \(syslogSocket) their count once it takes records")
        }
        syslog = SyslogSink(path: syslogSocket, unreachable: reach == 0 ? nil : reach, since: Self.timestamp(Date()))
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, 255)
        let host = String(cString: name)
        hostname = host.isEmpty ? "-" : host
    }

    func record(_ r: AuditRecord) {
        let now = Date()
        let time = Self.timestamp(now)
        let result = r.result == 0 ? "ok" : Self.errnoName(r.result)
        let fileID = r.fileID.map(Hex.encode) ?? ""
        var fields = who(time: time) + [("path", r.path), ("file_id", fileID), ("op", r.operation), ("result", result)]
        if let target = r.target { fields.append(("to", target)) }
        lock.withLock { _ in
            if let file {
                _ = file.send(Self.jsonLine(fields), time: time) { Self.jsonLine(self.lostFields($0, time: time)) }
            }
            _ = syslog.send(syslogMessage(fields: fields, time: time, ok: r.result == 0), time: time) {
                self.syslogMessage(fields: self.lostFields($0, time: time), time: time, ok: false)
            }
        }
    }

    /// At unmount: records a sink missed and that were not reported yet are reported now if
    /// it takes records again (§8.1).
    func finish() {
        let time = Self.timestamp(Date())
        lock.withLock { _ in
            file?.settle { Self.jsonLine(self.lostFields($0, time: time)) }
            syslog.settle { self.syslogMessage(fields: self.lostFields($0, time: time), time: time, ok: false) }
        }
    }

    /// A line on the daemon's standard error (the journal, under the systemd unit).
    static func say(_ message: String) {
        let line = "zone mount: " + message + "\n"
        _ = line.withCString { write(STDERR_FILENO, $0, strlen($0)) }
    }

    /// The `audit-lost` record (§8.1): who and where as every record, the count and since when.
    private func lostFields(_ loss: AuditLoss, time: String) -> [(String, String)] {
        who(time: time) + [("path", ""), ("file_id", ""), ("op", "audit-lost"), ("result", Self.errnoName(loss.reason)),
                           ("lost", String(loss.count)), ("since", loss.since)]
    }

    /// When and who, the first fields of every record (§8).
    private func who(time: String) -> [(String, String)] {
        [("time", time), ("uid", String(uid)), ("subject", subject), ("fingerprint", fingerprint), ("zone", zoneID)]
    }

    private static func jsonLine(_ fields: [(String, String)]) -> String {
        "{" + fields.map { "\"\($0.0)\":" + ($0.0 == "uid" || $0.0 == "lost" ? $0.1 : jsonString($0.1)) }.joined(separator: ",") + "}\n"
    }

    /// RFC 5424: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] MSG`, facility 13
    /// (log audit), severity 5 (notice) or 4 (warning).
    private func syslogMessage(fields: [(String, String)], time: String, ok: Bool) -> String {
        let pri = 13 * 8 + (ok ? 5 : 4)
        let sd = "[audit@32473 " + fields.filter { $0.0 != "time" }.map { "\($0.0)=\"\(Self.sdEscape($0.1))\"" }
            .joined(separator: " ") + "]"
        let op = fields.first { $0.0 == "op" }?.1 ?? ""
        let path = fields.first { $0.0 == "path" }?.1 ?? ""
        let result = fields.first { $0.0 == "result" }?.1 ?? ""
        return "<\(pri)>1 \(time) \(hostname) triad-mount \(pid) AUDIT \(sd) \(op) \(path) \(result)"
    }

    static func timestamp(_ date: Date) -> String {
        let t = date.timeIntervalSince1970
        var seconds = time_t(t)
        let micros = Int((t - Double(seconds)) * 1_000_000)
        var tmValue = tm()
        gmtime_r(&seconds, &tmValue)
        // Digits by hand: Foundation's String(format:) was a tenth of the daemon's CPU time in
        // `md5sum` of a tree (one record per open, docs/mount.md §9).
        func digits(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.utf8.count)) + text
        }
        return digits(tmValue.tm_year + 1900, 4) + "-" + digits(tmValue.tm_mon + 1, 2) + "-" + digits(tmValue.tm_mday, 2)
            + "T" + digits(tmValue.tm_hour, 2) + ":" + digits(tmValue.tm_min, 2) + ":" + digits(tmValue.tm_sec, 2)
            + "." + digits(Int32(micros), 6) + "Z"
    }

    /// RFC 5424 §6.3.3: `"`, `\` and `]` are escaped in PARAM-VALUE.
    static func sdEscape(_ s: String) -> String {
        guard s.utf8.contains(where: { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "]") }) else { return s }
        var out = ""
        for c in s {
            if c == "\"" || c == "\\" || c == "]" { out.append("\\") }
            out.append(c)
        }
        return out
    }

    static func jsonString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }

    static func errnoName(_ e: Int32) -> String {
        switch e {
        case EACCES: return "EACCES"
        case EIO: return "EIO"
        case ENOENT: return "ENOENT"
        case EEXIST: return "EEXIST"
        case EPERM: return "EPERM"
        case EROFS: return "EROFS"
        case ENOSPC: return "ENOSPC"
        case EISDIR: return "EISDIR"
        case ENOTDIR: return "ENOTDIR"
        case ENOTEMPTY: return "ENOTEMPTY"
        case EXDEV: return "EXDEV"
        case EINVAL: return "EINVAL"
        case EAGAIN: return "EAGAIN"
        case ECONNREFUSED: return "ECONNREFUSED"
        case ENOBUFS: return "ENOBUFS"
        default: return "E\(e)"
        }
    }
}
