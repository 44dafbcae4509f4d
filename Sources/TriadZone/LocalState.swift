#if canImport(Glibc)
import Glibc
#endif
import TriadCrypto

/// What this user's machine remembers about each zone (DESIGN §2), in
/// `$XDG_STATE_HOME/triad/zones/<zone id>` (default `~/.local/state/triad`):
/// the highest policy version seen and its hash (rollback and replacement are refused),
/// and — only when no trust file is used — the officers pinned on first use.
public struct ZoneStateRecord: Equatable {
    public var highestVersion: UInt64
    public var policyHash: [UInt8]
    public var pinnedOfficers: [[UInt8]]

    public init(highestVersion: UInt64, policyHash: [UInt8], pinnedOfficers: [[UInt8]]) {
        self.highestVersion = highestVersion
        self.policyHash = policyHash
        self.pinnedOfficers = pinnedOfficers
    }

    /// A tiny line format: `version N`, `hash HEX`, `officer HEX` (repeated).
    var text: String {
        var s = "version \(highestVersion)\nhash \(policyHash.hex)\n"
        for o in pinnedOfficers { s += "officer \(o.hex)\n" }
        return s
    }

    init(text: String, path: String) throws {
        var version: UInt64?
        var hash: [UInt8]?
        var officers: [[UInt8]] = []
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            switch parts[0] {
            case "version": version = UInt64(parts[1])
            case "hash": hash = Hex.decode(parts[1])
            case "officer": if let o = Hex.decode(parts[1]) { officers.append(o) }
            default: continue
            }
        }
        guard let version, let hash else { throw ZoneError.state(path, "is damaged (no version/hash); delete it to trust the zone anew") }
        self.init(highestVersion: version, policyHash: hash, pinnedOfficers: officers)
    }
}

public struct LocalState {
    public let directory: String

    public init(environment: [String: String]) {
        if let xdg = environment["XDG_STATE_HOME"], xdg.hasPrefix("/") {
            directory = xdg + "/triad"
        } else {
            directory = (environment["HOME"] ?? "/root") + "/.local/state/triad"
        }
    }

    public init(directory: String) { self.directory = directory }

    public func path(zoneID: [UInt8]) -> String { directory + "/zones/" + zoneID.hex }

    public func load(zoneID: [UInt8]) throws -> ZoneStateRecord? {
        let p = path(zoneID: zoneID)
        guard FileIO.exists(p) else { return nil }
        return try ZoneStateRecord(text: String(decoding: try FileIO.readAll(p), as: UTF8.self), path: p)
    }

    /// Stores `record` unless a higher version was stored meanwhile (another process of the
    /// same user); under an exclusive `flock` so two processes never lose a raise.
    public func save(zoneID: [UInt8], _ record: ZoneStateRecord) throws {
        var prefix = ""
        for part in (directory + "/zones").split(separator: "/") {
            prefix += "/" + part
            guard FileIO.isDirectory(prefix) || mkdir(prefix, 0o700) == 0 || errno == EEXIST else {
                throw ZoneError.state(prefix, "cannot be created (\(FileIO.errorText()))")
            }
        }
        let p = path(zoneID: zoneID)
        let lockFD = open(p + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lockFD >= 0 else { throw ZoneError.state(p, "cannot be locked (\(FileIO.errorText()))") }
        defer { close(lockFD) }
        flock(lockFD, LOCK_EX)
        defer { flock(lockFD, LOCK_UN) }
        if let current = try load(zoneID: zoneID), current.highestVersion > record.highestVersion { return }
        do { try FileIO.writeReplacing(p, Array(record.text.utf8)) } catch {
            throw ZoneError.state(p, "cannot be written (\(error))")
        }
    }
}
