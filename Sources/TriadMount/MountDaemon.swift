#if canImport(Glibc)
import Glibc
#endif
internal import CFUSE
import Foundation
import Synchronization
import TriadCrypto
import TriadPCSC
import TriadZone

/// What to mount and how (docs/mount.md).
public struct MountConfiguration: Sendable {
    /// The zone folder (the backing tree of ciphertext files).
    public var zoneRoot: String
    /// The empty folder the decrypted view appears in.
    public var mountPoint: String
    /// `--read-only`: every write, create, rename and unlink fails with EROFS.
    public var readOnly = false
    /// `--audit FILE`: JSON lines (§8).
    public var auditFile: String?
    /// The local syslog socket for RFC 5424 records (§8).
    public var syslogSocket = MountConfiguration.defaultSyslogSocket
    /// The local syslog socket of systemd-journald and rsyslog.
    public static let defaultSyslogSocket = "/dev/log"
    /// For a `piv:` identity: the reader to watch; the keys go when its card leaves (§7).
    public var cardReader: String?
    /// What happens then: `.lock` keeps the mount and refuses everything; `.unmount` unmounts.
    public var onRemoval: RemovalPolicy = .lock

    /// `--on-removal lock|unmount` (docs/mount.md §7).
    public enum RemovalPolicy: String, Sendable { case lock, unmount }

    /// A read-write mount of `zoneRoot` at `mountPoint`, no audit file, locking on card removal.
    public init(zoneRoot: String, mountPoint: String) {
        self.zoneRoot = zoneRoot
        self.mountPoint = mountPoint
    }
}

/// A mounted zone: the FUSE session and everything the operations need. `init` mounts (so a
/// failure is reported before the caller detaches); `run` serves requests until the mount is
/// unmounted or `stop` is called, then wipes the keys.
public final class MountDaemon: @unchecked Sendable {
    /// What was mounted and how.
    public let configuration: MountConfiguration
    let filesystem: MountFilesystem
    private let fuse: OpaquePointer
    private var arguments: [UnsafeMutablePointer<CChar>?]
    private var mounted = true
    private let watch: ReaderWatch?
    private let stopping = Atomic<Bool>(false)
    /// For `--on-removal lock` with a card: the PIN of `zone unlock` comes in here (§7).
    private var control: ControlServer?
    private let unlocker: Unlocker?
    private let unlocked = DispatchSemaphore(value: 0)
    private let memberFingerprint: [UInt8]

    /// Verifies a PIN on the card that came back and unwraps the zone keys again: fresh access
    /// and the member's certificate (which must be the one that mounted). Made by the CLI,
    /// which knows the identity (docs/mount.md §7); the PIN is wiped by the caller.
    public typealias Unlocker = @Sendable (SecureBytes) throws -> (ZoneAccess, Certificate)
    /// Set once the card has left (for tests and `zone mounts`).
    public var cardLeft: Bool { filesystem.vault.isOpen == false && watch != nil }

