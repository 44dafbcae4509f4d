#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import TriadCrypto
import TriadFormat
import TriadZone

/// The keys a mount holds (docs/mount.md §2): the member's zone keys of every epoch, kept in
/// locked memory, and the recipients for new files. `wipe()` zeroises every zone key in place
/// — all copies share one buffer (`SecureBytes` is copy-on-write), so the identities and
/// recipients built from them go dead at the same instant — and from then on nothing opens.
final class KeyVault: @unchecked Sendable {
    private let state = Mutex<State>(State())
    let zoneID: [UInt8]
    /// Looks for policies published after the mount (§2.1); nil: never (tests of the vault alone).
    private let watch: PolicyWatch?
    /// The member's certificate: a policy that no longer lists it ends the mount's access.
    private let member: Certificate?
    /// New files' headers made ahead for the current recipients.
    private let pool: HeaderPool
    /// Told what a newer policy did to the mount (audit and system log), outside the lock.
    var notice: (String, Int32) -> Void = { _, _ in }

    struct State {
        var access: ZoneAccess?
        /// Every assignment numbers them anew: a header made ahead for other recipients is
        /// never used (`HeaderPool`).
        var recipients: [any Recipient] = [] { didSet { generation &+= 1 } }
        var generation: UInt64 = 0
        var recipientsMadeAt: time_t = 0
        /// Set when the zone moved to an epoch whose key this mount lacks (a revocation after
        /// the mount): no new file is made until `zone unlock` or a new mount brings the key.
        var missingEpoch: UInt32?
        /// Set while `.zone/` holds a policy that does not verify: nothing new is made.
        var unverifiable: String?
    }

    /// Recipients are rebuilt after this many seconds (per-run objects rotate, §1.3).
    static let recipientLifetime: time_t = 3600

    init(access: ZoneAccess, member: Certificate? = nil, watch: PolicyWatch? = nil) throws {
        zoneID = access.zone.policy.zoneID
        pool = HeaderPool(zoneID: zoneID)
        self.member = member
        self.watch = watch
        let recipients = try access.recipients()
        for key in access.zoneKeys.values { Self.lock(key) }
        state.withLock {
            $0.access = access
            $0.recipients = recipients
            $0.recipientsMadeAt = time(nil)
        }
    }

    /// Takes the keys of a fresh unlock after the card came back (docs/mount.md §7); the zone
    /// must be this mount's zone. Throws if the keys are held already.
    func reopen(access: ZoneAccess) throws {
        guard access.zone.policy.zoneID == zoneID else { throw MountError.unlock(reason: "the card unlocked another zone") }
        let recipients = try access.recipients()
        for key in access.zoneKeys.values { Self.lock(key) }
        let old: ZoneAccess? = try state.withLock { s in
            guard s.access == nil || s.missingEpoch != nil else {
                throw MountError.unlock(reason: "the mount is not locked; nothing to unlock")
            }
            let old = s.access
            s.access = access
            s.recipients = recipients
            s.recipientsMadeAt = time(nil)
            s.missingEpoch = nil
            return old
        }
        // The keys held before (a mount that lacked a newer epoch) are replaced, not kept twice.
        if let old { for key in old.zoneKeys.values { Self.zeroise(key) } }
    }

    /// True until `wipe()`.
    var isOpen: Bool { state.withLock { $0.access != nil } }

    /// True when `zone unlock` has something to do: the keys are gone (the card left) or the
    /// zone moved to an epoch the mount lacks.
    var needsUnlock: Bool { state.withLock { $0.access == nil || $0.missingEpoch != nil } }

    /// The identities that open files (zone slots of every epoch held); nil once wiped.
    var identities: [any Identity]? {
        refresh()
        return state.withLock { $0.access?.identities }
    }

    /// Recipients for a new file, rebuilt once an hour and for every newer policy; nil once
    /// wiped, after a revocation of the member, while the mount lacks the newest epoch's key or
    /// while `.zone/` holds a policy that does not verify.
    func recipients() throws -> [any Recipient]? {
        try numberedRecipients()?.recipients
    }

