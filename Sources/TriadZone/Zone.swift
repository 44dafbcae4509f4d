#if canImport(Glibc)
import Glibc
#endif
import TriadCrypto

/// What a zone operation needs from outside the zone folder: the trust file (if any), the
/// local state, and where to say things like "officer pinned on first use".
public struct ZoneContext {
    public var trust: TrustFile?
    public var state: LocalState
    public var notice: (String) -> Void

    public init(trust: TrustFile?, state: LocalState, notice: @escaping (String) -> Void) {
        self.trust = trust
        self.state = state
        self.notice = notice
    }
}

/// A zone: a folder with `.zone/` holding the signed policy history and keyrings
/// (docs/zone.md §1). Values of this type are snapshots of one policy version.
public struct Zone {
    public let root: String
    public let signed: SignedPolicy
    public let keyring: Keyring
    public var policy: ZonePolicy { signed.policy }
    public var policyPath: String { Zone.policyPath(root: root, version: policy.version) }

    static func metadataDirectory(_ root: String) -> String { root + "/.zone" }
    public static func policyPath(root: String, version: UInt64) -> String { root + "/.zone/policy.\(version)" }
    static func keyringPath(root: String, hash: [UInt8]) -> String { root + "/.zone/keyring-" + hash.hex }

    /// The zone folder containing `path`: the nearest ancestor (or itself) with a `.zone/`.
    public static func findRoot(containing path: String) throws -> String {
        var p = absolute(path)
        if !FileIO.isDirectory(p) { p = p.directory }
        while true {
            if FileIO.isDirectory(metadataDirectory(p)) { return p }
            if p == "/" || p.isEmpty { throw ZoneError.notInZone(path) }
            p = p.directory
        }
    }

    /// `path` made absolute and free of `.`/`..`/`//` components.
    public static func absolute(_ path: String) -> String {
        var full = path
        if !path.hasPrefix("/") {
            var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let cwd = getcwd(&buf, buf.count).map { String(cString: $0) } ?? "."
            full = cwd + "/" + path
        }
        var parts: [Substring] = []
        for c in full.split(separator: "/") {
            if c == "." { continue }
            if c == ".." { if !parts.isEmpty { parts.removeLast() }; continue }
            parts.append(c)
        }
        return "/" + parts.joined(separator: "/")
    }

    /// The highest `policy.<N>` in `.zone/`.
    static func latestPolicyVersion(root: String) throws -> UInt64? {
        try FileIO.listDirectory(metadataDirectory(root)).compactMap { name -> UInt64? in
            guard name.hasPrefix("policy.") else { return nil }
            return UInt64(name.dropFirst("policy.".count))
        }.max()
    }

    /// Reads the newest policy and its keyring, checking only their form and the keyring
    /// hash, not trust (`zone status` reports trust; everything else calls `open`).
    public static func load(root: String) throws -> Zone {
        guard FileIO.isDirectory(metadataDirectory(root)) else { throw ZoneError.notInZone(root) }
        guard let version = try latestPolicyVersion(root: root) else { throw ZoneError.noPolicy(root) }
        let path = policyPath(root: root, version: version)
        let signed = try SignedPolicy(fileBytes: try FileIO.readAll(path), context: path)
        guard signed.policy.version == version else {
            throw ZoneError.malformed(path, "its name says version \(version) but it holds version \(signed.policy.version)")
        }
        let krPath = keyringPath(root: root, hash: signed.policy.keyringHash)
        guard FileIO.exists(krPath) else { throw ZoneError.keyringMismatch(krPath) }
        let krBytes = try FileIO.readAll(krPath)
        guard SHA256.hash(krBytes) == signed.policy.keyringHash else { throw ZoneError.keyringMismatch(krPath) }
        let keyring = try Keyring(decoding: krBytes, context: krPath)
        guard keyring.zoneID == signed.policy.zoneID else { throw ZoneError.keyringMismatch(krPath) }
        return Zone(root: root, signed: signed, keyring: keyring)
    }

