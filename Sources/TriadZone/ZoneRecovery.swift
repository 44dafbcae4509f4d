import TriadCrypto
import TriadFormat

/// The officer's half of a recovery-key rotation (docs/zone.md §5a, docs/recovery.md §5): changing
/// which recovery certificates the zone policy pins.
///
/// Why an officer operation with the trust file as a second gate: IT controls the zone folder
/// and the trust file, an officer signs the policy. A new recovery certificate must already be
/// listed in the trust file (IT published it) *and* be pinned by an officer-signed policy
/// version, so neither party can swap it alone. Without a trust file (trust on first use) the
/// officer's signature is the only gate, and the tool says so.
extension Zone {
    /// What `changingRecovery` would strand: encrypted files of this zone that carry a slot for
    /// a certificate being removed but no slot for any certificate that stays pinned. After the
    /// change nobody but a retired recovery key could recover them.
    public func filesCoveredOnlyBy(removing removed: [Certificate], keeping kept: [Certificate]) throws -> [String] {
        let removedFPs = Set(removed.map(\.fingerprint))
        let keptFPs = Set(kept.map(\.fingerprint))
        let zoneID = policy.zoneID
        let directory = try ZoneDirectory(root: root)
        let run = TreeEngine().run(try ZoneTree.list([root]).files) { file -> FileStep<Bool> in
            guard case .encrypted(let header) = try FileProbe.read(file.path, beneath: directory), header.zoneID == zoneID else { return .leave(false) }
            let present = Set(header.certificateSlots.map(\.certificateFingerprint))
            return .leave(!present.isDisjoint(with: removedFPs) && present.isDisjoint(with: keptFPs))
        }
        return run.outcomes.filter(\.value).map(\.file.path)
    }

    /// `zone recovery`: a new policy version pinning the current recovery certificates plus
    /// `add` minus `remove`, signed by the officer `key` and published like grant/revoke
    /// (link-based, version + 1, previous hash). Refused when
    /// - an added certificate is already pinned, or a removed one is not;
    /// - no recovery certificate would be left (every file must carry a recovery slot, docs/zone.md §5a);
    /// - a trust file is in force and does not list an added certificate (IT publishes it first);
    /// - removing would leave files recoverable only by a removed certificate, unless `force`
    ///   (the rotation ceremony or `zone rekey` has not reached them yet; `zone status` then
    ///   counts them under `missing_recovery_slot`).
    public func changingRecovery(add: [Certificate], remove: [Certificate], force: Bool,
                                 key: PrivateKey, context: ZoneContext) throws -> Zone {
        let officer = try officerCertificate(for: key)
        var pinned = policy.recoveryCertificates
        for cert in remove {
            guard pinned.contains(where: { $0.fingerprint == cert.fingerprint }) else {
                throw ZoneError.recoveryNotPinned(subject: cert.subject, fingerprint: cert.fingerprint.hex, zone: root)
            }
            pinned.removeAll { $0.fingerprint == cert.fingerprint }
        }
        for cert in add {
            guard !pinned.contains(where: { $0.fingerprint == cert.fingerprint }) else {
                throw ZoneError.recoveryAlreadyPinned(subject: cert.subject, fingerprint: cert.fingerprint.hex, zone: root)
            }
            try Zone.checkCertificate(cert, role: .recovery)
            if let trust = context.trust, !trust.listsRecovery(cert) {
                throw ZoneError.recoveryNotPublished(subject: cert.subject, fingerprint: cert.fingerprint.hex, trust: trust.path)
            }
            pinned.append(cert)
        }
        guard !pinned.isEmpty else { throw ZoneError.lastRecoveryCertificate(zone: root) }
        if !remove.isEmpty && !force {
            let stranded = try filesCoveredOnlyBy(removing: remove, keeping: pinned)
            if let first = stranded.first {
                throw ZoneError.filesStillNeedRecoveryCertificate(zone: root, count: stranded.count, example: first)
            }
        }
        if context.trust == nil {
            context.notice("no trust file: the recovery certificates of \(root) change on the officer's signature alone")
        }
        var next = nextPolicy(keyring: keyring)
        next.recoveryCertificates = pinned
        return try Zone.publish(root: root, policy: next, keyring: keyring, officer: officer, key: key, previous: signed, context: context)
    }
}

extension Zone {
    /// Fingerprints of recovery certificates an earlier policy version pinned and this one does
    /// not: slots for them are left over from before a rotation, and `zone rekey` drops them so
    /// the retired key opens nothing (docs/zone.md §7). Walks back from this (trusted) version by
    /// the previous-policy hashes and stops at the first version that does not chain, so nobody
    /// controlling the folder can make a certificate look retired; re-grant slots (certificates
    /// of holders, never pinned) are therefore never in this set.
    public func retiredRecoveryFingerprints() -> Set<[UInt8]> {
        Set(retiredRecoveryCertificates().map(\.fingerprint))
    }

    /// The retired recovery certificates themselves (one per fingerprint): their keys may have
    /// signed re-grant records (`RegrantRecord`) that stay valid after a rotation.
    public func retiredRecoveryCertificates() -> [Certificate] {
        var retired: [[UInt8]: Certificate] = [:]
        var expected = policy.previousPolicyHash
        var version = policy.version
        while version > 1 {
            version -= 1
            let path = Zone.policyPath(root: root, version: version)
            guard let bytes = try? MetadataFile.read(path, limit: ZoneLimits.policyBytes), SHA256.hash(bytes) == expected,
                  let older = try? SignedPolicy(fileBytes: bytes, context: path) else { break }
            for certificate in older.policy.recoveryCertificates { retired[certificate.fingerprint] = certificate }
            expected = older.policy.previousPolicyHash
        }
        for certificate in policy.recoveryCertificates { retired[certificate.fingerprint] = nil }
        return retired.keys.sorted { $0.lexicographicallyPrecedes($1) }.compactMap { retired[$0] }
    }
}
