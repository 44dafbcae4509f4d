#if canImport(Glibc)
import Glibc
#endif
import DurableFile
import SystemPackage
import TriadCrypto

/// How a zone was accepted on this machine: with a trust file, or on first use without one.
public enum TrustMode: String, Equatable, Sendable {
    case trustFile = "trust-file"
    case firstUse = "first-use"
}

/// What this user's machine remembers about one zone (docs/zone.md §3), in
/// `$XDG_STATE_HOME/triad/zones/<zone id>` (default `~/.local/state/triad`).
///
/// - `mode`: a zone accepted with a trust file is never again accepted without one (no downgrade);
/// - `first`: the SHA-256 of its first policy;
/// - `version`/`hash`: the newest version verified and its hash — an older newest version is a
///   rollback, a different file under that version a replacement, and the versions up to it need
///   not be verified again (their hashes chain to this one).
public struct ZoneStateRecord: Equatable {
    /// With a trust file or on first use; a zone once accepted with a trust file is never accepted without one.
    public var mode: TrustMode
    /// The trust file last used (for messages), when `mode` is `.trustFile`.
    public var trustFile: String?
    /// SHA-256 of the zone's first policy: another first policy is another zone.
    public var firstPolicyHash: [UInt8]
    /// The newest version verified; an older newest version is a rollback.
    public var highestVersion: UInt64
    /// The hash of that version; another file under the same version is a replacement.
    public var policyHash: [UInt8]

    /// A record of what was verified.
    public init(mode: TrustMode, trustFile: String?, firstPolicyHash: [UInt8], highestVersion: UInt64, policyHash: [UInt8]) {
        self.mode = mode
        self.trustFile = trustFile
        self.firstPolicyHash = firstPolicyHash
        self.highestVersion = highestVersion
        self.policyHash = policyHash
    }

    /// One `key value` line per field.
    var text: String {
        var s = "mode \(mode.rawValue)\n"
        if let trustFile { s += "trust \(trustFile)\n" }
        return s + "first \(firstPolicyHash.hex)\nversion \(highestVersion)\nhash \(policyHash.hex)\n"
    }

    init(text: String, path: String) throws {
        let fields = try StateLines.parse(text, path: path, keys: ["mode", "trust", "first", "version", "hash"])
        guard let mode = fields["mode"].flatMap(TrustMode.init(rawValue:)),
              let first = fields["first"].flatMap(Hex.decode), first.count == 32,
              let version = fields["version"].flatMap({ UInt64($0) }), version >= 1,
              let hash = fields["hash"].flatMap(Hex.decode), hash.count == 32 else {
            throw ZoneError.state(path: path, problem: "is damaged (a field is missing or invalid); delete it to trust the zone anew")
        }
        self.init(mode: mode, trustFile: fields["trust"], firstPolicyHash: first, highestVersion: version, policyHash: hash)
    }
}

/// The `key value` line format of local-state records: every key known, none repeated.
enum StateLines {
    static func parse(_ text: String, path: String, keys: Set<String>) throws -> [String: String] {
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            guard parts.count == 2, keys.contains(parts[0]), fields[parts[0]] == nil else {
                throw ZoneError.state(path: path, problem: "is damaged (unexpected line); delete it to trust the zone anew")
            }
            fields[parts[0]] = parts[1]
        }
        return fields
    }
}

/// This user's local state: one record per zone id, and one pin per zone folder
/// (`folders/<SHA-256 of the folder's path>`: the folder and the id of the zone used there).
public struct LocalState {
    /// The state folder (`$XDG_STATE_HOME/triad`, else `~/.local/state/triad`).
    public let directory: String

    /// The state folder for this user, from `XDG_STATE_HOME` or `HOME` in `environment`.
    public init(environment: [String: String]) {
        if let xdg = environment["XDG_STATE_HOME"], xdg.hasPrefix("/") {
            directory = xdg + "/triad"
        } else {
            directory = (environment["HOME"] ?? "/root") + "/.local/state/triad"
        }
    }

