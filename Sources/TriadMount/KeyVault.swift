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

    struct State {
        var access: ZoneAccess?
        var recipients: [any Recipient] = []
        var recipientsMadeAt: time_t = 0
    }

    /// Recipients are rebuilt after this many seconds (per-run objects rotate, §1.3).
    static let recipientLifetime: time_t = 3600

    init(access: ZoneAccess) throws {
        zoneID = access.zone.policy.zoneID
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
        try state.withLock { s in
            guard s.access == nil else { throw MountError.unlock(reason: "the mount is not locked; nothing to unlock") }
            s.access = access
            s.recipients = recipients
            s.recipientsMadeAt = time(nil)
        }
    }

    /// True until `wipe()`.
    var isOpen: Bool { state.withLock { $0.access != nil } }

    /// The identities that open files (zone slots of every epoch held); nil once wiped.
    var identities: [any Identity]? { state.withLock { $0.access?.identities } }

    /// Recipients for a new file, rebuilt once an hour; nil once wiped.
    func recipients() throws -> [any Recipient]? {
        try state.withLock { s in
            guard let access = s.access else { return nil }
            if time(nil) - s.recipientsMadeAt > Self.recipientLifetime {
                s.recipients = try access.recipients()
                s.recipientsMadeAt = time(nil)
            }
            return s.recipients
        }
    }

    /// Zeroises every zone key in place and forgets the access.
    func wipe() {
        state.withLock { s in
            if let access = s.access {
                for key in access.zoneKeys.values { Self.zeroise(key) }
            }
            s.access = nil
            s.recipients = []
        }
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
