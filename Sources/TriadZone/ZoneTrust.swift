import TriadCrypto

/// A zone's history as this machine accepts it: the newest policy and what identifies it.
public struct VerifiedHistory {
    /// The newest policy, verified.
    public let newest: SignedPolicy
    /// SHA-256 of its file.
    public let newestHash: [UInt8]
    /// SHA-256 of `.zone/policy.1`: the zone's first policy (docs/zone.md §3).
    public let firstPolicyHash: [UInt8]
    /// Whether a trust file or first use accepted the zone.
    public let mode: TrustMode
    /// Nil when nothing was recorded about this zone before: first use on this machine.
    public let record: ZoneStateRecord?
}

/// Whether the zone in a folder may be used (docs/zone.md §3).
///
/// Order of checks: the folder's pinned zone id and the mode recorded in local state (no
/// downgrade), rollback against the recorded version, then the history walk — every link from
/// version 1 (from the recorded version when there is one), the zone id bound to the first
/// policy, the trust file for the first signer and the recovery certificates — then the
/// recorded first policy and the trust file's pins.
public enum ZoneTrust {
    /// Verifies the zone in `root` without recording anything.
    public static func verify(root: String, context: ZoneContext) throws -> VerifiedHistory {
        let versions = try PolicyListing(root: root).versions
        let listedNewest = versions.last!
        let newestFile = Zone.policyPath(root: root, version: listedNewest)
        // The zone id comes from the oldest version present (normally the first policy): a
        // planted file with a high number is then reported by the walk as the gap it makes.
        let oldestFile = Zone.policyPath(root: root, version: versions[0])
        let zoneID = try SignedPolicy.link(fileBytes: try MetadataFile.read(oldestFile, limit: ZoneLimits.policyBytes), context: oldestFile).zoneID
        if let pinned = try context.state.zoneID(folder: root), pinned != zoneID {
            throw ZoneError.folderHoldsOtherZone(folder: root, found: zoneID.hex, pinned: pinned.hex, record: context.state.path(folder: root))
        }
        let record = try context.state.load(zoneID: zoneID)
        let mode: TrustMode = context.trust == nil ? .firstUse : .trustFile
        if let record, record.mode == .trustFile, mode == .firstUse {
            throw ZoneError.trustDowngrade(zoneID: zoneID.hex, trustFile: record.trustFile ?? "(unknown)", record: context.state.path(zoneID: zoneID))
        }
        if let record, listedNewest < record.highestVersion {
            throw ZoneError.rollback(file: newestFile, version: listedNewest, seen: record.highestVersion)
        }
        // Moving from first use to a trust file checks the whole history against it once.
        let anchor = record?.mode == mode ? record : nil
        let walk = try HistoryWalk.run(root: root, trust: context.trust, anchor: anchor, stopAtFirstProblem: true)
        if let problem = walk.problems.first { throw problem }
        // The newest version is the walk's own, from its own listing: an officer may publish
        // the next version between the listing above and the walk, and the newest policy and
        // its hash must come from one listing, or the version recorded below would be paired
        // with its predecessor's hash and every later open refused as "replaced".
        let newestVersion = walk.newestVersion
        guard let newest = walk.newest, newest.policy.version == newestVersion, let newestHash = walk.hashes[newestVersion],
              let firstHash = walk.hashes[1] else {
            throw ZoneError.noPolicy(folder: root)
        }
        if let record {
            guard record.firstPolicyHash == firstHash else {
                throw ZoneError.firstPolicyChanged(zoneID: zoneID.hex, record: context.state.path(zoneID: zoneID))
            }
            guard walk.hashes[record.highestVersion] == record.policyHash else {
                throw ZoneError.policyReplaced(file: Zone.policyPath(root: root, version: record.highestVersion), version: record.highestVersion)
            }
        }
        if let trust = context.trust, !trust.zonePins.isEmpty {
            let pins = trust.zonePins[zoneID] ?? [:]
            if pins.isEmpty && !context.creating { throw ZoneError.zoneNotPinned(zoneID: zoneID.hex, trust: trust.path) }
            for (version, hash) in pins.sorted(by: { $0.key < $1.key }) {
                guard version <= newestVersion else {
                    throw ZoneError.trustPinMissing(zoneID: zoneID.hex, version: version, newest: newestVersion, trust: trust.path)
                }
                guard walk.hashes[version] == hash else {
                    throw ZoneError.trustPinMismatch(file: Zone.policyPath(root: root, version: version), version: version, trust: trust.path)
                }
            }
        }
        return VerifiedHistory(newest: newest, newestHash: newestHash, firstPolicyHash: firstHash, mode: mode, record: record)
    }

    /// Records an accepted history: the folder's zone id, the mode, the first policy and the
    /// newest version. On first use without a trust file it says so, with the words of the
    /// first policy to compare with an officer.
    public static func record(_ verified: VerifiedHistory, root: String, context: ZoneContext) throws {
        let zoneID = verified.newest.policy.zoneID
        if verified.record == nil && verified.mode == .firstUse {
            context.notice("no trust file (--trust, TRIAD_TRUST or \(TrustFile.systemPath)): accepting zone \(zoneID.hex) in \(root) on first use; its first policy reads \(ZoneIdentity.words(verified.firstPolicyHash)) — compare with an officer")
        }
        try context.state.pin(folder: root, zoneID: zoneID)
        try context.state.save(zoneID: zoneID, ZoneStateRecord(
            mode: verified.mode, trustFile: context.trust?.path, firstPolicyHash: verified.firstPolicyHash,
            highestVersion: verified.newest.policy.version, policyHash: verified.newestHash))
    }

    /// The checks a new version must pass before it is written (the writer refuses what every
    /// reader would): the same rules as the history walk, applied to `signed` as the successor
    /// of `previous` (nil for a first policy).
    static func checkSuccessor(_ signed: SignedPolicy, of previous: SignedPolicy?, first: SignedPolicy?,
                               file: String, root: String, context: ZoneContext) throws {
        let link = previous.map { (signed: Optional($0), hash: $0.hash) }
        let problems = HistoryWalk.versionProblems(signed, file: file, version: signed.policy.version, previous: link,
                                                   first: first ?? (signed.policy.version == 1 ? nil : previous),
                                                   isNewest: true, trust: context.trust, root: root)
        if let problem = problems.first { throw problem }
    }
}
