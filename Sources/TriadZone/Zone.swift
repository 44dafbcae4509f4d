#if canImport(Glibc)
import Glibc
#endif
import DurableFile
import SystemPackage
import TriadCrypto
import TriadFormat

/// What a zone operation needs from outside the zone folder: the trust file (if any), the
/// local state, and where to say things like "officer pinned on first use".
public struct ZoneContext {
    /// The organisation's trust file, or nil for trust on first use (docs/zone.md §3).
    public var trust: TrustFile?
    /// This user's record of the zones accepted before.
    public var state: LocalState
    /// Receives remarks for the person (e.g. an officer pinned on first use); never an error.
    public var notice: (String) -> Void
    /// Set only while `zone init` publishes a first policy: a trust file that pins its zones
    /// cannot pin one that does not exist yet (docs/zone.md §3).
    var creating = false

    /// A context from the given trust file, state and notice channel.
    public init(trust: TrustFile?, state: LocalState, notice: @escaping (String) -> Void) {
        self.trust = trust
        self.state = state
        self.notice = notice
    }
}

/// A zone: a folder with `.zone/` holding the signed policy history and keyrings
/// (docs/zone.md §1). Values of this type are snapshots of one policy version.
public struct Zone {
    /// The zone folder (absolute).
    public let root: String
    /// The newest policy, verified.
    public let signed: SignedPolicy
    /// The keyring the newest policy names.
    public let keyring: Keyring
    /// The newest policy's content.
    public var policy: ZonePolicy { signed.policy }
    /// The newest policy's file.
    public var policyPath: String { Zone.policyPath(root: root, version: policy.version) }
    var currentPolicyPath: String { policyPath }

    static func metadataDirectory(_ root: String) -> String { root + "/.zone" }
    /// The file of policy `version` in the zone at `root` (`.zone/policy.<version>`).
    public static func policyPath(root: String, version: UInt64) -> String { root + "/.zone/policy.\(version)" }
    static func keyringPath(root: String, hash: [UInt8]) -> String { root + "/.zone/keyring-" + hash.hex }

    /// The zone folder containing `path`: the nearest ancestor (or itself) holding a `.zone/`
    /// folder (docs/zone.md §1, "Nested zones"). Zones do not nest: when a folder above that
    /// one holds a `.zone/` too, the path is refused (`nestedZone`) — otherwise whoever can
    /// write a subfolder of a zone could plant a `.zone/` of their own there and have members'
    /// file commands encrypt into it. A `.zone` that is a symbolic link is refused: it could
    /// point at another zone's metadata.
    public static func findRoot(containing path: String) throws -> String {
        var p = FilePath(absolute(path))
        if !FileIO.isDirectory(p.string) { p.removeLastComponent() }
        var found: String?
        while true {
            if try isZoneRoot(p.string) {
                if let inner = found { throw ZoneError.nestedZone(inner: inner, outer: p.string) }
                found = p.string
            }
            if !p.removeLastComponent() { break }
        }
        guard let found else { throw ZoneError.notInZone(path: path) }
        return found
    }

    /// Whether `dir` holds a `.zone/` folder (what makes it a zone root; tree walks use this to
    /// recognise a nested zone). A `.zone` that is not a real folder is refused.
    public static func isZoneRoot(_ dir: String) throws -> Bool {
        var st = stat()
        guard lstat(metadataDirectory(dir), &st) == 0 else { return false }
        switch st.st_mode & S_IFMT {
        case S_IFDIR: return true
        case S_IFLNK: throw ZoneError.notRegularFile(path: metadataDirectory(dir), kind: "a symbolic link (zone metadata must be a real folder)")
        default: throw ZoneError.notRegularFile(path: metadataDirectory(dir), kind: "not a folder (zone metadata must be a real folder)")
        }
    }

    /// `path` made absolute and free of `.`/`..`/`//` components.
    public static func absolute(_ path: String) -> String {
        var full = FilePath(path)
        if !full.isAbsolute {
            var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            full = FilePath(getcwd(&buf, buf.count).map { String(cString: $0) } ?? "/").pushing(full)
        }
        return full.lexicallyNormalized().string
    }

    /// The highest `policy.<N>` in `.zone/`.
    static func latestPolicyVersion(root: String) throws -> UInt64? {
        try PolicyListing(root: root).versions.last
    }