    /// - Parameters:
    ///   - access: the member's zone access (keys unwrapped; `Zone.open` already checked trust).
    ///   - member: the member's certificate, for the audit records.
    ///   - unlocker: for a card mount with `.lock`, how `zone unlock` re-opens the keys; nil
    ///     leaves a locked mount locked until unmounted.
    ///   - context: how the zone was opened (trust file, local state); with it the daemon takes
    ///     in policies published after the mount (§2.1). Nil: the policy of the mount is kept.
    public init(configuration: MountConfiguration, access: ZoneAccess, member: Certificate, unlocker: Unlocker? = nil,
                context: ZoneContext? = nil) throws {
        self.configuration = configuration
        self.unlocker = unlocker
        memberFingerprint = member.fingerprint
        _ = triad_set_nondumpable()
        // One malloc arena: ten worker threads would otherwise grow ten arenas (resident
        // memory per daemon matters with 120 daemons per server, docs/mount.md §9).
        _ = triad_single_malloc_arena()
        let backing = try BackingTree(root: configuration.zoneRoot)
        let policyWatch = context.map { PolicyWatch(root: configuration.zoneRoot, context: $0, version: access.zone.policy.version) }
        let vault = try KeyVault(access: access, member: member, watch: policyWatch)
        let audit = try AuditLog(subject: member.subject, fingerprint: member.fingerprint, zoneID: access.zone.policy.zoneID,
                                 auditFile: configuration.auditFile, syslogSocket: configuration.syslogSocket)
        filesystem = MountFilesystem(backing: backing, vault: vault, audit: audit, readOnly: configuration.readOnly)
        let filesystem = filesystem
        vault.notice = { operation, result in
            filesystem.audit?.record(AuditRecord(path: ".zone", fileID: nil, operation: operation, result: result))
            guard operation == PolicyWatch.revoked else { return }
            // As when the card leaves: files open now stop working too (not from this request's
            // thread, which may be one of those files' own).
            DispatchQueue.global().async { for file in filesystem.allOpenFiles { file.kill() } }
        }
        do {
            watch = try configuration.cardReader.map { try ReaderWatch(reader: $0) }
        } catch {
            vault.wipe()
            throw MountError.fuse(step: "watching the card reader (\(error))")
        }
        if watch != nil, unlocker != nil, configuration.onRemoval == .lock {
            do {
                control = try ControlServer(path: ControlSocket.path(for: configuration.mountPoint))
            } catch {
                vault.wipe()
                throw error
            }
        }

        var options = "default_permissions,fsname=" + configuration.zoneRoot.replacingCommas + ",subtype=triad"
        if configuration.readOnly { options += ",ro" }
        let strings: [String] = ["triad-mount", "-o", options]
        arguments = strings.map { strdup($0) } + [nil]
        var args = triad_fuse_args(Int32(arguments.count - 1), &arguments)
        var ops = FUSEOperations.table()
        guard let f = triad_fuse_new(&args, &ops, Unmanaged.passUnretained(filesystem).toOpaque()) else {
            vault.wipe()
            throw MountError.fuse(step: "fuse_new")
        }
        fuse = f
        guard fuse_mount(f, configuration.mountPoint) == 0 else {
            fuse_destroy(f)
            vault.wipe()
            throw MountError.mountPoint(path: configuration.mountPoint,
                                        reason: "cannot mount here; it must be an empty folder you own that is not already a mount")
        }
    }

    deinit {
        for a in arguments { free(a) }
    }

    /// Refuses, before any key or card is touched, a mount whose audit records would reach no
    /// one: nothing receives at `syslogSocket` and no audit file (docs/mount.md §8.1). The
    /// daemon checks again when it starts (`AuditLog`).
    public static func requireAuditSink(auditFile: String?, syslogSocket: String) throws {
        _ = try AuditLog.requireSink(auditFile: auditFile, syslogSocket: syslogSocket)
    }

    /// The reader a `piv:` identity was opened in: the first whose name contains `substring`
    /// and that holds a card now (the order `piv:` itself uses).
    public static func cardReader(matching substring: String?) -> String? {
        try? ReaderWatch.readerHoldingCard(matching: substring)
    }

    /// Serves requests on up to 10 libfuse worker threads until unmounted (or SIGTERM,
    /// SIGINT, SIGHUP), then commits what is pending, unmounts and wipes the keys.
    public func run() {
        let session = fuse_get_session(fuse)
        fuse_set_signal_handlers(session)
        var watcher: Thread?
        if let watch {
            let thread = Thread { [self] in watchCard(watch) }
            thread.start()
            watcher = thread
        }
        control?.start { [self] pin in unlock(pin: pin) }
        filesystem.checkpointer.start()
        // Mounted: the code only the set-up ran goes back (docs/mount.md §9, memory).
        _ = triad_page_out_mapped_files()
        _ = triad_fuse_loop_mt(fuse, 10)
        stopping.store(true, ordering: .relaxed)
        filesystem.checkpointer.stop()
        fuse_remove_signal_handlers(session)
        control?.stop()
        shutdown()
        filesystem.audit?.finish()
        // The watcher waits in pcscd without a timeout: cancel until it has returned.
        while watcher?.isFinished == false {
            watch?.cancel()
            usleep(20_000)
        }
    }

