#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import TriadCLI
import TriadCrypto
import TriadMount
import TriadZone

extension ZoneCommand {
    /// `zone mount` (docs/mount.md): checks everything and mounts in the foreground process,
    /// then (without `--foreground`) a detached child serves the mount and this process exits
    /// 0 once the mount is up, or 1 with the child's message.
    struct Mount: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Mount a zone: a private decrypted view of its files for the member whose identity unlocks it (see docs/mount.md).")

        @Argument(help: "The zone folder.") var zone: String
        @Argument(help: "An empty folder to mount on.") var mountPoint: String
        @OptionGroup var identity: IdentityOptions
        @OptionGroup var trust: TrustOptions
        @Flag(name: .customLong("read-only"), help: "Refuse every change through the mount.") var readOnly = false
        @Flag(help: "Stay in the foreground (default: detach once mounted).") var foreground = false
        @Option(help: "Also append the audit records to this file as JSON lines.") var audit: String?
        @Option(name: .customLong("on-removal"), help: "When the card leaves: lock (refuse access until mounted again) or unmount.")
        var onRemoval: RemovalAction = .lock
        @Option(name: .customLong("ready-fd"), help: .hidden) var readyFD: Int32?
        @Option(name: .customLong("syslog-socket"), help: .hidden) var syslogSocket: String?

        func validate() throws {
            var st = stat()
            guard stat(mountPoint, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
                throw ValidationError("\(mountPoint) is not a folder; create an empty folder to mount on")
            }
        }

        func run() throws {
            if !foreground { try detach() }
            let root = try Zone.findRoot(containing: zone)
            guard Zone.absolute(zone) == root else {
                throw CLIError.usage(message: "\(zone) is inside the zone \(root); mount the zone folder itself")
            }
            var daemon: MountDaemon?
            var unlocker: MountDaemon.Unlocker?
            do {
                let context = try trust.context()
                let zoneValue = try Zone.open(root: root, context: context)
                // No audit sink: refused before the key file is read or the card asked for its PIN.
                try MountDaemon.requireAuditSink(auditFile: audit, syslogSocket: syslogSocket ?? MountConfiguration.defaultSyslogSocket)
                let (access, member, name) = try Self.memberAccess(zoneValue, identity: identity)
                var config = MountConfiguration(zoneRoot: root, mountPoint: Zone.absolute(mountPoint))
                config.readOnly = readOnly
                config.auditFile = audit.map(Zone.absolute)
                if let syslogSocket { config.syslogSocket = syslogSocket }
                if case .piv(let reader) = try IdentitySpec(parsing: identity.identity) {
                    guard let watched = MountDaemon.cardReader(matching: reader) else {
                        throw CLIError.identity(name: name, problem: "the card left before the mount started; insert it and mount again")
                    }
                    config.cardReader = watched
                    config.onRemoval = onRemoval == .unmount ? .unmount : .lock
                    if config.onRemoval == .lock {
                        unlocker = Self.cardUnlocker(root: root, context: context, reader: watched,
                                                     allowLastPinTry: identity.allowLastPinTry)
                    }
                }
                daemon = try MountDaemon(configuration: config, access: access, member: member, unlocker: unlocker, context: context)
                do {
                    try MountRegistry.record(MountRegistry.Entry(
                        mountPoint: config.mountPoint, zone: root, zoneID: zoneValue.policy.zoneID.hex, pid: getpid(),
                        identity: name, subject: member.subject, fingerprint: member.fingerprint.hex, readOnly: readOnly,
                        audit: config.auditFile, started: Int(time(nil))))
                } catch {
                    // Nothing stays mounted that no daemon serves.
                    daemon?.abandon()
                    daemon = nil
                    throw error
                }
            }
            if let readyFD {
                _ = "ok\n".withCString { write(readyFD, $0, 3) }
                close(readyFD)
                Self.detachStandardStreams()
            }
            daemon?.run()
            MountRegistry.remove(mountPoint: Zone.absolute(mountPoint))
        }

        /// The member's access: the zone keys unwrapped, the key itself dropped (docs/mount.md §2).
        static func memberAccess(_ zone: Zone, identity: IdentityOptions) throws -> (ZoneAccess, Certificate, String) {
            let resolved = try identity.resolve()
            guard let member = zone.policy.isMember(resolved.key.publicKey) else {
                throw ZoneError.notMember(identity: resolved.name, zone: zone.root)
            }
            let access = try ZoneAccess(zone: zone, key: resolved.key, identityName: resolved.name)
            guard access.isMember else { throw ZoneError.notMember(identity: resolved.name, zone: zone.root) }
            return (access, member, resolved.name)
        }