    /// Reads the newest policy and its keyring, checking only their form and the keyring
    /// hash, not trust (`zone status` reports trust; everything else calls `open`). "Newest"
    /// is the highest version that can be read among the versions that follow each other from
    /// the lowest present, so a planted `policy.<huge>` or an unreadable newest file does not
    /// keep status from describing the zone (it reports them as history problems).
    public static func load(root: String) throws -> Zone {
        guard FileIO.isDirectory(metadataDirectory(root)) else { throw ZoneError.notInZone(path: root) }
        let versions = try PolicyListing(root: root).versions
        var run = versions.prefix(1)
        for v in versions.dropFirst() where v == run.last! + 1 { run.append(v) }
        var firstError: Error?
        for version in run.reversed() {
            let path = policyPath(root: root, version: version)
            do {
                let signed = try SignedPolicy(fileBytes: try MetadataFile.read(path, limit: ZoneLimits.policyBytes), context: path)
                guard signed.policy.version == version else {
                    throw ZoneError.malformed(what: path, problem: "its name says version \(version) but it holds version \(signed.policy.version)")
                }
                return Zone(root: root, signed: signed, keyring: try loadKeyring(root: root, policy: signed.policy))
            } catch let error as ZoneError {
                if case .keyringMismatch = error { throw error }
                if firstError == nil { firstError = error }
            }
        }
        throw firstError ?? ZoneError.noPolicy(folder: root)
    }

    /// The keyring the policy names, checked against its hash and zone id.
    static func loadKeyring(root: String, policy: ZonePolicy) throws -> Keyring {
        let krPath = keyringPath(root: root, hash: policy.keyringHash)
        guard MetadataFile.exists(krPath) else { throw ZoneError.keyringMismatch(file: krPath) }
        let krBytes = try MetadataFile.read(krPath, limit: ZoneLimits.keyringBytes)
        guard SHA256.hash(krBytes) == policy.keyringHash else { throw ZoneError.keyringMismatch(file: krPath) }
        let keyring = try Keyring(decoding: krBytes, context: krPath)
        guard keyring.zoneID == policy.zoneID else { throw ZoneError.keyringMismatch(file: krPath) }
        return keyring
    }

    /// The zone in `root` if this machine may use it (docs/zone.md §3): its whole history
    /// verified (from version 1, or from the version local state recorded), the folder's and
    /// the trust file's pins respected, no downgrade and no rollback; then recorded.
    public static func open(root: String, context: ZoneContext) throws -> Zone {
        var attempts = 0
        while true {
            do {
                let verified = try ZoneTrust.verify(root: root, context: context)
                let zone = Zone(root: root, signed: verified.newest, keyring: try loadKeyring(root: root, policy: verified.newest.policy))
                try ZoneTrust.record(verified, root: root, context: context)
                return zone
            } catch let error as ZoneError {
                // Another officer's command may have published a newer version (and recorded it
                // in local state) between our listing of .zone/ and this check: that is not a
                // rollback. Read the folder again; only an older policy with no newer file on
                // disk is one.
                guard attempts < 3, case let .rollback(_, version, _) = error,
                      let latest = try latestPolicyVersion(root: root), latest > version else { throw error }
                attempts += 1
            }
        }
    }

    // MARK: - Officer operations

    /// `zone init`: a new zone id bound to this first policy, epoch 1, the officer as first member.
    public static func create(root: String, officer: Certificate, key: PrivateKey, recovery: [Certificate],
                              members: [Certificate], context: ZoneContext) throws -> Zone {
        let root = absolute(root)
        guard officer.publicKey == key.publicKey else {
            throw ZoneError.identityDoesNotMatchCertificate(identity: "the officer identity", certificate: officer.subject)
        }
        try checkCertificate(officer, role: [.officer, .member])
        for m in members { try checkCertificate(m, role: .member) }
        for r in recovery { try checkCertificate(r, role: .recovery) }
        guard FileIO.isDirectory(root) else { throw ZoneError.io(path: root, problem: "is not a folder; create it first") }
        let genesisNonce = SecureRandom.bytes(count: 32)
        let zoneID = ZoneIdentity.zoneID(genesisNonce: genesisNonce, officers: [officer], recoveryCertificates: recovery)
        if MetadataFile.exists(metadataDirectory(root)) { throw ZoneError.zoneExists(folder: root) }
        // The person running init makes this folder hold a new zone: on this machine the folder's
        // pin moves to it (someone replacing .zone/ behind a user's back never runs init there).
        if let pinned = try context.state.zoneID(folder: root) {
            context.notice("\(root) held zone \(pinned.hex) before; this machine now expects the new zone in it")
        }
        guard mkdir(metadataDirectory(root), 0o755) == 0 else {
            if errno == EEXIST { throw ZoneError.zoneExists(folder: root) }
            throw ZoneError.io(path: metadataDirectory(root), problem: "cannot create: \(FileIO.errorText())")
        }
        do {
            let zoneKey = SecureBytes.random(count: 32)
            var all: [Certificate] = []
            for m in [officer] + members where !all.contains(where: { $0.fingerprint == m.fingerprint }) { all.append(m) }
            var keyring = Keyring(zoneID: zoneID)
            for m in all { try keyring.add(zoneKey: zoneKey, epoch: 1, for: m) }
            let policy = ZonePolicy(
                zoneID: zoneID, version: 1, previousPolicyHash: [UInt8](repeating: 0, count: 32), genesisNonce: genesisNonce,
                createdAt: now(), officers: [officer], members: all, recoveryCertificates: recovery, currentEpoch: 1,
                epochs: [try EpochCommitment(epoch: 1, zoneID: zoneID, zoneKey: zoneKey)],
                keyringHash: keyring.hash)
            try context.state.pin(folder: root, zoneID: zoneID, replacing: true)
            let zone = try publish(root: root, policy: policy, keyring: keyring, officer: officer, key: key, previous: nil, context: context)
            context.notice("zone \(zoneID.hex) created; its first policy reads \(ZoneIdentity.words(zone.signed.hash)) — members compare these words with you when they first use it")
            if let trust = context.trust, !trust.zonePins.isEmpty {
                context.notice("the trust file \(trust.path) pins its zones: until IT adds the line “zone \(zoneID.hex) 1 \(zone.signed.hash.hex)” to it, this zone is refused")
            }
            return zone
        } catch {
            _ = try? FileIO.listDirectory(metadataDirectory(root)).map { unlink(metadataDirectory(root) + "/" + $0) }
            rmdir(metadataDirectory(root))
            throw error
        }
    }