    /// `recipients()` with their generation.
    private func numberedRecipients() throws -> (recipients: [any Recipient], generation: UInt64)? {
        refresh()
        return try state.withLock { s in
            guard let access = s.access, s.missingEpoch == nil, s.unverifiable == nil else { return nil }
            if time(nil) - s.recipientsMadeAt > Self.recipientLifetime {
                s.recipients = try access.recipients()
                s.recipientsMadeAt = time(nil)
            }
            return (s.recipients, s.generation)
        }
    }

    /// A new file's header and file key for the current recipients (nil when `recipients()`
    /// is): one made ahead for exactly these recipients if the pool has it ready, else made now.
    func newFileHeader() throws -> (header: FileHeader, fileKey: SecureBytes)? {
        guard let (recipients, generation) = try numberedRecipients() else { return nil }
        if let made = pool.take(generation: generation, recipients: recipients) { return (made.header, made.fileKey) }
        return try MutableFile.makeHeader(zoneID: zoneID, recipients: recipients)
    }

    /// Takes in a policy published since the last look (§2.1).
    private func refresh() {
        guard let watch else { return }
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let said: (String, Int32)? = state.withLock { s in
            guard let access = s.access else { return nil }
            switch watch.look(now: Double(now.tv_sec) + Double(now.tv_nsec) / 1e9) {
            case .none:
                return nil
            case .verified:
                s.unverifiable = nil
                return nil
            case .unverifiable(let reason):
                s.unverifiable = reason
                return (PolicyWatch.unverifiable, EACCES)
            case .newer(let zone):
                s.unverifiable = nil
                let policy = zone.policy
                if let member, policy.isMember(member.publicKey) == nil {
                    // Revoked: the mount's access ends now, as when the card leaves.
                    for key in access.zoneKeys.values { Self.zeroise(key) }
                    s.access = nil
                    s.recipients = []
                    return (PolicyWatch.revoked, EACCES)
                }
                let updated = access.updating(to: zone)
                s.access = updated
                if updated.zoneKeys[policy.currentEpoch] == nil {
                    s.missingEpoch = policy.currentEpoch
                    s.recipients = []
                    return (PolicyWatch.epochMissing, EACCES)
                }
                s.missingEpoch = nil
                s.recipients = (try? updated.recipients()) ?? []
                s.recipientsMadeAt = time(nil)
                if s.recipients.isEmpty { s.unverifiable = "the recipients of the new policy could not be made" }
                return (PolicyWatch.taken, 0)
            }
        }
        if let said { notice(said.0, said.1) }
    }

    /// Zeroises every zone key in place and forgets the access.
    func wipe() {
        state.withLock { s in
            if let access = s.access {
                for key in access.zoneKeys.values { Self.zeroise(key) }
            }
            s.access = nil
            s.recipients = []
            s.missingEpoch = nil
        }
        pool.clear()
    }

    /// Locks the pages of a key in memory and keeps them out of core dumps.
    private static func lock(_ key: SecureBytes) {
        key.withUnsafeBytes { raw in
            guard let base = raw.baseAddress, raw.count > 0 else { return }
            let page = Int(sysconf(Int32(_SC_PAGESIZE)))
            let start = UnsafeMutableRawPointer(mutating: base - (Int(bitPattern: base) % page))
            let length = (base + raw.count) - UnsafeRawPointer(start)
            mlock(start, length)
            madvise(start, (length + page - 1) / page * page, MADV_DONTDUMP)
        }
    }

    /// Overwrites the shared storage of `key` (every copy sees zeros).
    static func zeroise(_ key: SecureBytes) {
        key.withUnsafeBytes { raw in
            guard let base = raw.baseAddress, raw.count > 0 else { return }
            explicit_bzero(UnsafeMutableRawPointer(mutating: base), raw.count)
        }
    }
}