        /// How the daemon opens the zone again when `zone unlock` brings the PIN of the card that
        /// came back (docs/mount.md §7): the policy is read and checked afresh, the PIN verified
        /// on the card in the watched reader, the zone keys unwrapped; the card keeps its key.
        static func cardUnlocker(root: String, context: ZoneContext, reader: String, allowLastPinTry: Bool) -> MountDaemon.Unlocker {
            { pin in
                do {
                    let key = try CardIdentity.openCard(readerSubstring: reader, pin: pin, allowLastPinTry: allowLastPinTry)
                    let zone = try Zone.open(root: root, context: context)
                    guard let member = zone.policy.isMember(key.publicKey) else { throw ZoneError.notMember(identity: "piv:" + reader, zone: root) }
                    let access = try ZoneAccess(zone: zone, key: key, identityName: "piv:" + reader)
                    guard access.isMember else { throw ZoneError.notMember(identity: "piv:" + reader, zone: root) }
                    return (access, member)
                } catch {
                    throw MountError.unlock(reason: ErrorReport.message(for: error))
                }
            }
        }

        /// Re-runs this command in a child with `--foreground --ready-fd`, sharing the
        /// terminal for the PIN prompt, and exits with the outcome.
        private func detach() throws -> Never {
            var fds: [Int32] = [0, 0]
            guard pipe(&fds) == 0 else { throw CLIError.io(path: "zone mount", problem: "cannot create a pipe") }
            fcntl(fds[0], F_SETFD, FD_CLOEXEC)
            let arguments = CommandLine.arguments + ["--foreground", "--ready-fd", String(fds[1])]
            var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
            defer { argv.forEach { free($0) } }
            var pid: pid_t = 0
            let executable = Self.executablePath()
            guard posix_spawn(&pid, executable, nil, nil, &argv, environ) == 0 else {
                throw CLIError.io(path: executable, problem: "cannot start the mount daemon")
            }
            close(fds[1])
            var answer = [UInt8](repeating: 0, count: 3)
            let n = read(fds[0], &answer, 3)
            if n == 3, answer == Array("ok\n".utf8) { Glibc.exit(0) }
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 1
            Glibc.exit(code == 0 ? 1 : code)
        }

        static func executablePath() -> String {
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
            return n > 0 ? String(cString: buffer) : CommandLine.arguments[0]
        }

        /// Once mounted the daemon leaves the terminal: its own session, stdio on /dev/null.
        static func detachStandardStreams() {
            let null = open("/dev/null", O_RDWR)
            if null >= 0 {
                dup2(null, 0); dup2(null, 1); dup2(null, 2)
                if null > 2 { close(null) }
            }
            setsid()
        }
    }

    struct Unmount: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Unmount a zone mounted with zone mount; its daemon wipes its keys and exits.")

        @Argument(help: "The mount point.") var mountPoint: String

        func run() throws {
            let point = Zone.absolute(mountPoint)
            guard MountTable.current().contains(where: { $0.mountPoint == point }) else {
                throw MountError.notMounted(path: point)
            }
            let entry = MountRegistry.entries().first { $0.mountPoint == point }
            try MountTable.unmount(point)
            // Wait (up to 10 s) for the daemon to finish, so its files are closed and its keys gone.
            if let pid = entry?.pid {
                for _ in 0..<200 where kill(pid, 0) == 0 { usleep(50_000) }
            }
            MountRegistry.remove(mountPoint: point)
        }
    }

    struct Mounts: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the zones mounted on this machine (for this user).")

        @Flag(help: "Print one JSON document on stdout.") var json = false

        func run() throws {
            let registry = MountRegistry.entries()
            let mounted = MountTable.current()
            let rows = mounted.map { m in (m, registry.first { $0.mountPoint == m.mountPoint }) }
            if json {
                let list: [[String: Any]] = rows.map { m, e in
                    [
                        "mount_point": m.mountPoint, "zone": e?.zone ?? m.source, "zone_id": e?.zoneID ?? NSNull(),
                        "pid": e.map { Int($0.pid) } ?? NSNull(), "identity": e?.identity ?? NSNull(),
                        "member_subject": e?.subject ?? NSNull(), "member_fingerprint": e?.fingerprint ?? NSNull(),
                        "read_only": e?.readOnly ?? m.readOnly, "audit": e?.audit ?? NSNull(),
                    ]
                }
                let data = try JSONSerialization.data(withJSONObject: ["mounts": list], options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
                print(String(decoding: data, as: UTF8.self))
            } else if rows.isEmpty {
                print("no zone is mounted")
            } else {
                for (m, e) in rows {
                    print("\(m.mountPoint)  zone \(e?.zone ?? m.source)" + (e.map { "  as \($0.subject) (pid \($0.pid))" } ?? "")
                          + ((e?.readOnly ?? m.readOnly) ? "  read-only" : ""))
                }
            }
        }
    }
}

/// `--on-removal`.
enum RemovalAction: String, ExpressibleByArgument, CaseIterable {
    case lock, unmount
}