    /// Refuses a certificate that cannot take `role` now (docs/zone.md §2a).
    static func checkCertificate(_ cert: Certificate, role: CertificateRole) throws {
        do { try CertificatePolicy.check(cert, for: role) } catch let problem as CertificatePolicyError {
            throw ZoneError.certificateRefused(subject: cert.subject, role: role.description, problem: problem)
        }
    }

    /// `zone grant`: wraps every epoch's zone key (that the officer holds) for `member`.
    public func granting(_ member: Certificate, key: PrivateKey, context: ZoneContext) throws -> Zone {
        let officer = try officerCertificate(for: key)
        guard !policy.members.contains(where: { $0.fingerprint == member.fingerprint || $0.publicKey == member.publicKey }) else {
            throw ZoneError.alreadyMember(subject: member.subject, zone: root)
        }
        try Zone.checkCertificate(member, role: .member)
        var next = nextPolicy(keyring: keyring)
        next.members.append(member)
        if let (what, count, limit) = next.limitExceeded() {
            throw ZoneError.limitExceeded(zone: root, what: what, count: count, limit: limit)
        }
        var keys = try zoneKeys(for: key, name: "the officer identity")
        defer { keys.removeAll() }
        var keyring = self.keyring
        for (epoch, zoneKey) in keys.sorted(by: { $0.key < $1.key }) {
            try keyring.add(zoneKey: zoneKey, epoch: epoch, for: member)
        }
        next.keyringHash = keyring.hash
        return try Zone.publish(root: root, policy: next, keyring: keyring, officer: officer, key: key, previous: signed, context: context)
    }

    /// `zone revoke`: removes `member` and starts a new epoch whose zone key is wrapped for
    /// the remaining members only; older epochs stay readable by those who held them.
    public func revoking(_ member: Certificate, key: PrivateKey, context: ZoneContext) throws -> Zone {
        let officer = try officerCertificate(for: key)
        guard let existing = policy.members.first(where: { $0.fingerprint == member.fingerprint || $0.publicKey == member.publicKey }) else {
            throw ZoneError.notAMemberCertificate(subject: member.subject, zone: root)
        }
        let remaining = policy.members.filter { $0.fingerprint != existing.fingerprint }
        guard !remaining.isEmpty else { throw ZoneError.lastMember(subject: member.subject, zone: root) }
        let epoch = policy.currentEpoch + 1
        let zoneKey = SecureBytes.random(count: 32)
        var keyring = self.keyring
        keyring.removeEntries(of: existing)
        for m in remaining { try keyring.add(zoneKey: zoneKey, epoch: epoch, for: m) }
        var next = nextPolicy(keyring: keyring)
        next.members = remaining
        next.currentEpoch = epoch
        next.epochs.append(try EpochCommitment(epoch: epoch, zoneID: policy.zoneID, zoneKey: zoneKey))
        return try Zone.publish(root: root, policy: next, keyring: keyring, officer: officer, key: key, previous: signed, context: context)
    }

    func officerCertificate(for key: PrivateKey) throws -> Certificate {
        guard let officer = policy.isOfficer(key.publicKey) else { throw ZoneError.notOfficer(identity: "the identity", zone: root) }
        return officer
    }