    /// Undoes a mount that will never be served because a later start-up step failed (the
    /// mount record could not be written): unmounts, wipes the keys.
    public func abandon() {
        control?.stop()
        shutdown()
    }

    /// Asks the loop to stop (from any thread).
    public func stop() {
        fuse_exit(fuse)
    }

    /// Watches the card: at each removal the keys go; a locked mount then waits for
    /// `zone unlock` and watches the card again (§7).
    private func watchCard(_ watch: ReaderWatch) {
        let stop = { self.stopping.load(ordering: .relaxed) }
        while !stop() {
            let removed = (try? watch.waitForRemoval(shouldStop: stop)) ?? true
            guard removed, !stop() else { return }
            cardRemoved()
            guard configuration.onRemoval == .lock, control != nil else { return }
            while !stop() && unlocked.wait(timeout: .now() + .milliseconds(250)) == .timedOut {}
        }
    }

    /// `zone unlock`: the PIN is verified on the card that came back and the zone keys are
    /// unwrapped again into locked memory; nil when unlocked, else the reason (§7).
    func unlock(pin: SecureBytes) -> String? {
        guard let unlocker else { return "this mount cannot be unlocked; mount it again" }
        guard filesystem.vault.needsUnlock else { return "the mount is not locked; nothing to unlock" }
        let cardHadLeft = !filesystem.vault.isOpen
        do {
            let (access, member) = try unlocker(pin)
            guard member.fingerprint == memberFingerprint else {
                throw MountError.unlock(reason: "the card in the reader is not the card that mounted the zone (\(member.subject)); insert that card")
            }
            try filesystem.vault.reopen(access: access)
            filesystem.audit?.record(AuditRecord(path: "", fileID: nil, operation: "unlock", result: 0))
            // The card watcher waits for this only after a removal; an unlock that brought a
            // newer epoch's key (the card never left) must not wake a later wait.
            if cardHadLeft { unlocked.signal() }
            return nil
        } catch {
            filesystem.audit?.record(AuditRecord(path: "", fileID: nil, operation: "unlock", result: EACCES))
            return "\(error)"
        }
    }

    /// The card left (docs/mount.md §7): keys wiped first, then every open file's keys and
    /// pending plaintext, then the kernel's cached pages of those files; then lock or unmount.
    func cardRemoved() {
        filesystem.vault.wipe()
        let files = filesystem.allOpenFiles
        for file in files { file.kill() }
        for file in files {
            if let path = file.path { _ = fuse_invalidate_path(fuse, "/" + path) }
        }
        filesystem.audit?.record(AuditRecord(path: "", fileID: nil, operation: "card-removed", result: 0))
        if configuration.onRemoval == .unmount {
            stopping.store(true, ordering: .relaxed)
            fuse_exit(fuse)
            if (try? MountTable.unmount(configuration.mountPoint)) == nil { _ = umount2(configuration.mountPoint, Int32(MNT_DETACH)) }
            mounted = false
        }
    }

    private func shutdown() {
        if mounted {
            fuse_unmount(fuse)
            mounted = false
        }
        filesystem.vault.wipe()
        for file in filesystem.allOpenFiles { file.kill() }
        fuse_destroy(fuse)
    }
}

extension String {
    /// libfuse's option parser splits on commas; a comma inside a value is written "\,".
    var replacingCommas: String { replacingOccurrences(of: ",", with: "\\,") }
    private func replacingOccurrences(of a: String, with b: String) -> String {
        split(separator: Character(a), omittingEmptySubsequences: false).joined(separator: b)
    }
}