    /// Loads the newest policy and accepts it only if it is signed by a trusted officer and
    /// not older than what this machine saw before (DESIGN §2).
    public static func open(root: String, context: ZoneContext) throws -> Zone {
        var attempts = 0
        while true {
            let zone = try load(root: root)
            do {
                try ZoneTrust.accept(zone.signed, file: zone.policyPath, context: context)
                return zone
            } catch let error as ZoneError {
                // Another officer's command may have published a newer version (and recorded it
                // in local state) between our listing of .zone/ and this check: that is not a
                // rollback. Read the folder again; only an older policy with no newer file on
                // disk is one.
                guard case .rollback = error, attempts < 3,
                      let latest = try latestPolicyVersion(root: root), latest > zone.signed.policy.version else { throw error }
                attempts += 1
            }
        }
    }

    // MARK: - Officer operations

    /// `zone init`: a new zone id, epoch 1, the officer as first member.
    public static func create(root: String, officer: Certificate, key: PrivateKey, recovery: [Certificate],
                              members: [Certificate], context: ZoneContext) throws -> Zone {
        let root = absolute(root)
        guard officer.publicKey == key.publicKey else {
            throw ZoneError.identityDoesNotMatchCertificate("the officer identity", "--officer-cert")
        }
        guard FileIO.isDirectory(root) else { throw ZoneError.io(root, "is not a folder; create it first") }
        guard mkdir(metadataDirectory(root), 0o755) == 0 else {
            if errno == EEXIST { throw ZoneError.zoneExists(root) }
            throw ZoneError.io(metadataDirectory(root), "cannot create: \(FileIO.errorText())")
        }
        let zoneID = SecureRandom.bytes(count: 16)
        let zoneKey = SecureBytes.random(count: 32)
        var all: [Certificate] = []
        for m in [officer] + members where !all.contains(where: { $0.fingerprint == m.fingerprint }) { all.append(m) }
        var keyring = Keyring(zoneID: zoneID)
        for m in all { try keyring.add(zoneKey: zoneKey, epoch: 1, for: m) }
        let policy = ZonePolicy(
            zoneID: zoneID, version: 1, previousPolicyHash: [UInt8](repeating: 0, count: 32), createdAt: now(),
            officers: [officer], members: all, recoveryCertificates: recovery, currentEpoch: 1,
            epochs: [EpochCommitment(epoch: 1, commitment: ZonePolicy.commitment(zoneID: zoneID, epoch: 1, zoneKey: zoneKey))],
            keyringHash: keyring.hash)
        do {
            return try publish(root: root, policy: policy, keyring: keyring, officer: officer, key: key, context: context)
        } catch {
            _ = try? FileIO.listDirectory(metadataDirectory(root)).map { unlink(metadataDirectory(root) + "/" + $0) }
            rmdir(metadataDirectory(root))
            throw error
        }
    }

    /// `zone grant`: wraps every epoch's zone key (that the officer holds) for `member`.
    public func granting(_ member: Certificate, key: PrivateKey, context: ZoneContext) throws -> Zone {
        let officer = try officerCertificate(for: key)
        guard !policy.members.contains(where: { $0.fingerprint == member.fingerprint || $0.publicKey == member.publicKey }) else {
            throw ZoneError.alreadyMember(member.subject, root)
        }
        var keys = try zoneKeys(for: key, name: "the officer identity")
        defer { keys.removeAll() }
        var keyring = self.keyring
        for (epoch, zoneKey) in keys.sorted(by: { $0.key < $1.key }) {
            try keyring.add(zoneKey: zoneKey, epoch: epoch, for: member)
        }
        var next = nextPolicy(keyring: keyring)
        next.members.append(member)
        return try Zone.publish(root: root, policy: next, keyring: keyring, officer: officer, key: key, context: context)
    }