    /// The state in `directory` (tests give each user a folder of their own).
    public init(directory: String) { self.directory = directory }

    /// Where the record of zone `zoneID` is kept.
    public func path(zoneID: [UInt8]) -> String { directory + "/zones/" + zoneID.hex }

    /// Where the pin of `folder` is kept: the hash of its path, so the name leaks nothing.
    public func path(folder: String) -> String { directory + "/folders/" + SHA256.hash(folder).hex }

    /// The record of `zoneID`, or nil on first use on this machine.
    public func load(zoneID: [UInt8]) throws -> ZoneStateRecord? {
        guard let text = try readRecord(path(zoneID: zoneID)) else { return nil }
        return try ZoneStateRecord(text: text, path: path(zoneID: zoneID))
    }

    /// The zone id used in `folder` before, if any.
    public func zoneID(folder: String) throws -> [UInt8]? {
        let p = path(folder: folder)
        guard let text = try readRecord(p) else { return nil }
        let fields = try StateLines.parse(text, path: p, keys: ["folder", "zone"])
        guard fields["folder"] == folder, let id = fields["zone"].flatMap(Hex.decode), id.count == 16 else {
            throw ZoneError.state(path: p, problem: "is damaged (it does not name this folder and a zone id); delete it to trust the zone anew")
        }
        return id
    }

    /// Records that `folder` holds zone `zoneID`. A folder's pin changes only with `replacing`
    /// (`zone init` making a new zone there); otherwise another zone id is refused.
    public func pin(folder: String, zoneID: [UInt8], replacing: Bool = false) throws {
        try locked(path(folder: folder)) { p in
            if !replacing, let existing = try self.zoneID(folder: folder) {
                guard existing == zoneID else {
                    throw ZoneError.folderHoldsOtherZone(folder: folder, found: zoneID.hex, pinned: existing.hex, record: p)
                }
                return
            }
            try write(p, "folder \(folder)\nzone \(zoneID.hex)\n")
        }
    }

    /// Stores `record` unless a higher version was stored meanwhile (another process of the
    /// same user); under an exclusive `flock` so two processes never lose a raise. The mode
    /// only ever goes from first use to trust file.
    public func save(zoneID: [UInt8], _ record: ZoneStateRecord) throws {
        try locked(path(zoneID: zoneID)) { p in
            var record = record
            if let current = try load(zoneID: zoneID) {
                if current.highestVersion > record.highestVersion { return }
                if current.mode == .trustFile && record.mode == .firstUse { record.mode = .trustFile; record.trustFile = current.trustFile }
                if current == record { return }
            }
            try write(p, record.text)
        }
    }

    private func readRecord(_ p: String) throws -> String? {
        guard MetadataFile.exists(p) else { return nil }
        let bytes: [UInt8]
        do { bytes = try MetadataFile.read(p, limit: ZoneLimits.stateRecordBytes) } catch {
            throw ZoneError.state(path: p, problem: "cannot be read (\(error))")
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private func locked(_ p: String, _ body: (String) throws -> Void) throws {
        do { _ = try DurableFolder.make(FilePath(p).removingLastComponent(), mode: 0o700) } catch let error as DurableError {
            throw ZoneError.state(path: error.path.string, problem: "cannot be created (\(error.reason))")
        }
        let lockFD = open(p + ".lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard lockFD >= 0 else { throw ZoneError.state(path: p, problem: "cannot be locked (\(FileIO.errorText()))") }
        defer { close(lockFD) }
        flock(lockFD, LOCK_EX)
        defer { flock(lockFD, LOCK_UN) }
        try body(p)
    }

    private func write(_ p: String, _ text: String) throws {
        do { try FileIO.writeReplacing(p, Array(text.utf8), mode: 0o600) } catch {
            throw ZoneError.state(path: p, problem: "cannot be written (\(error))")
        }
    }
}
