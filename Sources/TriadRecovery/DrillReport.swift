import Foundation
import TriadCrypto

/// The quarterly drill's report (docs/recovery.md §6): pass/fail per factor, the
/// card's retry counter, certificate expiry dates and recovery-slot coverage of the
/// given zones. It is printable (`text`) and goes into the transcript as JSON (`json`).
public struct DrillReport: Codable, Equatable {
    public enum Result: String, Codable { case pass = "PASS", fail = "FAIL", notReached = "NOT REACHED" }

    public struct Factor: Codable, Equatable {
        public var name: String
        public var result: Result
        public var detail: String
    }

    public struct Expiry: Codable, Equatable {
        public var what: String
        public var fingerprint: String
        public var notAfter: String
        public var daysLeft: Int
        public var expired: Bool
    }

    public struct ZoneCoverage: Codable, Equatable {
        public var zone: String
        public var encrypted: Int
        public var covered: Int
        public init(zone: String, encrypted: Int, covered: Int) { self.zone = zone; self.encrypted = encrypted; self.covered = covered }
    }

    public var factors: [Factor] = []
    public var cardSerial: UInt32?
    public var pinTriesLeft: Int?
    public var expiries: [Expiry] = []
    public var coverage: [ZoneCoverage] = []
    public var date: String = ISO8601DateFormatter().string(from: Date())

    public init() {}

    public static let factorNames = ["blob intact", "card present and matching", "PIN known", "canary recovered"]

    public mutating func set(_ name: String, _ result: Result, _ detail: String) {
        if let i = factors.firstIndex(where: { $0.name == name }) { factors[i] = Factor(name: name, result: result, detail: detail) }
        else { factors.append(Factor(name: name, result: result, detail: detail)) }
    }

    public mutating func addExpiry(_ what: String, _ cert: Certificate, now: Date = Date()) {
        let days = Int(floor(cert.notAfter.timeIntervalSince(now) / 86_400))
        expiries.append(Expiry(what: what, fingerprint: Hex.encode(cert.fingerprint),
                               notAfter: ISO8601DateFormatter().string(from: cert.notAfter),
                               daysLeft: days, expired: cert.notAfter < now))
    }

    /// True for the recovery certificate when it expires before the drill after next could
    /// catch it (`CertificatePolicy.expiryWarningDays`, docs/zone.md §2a): rotate it now.
    public static func expiresTooSoon(_ e: Expiry) -> Bool {
        e.what == "recovery certificate" && e.daysLeft < CertificatePolicy.expiryWarningDays
    }

    /// The drill passes only if every factor passed, no certificate expired, the recovery
    /// certificate does not expire within `CertificatePolicy.expiryWarningDays`, the card is
    /// not blocked and every zone given is fully covered.
    public var passed: Bool {
        Self.factorNames.allSatisfy { n in factors.contains { $0.name == n && $0.result == .pass } }
            && !expiries.contains { $0.expired || Self.expiresTooSoon($0) }
            && (pinTriesLeft ?? 1) > 0
            && coverage.allSatisfy { $0.encrypted == $0.covered }
    }

    public var text: String {
        var lines = ["TRIAD RECOVERY DRILL REPORT — \(date)", ""]
        for name in Self.factorNames {
            let f = factors.first { $0.name == name } ?? Factor(name: name, result: .notReached, detail: "")
            func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
            lines.append("  " + pad(name, 28) + pad(f.result.rawValue, 12) + f.detail)
        }
        lines.append("")
        lines.append("  card serial: \(cardSerial.map(String.init) ?? "unknown")   PIN tries left: \(pinTriesLeft.map(String.init) ?? "unknown")\(pinTriesLeft == 0 ? "  (BLOCKED)" : "")")
        for e in expiries {
            let warning = !e.expired && Self.expiresTooSoon(e) ? " — EXPIRES WITHIN \(CertificatePolicy.expiryWarningDays) DAYS: rotate the recovery key (docs/recovery.md §5)" : ""
            lines.append("  \(e.what) \(e.fingerprint.prefix(16))… expires \(e.notAfter) (\(e.expired ? "EXPIRED" : "\(e.daysLeft) days left"))\(warning)")
        }
        for c in coverage {
            lines.append("  coverage \(c.zone): \(c.covered) of \(c.encrypted) encrypted files carry a slot for the current recovery certificate")
        }
        lines.append("")
        lines.append("  RESULT: \(passed ? "PASS" : "FAIL")")
        return lines.joined(separator: "\n") + "\n"
    }

    public func json() throws -> [UInt8] {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted]
        return Array(try e.encode(self))
    }
}
