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
    private let jsonFD: Int32?
    private let syslogFD: Int32
    private let syslogPath: String
    private let hostname: String
    /// PROCID of the records: this daemon's pid, read once (it never forks after mounting).
    private let pid = getpid()
    private let lock = Mutex<Void>(())

    init(subject: String, fingerprint: [UInt8], zoneID: [UInt8], auditFile: String?, syslogSocket: String) throws {
        uid = getuid()
        self.subject = subject
        self.fingerprint = Hex.encode(fingerprint)
        self.zoneID = Hex.encode(zoneID)
        if let auditFile {
            let fd = open(auditFile, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw MountError.audit(path: auditFile, errno: errno) }
            jsonFD = fd
        } else {
            jsonFD = nil
        }
        syslogFD = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        syslogPath = syslogSocket
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, 255)
        let host = String(cString: name)
        hostname = host.isEmpty ? "-" : host
    }

    deinit {
        if let jsonFD { close(jsonFD) }
        if syslogFD >= 0 { close(syslogFD) }
    }

    func record(_ r: AuditRecord) {
        let now = Date()
        let time = Self.timestamp(now)
        let result = r.result == 0 ? "ok" : Self.errnoName(r.result)
        let fileID = r.fileID.map(Hex.encode) ?? ""
        var fields: [(String, String)] = [("time", time), ("uid", String(uid)), ("subject", subject), ("fingerprint", fingerprint),
                                          ("zone", zoneID), ("path", r.path), ("file_id", fileID), ("op", r.operation),
                                          ("result", result)]
        if let target = r.target { fields.append(("to", target)) }
        lock.withLock { _ in
            if let jsonFD {
                let line = "{" + fields.map { "\"\($0.0)\":" + ($0.0 == "uid" ? $0.1 : Self.jsonString($0.1)) }.joined(separator: ",") + "}\n"
                _ = line.withCString { write(jsonFD, $0, strlen($0)) }
            }
            sendSyslog(fields: fields, time: time, ok: r.result == 0)
        }
    }

    /// RFC 5424: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] MSG`, facility 13
    /// (log audit), severity 5 (notice) or 4 (warning).
    private func sendSyslog(fields: [(String, String)], time: String, ok: Bool) {
        guard syslogFD >= 0 else { return }
        let pri = 13 * 8 + (ok ? 5 : 4)
        let sd = "[audit@32473 " + fields.filter { $0.0 != "time" }.map { "\($0.0)=\"\(Self.sdEscape($0.1))\"" }
            .joined(separator: " ") + "]"
        let op = fields.first { $0.0 == "op" }?.1 ?? ""
        let path = fields.first { $0.0 == "path" }?.1 ?? ""
        let result = fields.first { $0.0 == "result" }?.1 ?? ""
        let message = "<\(pri)>1 \(time) \(hostname) triad-mount \(pid) AUDIT \(sd) \(op) \(path) \(result)"
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { dst in
            let bytes = Array(syslogPath.utf8.prefix(dst.count - 1))
            for (i, b) in bytes.enumerated() { dst[i] = b }
        }
        _ = message.withCString { text in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(syslogFD, text, strlen(text), Int32(MSG_DONTWAIT), $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
        }
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
        default: return "E\(e)"
        }
    }
}