    func nextPolicy(keyring: Keyring) -> ZonePolicy {
        var next = policy
        next.version = policy.version + 1
        next.previousPolicyHash = signed.hash
        next.createdAt = Zone.now()
        next.keyringHash = keyring.hash
        return next
    }

    /// Signs and publishes a new version. Everything a reader would refuse is refused first
    /// (limits, the signer's certificate, the history rules of docs/zone.md §3 against
    /// `previous`), so nothing published can lock the zone. The keyring is content-addressed
    /// (written first, idempotent); the policy file is created with `link(2)`, which fails if
    /// the version exists — the second of two concurrent officers gets "policy changed; re-run".
    static func publish(root: String, policy: ZonePolicy, keyring: Keyring, officer: Certificate,
                        key: PrivateKey, previous: SignedPolicy?, context: ZoneContext) throws -> Zone {
        if let (what, count, limit) = policy.limitExceeded() {
            throw ZoneError.limitExceeded(zone: root, what: what, count: count, limit: limit)
        }
        try checkCertificate(officer, role: .officer)
        let signed = try SignedPolicy.sign(policy, officer: officer, key: key)
        if signed.fileBytes.count > ZoneLimits.policyBytes {
            throw ZoneError.limitExceeded(zone: root, what: "the size in bytes", count: signed.fileBytes.count, limit: ZoneLimits.policyBytes)
        }
        let keyringBytes = keyring.encoded()
        if keyringBytes.count > ZoneLimits.keyringBytes {
            throw ZoneError.limitExceeded(zone: root, what: "the size in bytes of the keyring", count: keyringBytes.count, limit: ZoneLimits.keyringBytes)
        }
        let path = policyPath(root: root, version: policy.version)
        let first = policy.version == 2 ? previous : nil
        try ZoneTrust.checkSuccessor(signed, of: previous, first: first, file: path, root: root, context: context)
        let krPath = keyringPath(root: root, hash: keyring.hash)
        // `.zone/` is entered by descriptor without following a link (docs/zone.md §1b), and
        // both files are written through that descriptor.
        let metadata = try metadataFolder(root: root)
        if !FileIO.exists(krPath) {
            try FileIO.writeReplacing("keyring-" + keyring.hash.hex, in: metadata, keyringBytes)
        }
        guard try FileIO.writeExclusive("policy.\(policy.version)", in: metadata, signed.fileBytes) else {
            throw ZoneError.policyChanged(folder: root)
        }
        var quiet = context
        quiet.notice = { _ in }
        quiet.creating = previous == nil
        return try open(root: root, context: quiet)
    }

    /// The zone's `.zone/` folder, opened beneath `root` without following a link in it.
    static func metadataFolder(root: String) throws -> DurableFolder {
        do {
            return try Beneath.directory(ZoneTree.metadataName, in: DirectoryHandle.open(root)).folder
        } catch {
            throw ZoneDirectory.zoneError(error, metadataDirectory(root))
        }
    }

    static func now() -> UInt64 { UInt64(max(0, time(nil))) }

    // MARK: - Member access

    /// Unwraps every zone key this member holds and checks each against the policy's
    /// commitment. One public-key operation per epoch, per command — never per file.
    public func zoneKeys(for key: any PrivateKeyOperations, name: String) throws -> [UInt32: SecureBytes] {
        guard let member = policy.isMember(key.publicKey) else { throw ZoneError.notMember(identity: name, zone: root) }
        let krPath = Zone.keyringPath(root: root, hash: policy.keyringHash)
        var keys: [UInt32: SecureBytes] = [:]
        for e in policy.epochs {
            let zoneKey: SecureBytes?
            do { zoneKey = try keyring.unwrap(epoch: e.epoch, member: member, key: key) } catch let error as CryptoError {
                throw ZoneError.malformed(what: krPath, problem: "the entry for epoch \(e.epoch) does not unwrap with \(name): \(error)")
            }
            guard let zoneKey else { continue }
            guard constantTimeEquals(ZonePolicy.commitment(zoneID: policy.zoneID, epoch: e.epoch, zoneKey: zoneKey), e.commitment) else {
                throw ZoneError.zoneKeyCommitmentMismatch(file: krPath, epoch: e.epoch)
            }
            // The epoch's signing key must be the one the policy publishes, or what members
            // sign as this epoch would not verify (docs/zone.md §2).
            guard try EpochSigningKey.derive(zoneID: policy.zoneID, epoch: e.epoch, zoneKey: zoneKey).publicKey.spkiDER == e.signingPublicKey else {
                throw ZoneError.malformed(what: currentPolicyPath, problem: "the signing key of epoch \(e.epoch) is not the one its zone key derives")
            }
            keys[e.epoch] = zoneKey
        }
        guard !keys.isEmpty else { throw ZoneError.notMember(identity: name, zone: root) }
        return keys
    }
}
