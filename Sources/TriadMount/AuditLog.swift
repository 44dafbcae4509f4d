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

    /// Records are built byte by byte: one per open, so in `md5sum` of a tree (and in every
    /// create of an untar) their formatting was a fifth of the daemon's time in `create`
    /// when it went through `String` concatenation per character (docs/mount.md §9).
    private static func jsonLine(_ fields: [(String, String)]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        out.append(UInt8(ascii: "{"))
        for (i, (key, value)) in fields.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: key.utf8)
            out.append(contentsOf: "\":".utf8)
            if key == "uid" || key == "lost" { out.append(contentsOf: value.utf8) } else { appendJSONString(value, to: &out) }
        }
        out.append(contentsOf: "}\n".utf8)
        return String(decoding: out, as: UTF8.self)
    }

    /// RFC 5424: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] MSG`, facility 13
    /// (log audit), severity 5 (notice) or 4 (warning).
    private func syslogMessage(fields: [(String, String)], time: String, ok: Bool) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        out.append(contentsOf: "<\(13 * 8 + (ok ? 5 : 4))>1 \(time) \(hostname) triad-mount \(pid) AUDIT [audit@32473".utf8)
        var op = "", path = "", result = ""
        for (key, value) in fields {
            switch key {
            case "time": continue
            case "op": op = value
            case "path": path = value
            case "result": result = value
            default: break
            }
            out.append(UInt8(ascii: " "))
            out.append(contentsOf: key.utf8)
            out.append(contentsOf: "=\"".utf8)
            Self.appendSDValue(value, to: &out)
            out.append(UInt8(ascii: "\""))
        }
        out.append(contentsOf: "] \(op) \(path) \(result)".utf8)
        return String(decoding: out, as: UTF8.self)
    }

    static func timestamp(_ date: Date) -> String {
        let t = date.timeIntervalSince1970
        var seconds = time_t(t)
        let micros = Int32((t - Double(seconds)) * 1_000_000)
        var tmValue = tm()
        gmtime_r(&seconds, &tmValue)
        // Digits by hand: Foundation's String(format:) was a tenth of the daemon's CPU time in
        // `md5sum` of a tree (one record per open, docs/mount.md §9).
        var out = [UInt8](repeating: 0, count: 27)   // YYYY-MM-DDTHH:MM:SS.ffffffZ
        func put(_ value: Int32, _ width: Int, at start: Int, then separator: Character?) {
            var v = value
            for i in stride(from: start + width - 1, through: start, by: -1) {
                out[i] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
            }
            if let separator { out[start + width] = separator.asciiValue! }
        }
        put(tmValue.tm_year + 1900, 4, at: 0, then: "-")
        put(tmValue.tm_mon + 1, 2, at: 5, then: "-")
        put(tmValue.tm_mday, 2, at: 8, then: "T")
        put(tmValue.tm_hour, 2, at: 11, then: ":")
        put(tmValue.tm_min, 2, at: 14, then: ":")
        put(tmValue.tm_sec, 2, at: 17, then: ".")
        put(micros, 6, at: 20, then: "Z")
        return String(decoding: out, as: UTF8.self)
    }

    /// RFC 5424 §6.3.3: `"`, `\` and `]` are escaped in PARAM-VALUE.
    private static func appendSDValue(_ s: String, to out: inout [UInt8]) {
        for b in s.utf8 {
            if b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") || b == UInt8(ascii: "]") { out.append(UInt8(ascii: "\\")) }
            out.append(b)
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// RFC 8259 §7: a JSON string. The bytes of a Swift string are valid UTF-8 and every
    /// scalar below U+0020 is one byte, so escaping byte by byte is escaping scalar by scalar.
    private static func appendJSONString(_ s: String, to out: inout [UInt8]) {
        let backslash = UInt8(ascii: "\\")
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""), backslash: out.append(backslash); out.append(b)
            case UInt8(ascii: "\n"): out.append(backslash); out.append(UInt8(ascii: "n"))
            case UInt8(ascii: "\r"): out.append(backslash); out.append(UInt8(ascii: "r"))
            case UInt8(ascii: "\t"): out.append(backslash); out.append(UInt8(ascii: "t"))
            case 0..<0x20:
                out.append(contentsOf: "\\u00".utf8)
                out.append(hexDigits[Int(b >> 4)])
                out.append(hexDigits[Int(b & 15)])
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
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
