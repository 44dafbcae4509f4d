import TriadCrypto

/// Whether a signed policy may be trusted (DESIGN §2, docs/zone.md §3).
///
/// Order of checks: the signature and officer membership (a hand edit fails here), then
/// rollback/replacement against local state, then the trust anchor — the trust file if there
/// is one, else the officers pinned on first use for this zone id.
public enum ZoneTrust {
    /// Checks `signed` and, if it passes, records it in local state (raising the highest
    /// version seen; pinning the officers on first use when there is no trust file).
    public static func accept(_ signed: SignedPolicy, file: String, context: ZoneContext) throws {
        let zoneID = signed.policy.zoneID
        let record = try context.state.load(zoneID: zoneID)
        try check(signed, file: file, context: context, record: record)
        var pinned = record?.pinnedOfficers ?? []
        if context.trust == nil {
            if pinned.isEmpty {
                let who = signed.policy.officers.map { "\($0.subject) (sha256 \($0.fingerprint.hex.prefix(16))…)" }.joined(separator: ", ")
                context.notice("no trust file (--trust, TRIAD_TRUST or \(TrustFile.systemPath)): pinning officer \(who) of zone \(zoneID.hex) on first use in \(context.state.path(zoneID: zoneID))")
            }
            pinned = signed.policy.officers.map(\.fingerprint)
        }
        if let record, record.highestVersion == signed.policy.version, record.pinnedOfficers == pinned { return }
        try context.state.save(zoneID: zoneID, ZoneStateRecord(highestVersion: signed.policy.version, policyHash: signed.hash, pinnedOfficers: pinned))
    }

    /// The checks alone, without touching local state. `record` nil means "first use".
    public static func check(_ signed: SignedPolicy, file: String, context: ZoneContext, record: ZoneStateRecord?) throws {
        guard signed.signatureIsValid else { throw ZoneError.policySignatureInvalid(file) }
        let policy = signed.policy
        if let record {
            if policy.version < record.highestVersion {
                throw ZoneError.rollback(file, policy.version, record.highestVersion)
            }
            if policy.version == record.highestVersion && signed.hash != record.policyHash {
                throw ZoneError.policyReplaced(file, policy.version)
            }
        }
        if let trust = context.trust {
            guard trust.trustsOfficer(signed.signer) else {
                throw ZoneError.officerNotTrusted(file, signed.signer.subject, trust.path)
            }
            for cert in policy.recoveryCertificates where !trust.listsRecovery(cert) {
                throw ZoneError.recoveryNotTrusted(file, cert.fingerprint.hex, trust.path)
            }
        } else if let record, !record.pinnedOfficers.isEmpty {
            guard record.pinnedOfficers.contains(signed.signer.fingerprint) else {
                throw ZoneError.officerNotPinned(file, signed.signer.subject, context.state.path(zoneID: policy.zoneID))
            }
        }
    }
}