    /// `zone revoke`: removes `member` and starts a new epoch whose zone key is wrapped for
    /// the remaining members only; older epochs stay readable by those who held them.
    public func revoking(_ member: Certificate, key: PrivateKey, context: ZoneContext) throws -> Zone {
        let officer = try officerCertificate(for: key)
        guard let existing = policy.members.first(where: { $0.fingerprint == member.fingerprint || $0.publicKey == member.publicKey }) else {
            throw ZoneError.notAMemberCertificate(member.subject, root)
        }
        let remaining = policy.members.filter { $0.fingerprint != existing.fingerprint }
        guard !remaining.isEmpty else { throw ZoneError.lastMember(member.subject, root) }
        let epoch = policy.currentEpoch + 1
        let zoneKey = SecureBytes.random(count: 32)
        var keyring = self.keyring
        keyring.removeEntries(of: existing)
        for m in remaining { try keyring.add(zoneKey: zoneKey, epoch: epoch, for: m) }
        var next = nextPolicy(keyring: keyring)
        next.members = remaining
        next.currentEpoch = epoch
        next.epochs.append(EpochCommitment(epoch: epoch, commitment: ZonePolicy.commitment(zoneID: policy.zoneID, epoch: epoch, zoneKey: zoneKey)))
        return try Zone.publish(root: root, policy: next, keyring: keyring, officer: officer, key: key, context: context)
    }

    func officerCertificate(for key: PrivateKey) throws -> Certificate {
        guard let officer = policy.isOfficer(key.publicKey) else { throw ZoneError.notOfficer("the identity", root) }
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

    /// Signs and publishes a new version. The keyring is content-addressed (written first,
    /// idempotent); the policy file is created with `link(2)`, which fails if the version
    /// exists — the second of two concurrent officers gets "policy changed; re-run".
    static func publish(root: String, policy: ZonePolicy, keyring: Keyring, officer: Certificate,
                        key: PrivateKey, context: ZoneContext) throws -> Zone {
        let signed = try SignedPolicy.sign(policy, officer: officer, key: key)
        let path = policyPath(root: root, version: policy.version)
        try ZoneTrust.check(signed, file: path, context: context, record: nil)
        let krPath = keyringPath(root: root, hash: keyring.hash)
        if !FileIO.exists(krPath) { try FileIO.writeReplacing(krPath, keyring.encoded()) }
        guard try FileIO.writeExclusive(path, signed.fileBytes) else { throw ZoneError.policyChanged(root) }
        try ZoneTrust.accept(signed, file: path, context: context)
        return Zone(root: root, signed: signed, keyring: keyring)
    }

    static func now() -> UInt64 { UInt64(max(0, time(nil))) }

    // MARK: - Member access

    /// Unwraps every zone key this member holds and checks each against the policy's
    /// commitment. One public-key operation per epoch, per command — never per file.
    public func zoneKeys(for key: any PrivateKeyOperations, name: String) throws -> [UInt32: SecureBytes] {
        guard let member = policy.isMember(key.publicKey) else { throw ZoneError.notMember(name, root) }
        let krPath = Zone.keyringPath(root: root, hash: policy.keyringHash)
        var keys: [UInt32: SecureBytes] = [:]
        for e in policy.epochs {
            let zoneKey: SecureBytes?
            do { zoneKey = try keyring.unwrap(epoch: e.epoch, member: member, key: key) } catch let error as CryptoError {
                throw ZoneError.malformed(krPath, "the entry for epoch \(e.epoch) does not unwrap with \(name): \(error)")
            }
            guard let zoneKey else { continue }
            guard constantTimeEquals(ZonePolicy.commitment(zoneID: policy.zoneID, epoch: e.epoch, zoneKey: zoneKey), e.commitment) else {
                throw ZoneError.zoneKeyCommitmentMismatch(krPath, e.epoch)
            }
            keys[e.epoch] = zoneKey
        }
        guard !keys.isEmpty else { throw ZoneError.notMember(name, root) }
        return keys
    }
}
