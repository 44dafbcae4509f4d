#if canImport(Glibc)
import Glibc
#endif
import TriadZone

/// Notices a policy published after the mount (docs/mount.md §2.1): a revocation, a grant, a
/// recovery certificate added or retired. Without it a daemon mounted before `zone revoke`
/// would go on making new files for the epoch the revoked member holds, and files written
/// after a recovery-key rotation would lack the new recovery slot.
///
/// Cheap enough for every create and open: `.zone/` is looked at (one `stat`) at most once a
/// second, and only when its change time moved — a new version is published by link(2) into
/// it (docs/zone.md §4) — is the zone opened again through every trust check of `Zone.open`.
final class PolicyWatch: @unchecked Sendable {
    /// What a look at `.zone/` found.
    enum Change {
        /// Nothing new since the last look (or the last look was under a second ago).
        case none
        /// `.zone/` changed and the zone opens, at the version the mount already has.
        case verified
        /// A newer policy, verified like any `Zone.open`.
        case newer(Zone)
        /// `.zone/` changed but the zone no longer opens: a bad or rolled-back version, or the
        /// trust file says no. The daemon fails closed until the next change.
        case unverifiable(String)
    }

    /// Audit operations (docs/mount.md §8): a newer policy taken in; the member revoked (the
    /// mount's access ended); an epoch whose key the mount lacks (no new file until `zone
    /// unlock` or a new mount); a policy that does not verify (no new file until it does).
    static let taken = "policy-newer", revoked = "policy-revoked", epochMissing = "policy-epoch-missing",
               unverifiable = "policy-unverifiable"

    private let root: String
    private let context: ZoneContext
    private var version: UInt64
    private var lookedAt: Double = 0
    private var stamp: (Int, Int) = (0, 0)

    /// Watches the zone at `root`, mounted at policy `version`, reopened with `context`.
    init(root: String, context: ZoneContext, version: UInt64) {
        self.root = root
        self.context = context
        self.version = version
        stamp = Self.changeTime(root)
    }

    /// Looks at `.zone/`; the caller serialises calls (the vault's lock).
    func look(now: Double) -> Change {
        guard now - lookedAt >= 1 else { return .none }
        lookedAt = now
        let seen = Self.changeTime(root)
        guard seen != stamp else { return .none }
        stamp = seen
        do {
            let zone = try Zone.open(root: root, context: context)
            guard zone.policy.version > version else { return .verified }
            version = zone.policy.version
            return .newer(zone)
        } catch {
            return .unverifiable("\(error)")
        }
    }

    /// `.zone/`'s change time in nanoseconds, and its modification time (seconds): either moves
    /// when a file is linked into it.
    static func changeTime(_ root: String) -> (Int, Int) {
        var info = stat()
        guard stat(root + "/.zone", &info) == 0 else { return (-1, -1) }
        return (info.st_ctim.tv_sec * 1_000_000_000 + info.st_ctim.tv_nsec, info.st_mtim.tv_sec)
    }
}
