import Foundation
import TriadCrypto

/// The quarterly drill's report (docs/recovery.md §6): pass/fail per factor, the
/// card's retry counter, certificate expiry dates and recovery-slot coverage of the
/// given zones. It is printable (`text`) and goes into the transcript as JSON (`json`).
public struct DrillReport: Codable, Equatable {
    /// A factor's result; NOT REACHED when an earlier factor failed and the drill stopped.
    public enum Result: String, Codable { case pass = "PASS", fail = "FAIL", notReached = "NOT REACHED" }

    /// One factor's line of the report.
    public struct Factor: Codable, Equatable {
        /// One of `factorNames`.
        public var name: String
        /// Whether the factor was shown to work.
        public var result: Result
        /// What was checked, or what failed and what to do.
        public var detail: String
    }

    /// A certificate's expiry: the drill fails before a recovery certificate runs out (docs/recovery.md §6).
    public struct Expiry: Codable, Equatable {
        /// Which certificate (recovery certificate, a card's 9D certificate).
        public var what: String
        /// Its SHA-256, hex.
        public var fingerprint: String
        /// Its notAfter, ISO 8601.
        public var notAfter: String
        /// Days until then (negative when past).
        public var daysLeft: Int
        /// True when it has expired.
        public var expired: Bool
    }

    /// How many of a zone's encrypted files carry a recovery slot for the current certificate.
    public struct ZoneCoverage: Codable, Equatable {
        /// The zone folder.
        public var zone: String
        /// Encrypted files found.
        public var encrypted: Int
        /// Of those, files the recovery key opens.
        public var covered: Int
        /// Coverage of `zone`.
        public init(zone: String, encrypted: Int, covered: Int) { self.zone = zone; self.encrypted = encrypted; self.covered = covered }
    }

    /// The factors in `factorNames` order.
    public var factors: [Factor] = []
    /// The recovery card's serial, when it was read.
    public var cardSerial: UInt32?
    /// PIN tries left on the card: a counter that fell between drills means someone tried the PIN.
    public var pinTriesLeft: Int?
    /// Expiry dates of the certificates recovery depends on.
    public var expiries: [Expiry] = []
    /// Recovery-slot coverage of each zone given.
    public var coverage: [ZoneCoverage] = []
    /// When the drill ran.
    public var date: String = ISO8601DateFormatter().string(from: Date())
    /// The ceremony that made this report (its transcript proves every line).
    public var ceremonyID: String?
    /// A practice run's report says so on its first line (docs/ceremony.md §1 "Practice runs").
    public var practice: Bool?

    /// An empty report dated now; `set` records each factor as the drill reaches it.
    public init() {}

    /// The four factors a drill proves, in the order it checks them.
    public static let factorNames = ["blob intact", "card present and matching", "PIN known", "canary recovered"]

    /// Records the result of factor `name`.
    public mutating func set(_ name: String, _ result: Result, _ detail: String) {
        if let i = factors.firstIndex(where: { $0.name == name }) { factors[i] = Factor(name: name, result: result, detail: detail) }
        else { factors.append(Factor(name: name, result: result, detail: detail)) }
    }

    /// Adds `cert`'s expiry as of `now`.
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

    /// The printable report.
    public var text: String {
        var lines = ["\(practice == true ? "PRACTICE — NOT A PRODUCTION DRILL — " : "")TRIAD RECOVERY DRILL REPORT — \(date)"]
        if let ceremonyID { lines.append("Ceremony: \(ceremonyID) (the transcript of this ceremony proves this report)") }
        lines.append("")
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

    /// The report as canonical JSON for the transcript.
    public func json() throws -> [UInt8] {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted]
        return Array(try e.encode(self))
    }
}
