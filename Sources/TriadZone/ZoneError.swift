import TriadCrypto

/// Errors of the zone layer. Each case carries the file or step it concerns, and its
/// description is one sentence a person can act on: what is wrong, in which file, what to do.
public enum ZoneError: Error, CustomStringConvertible, Equatable {
    // Zone files and their contents (docs/zone.md §1, §2).
    case malformed(what: String, problem: String)
    case notInZone(path: String)
    case zoneExists(folder: String)
    case noPolicy(folder: String)
    case policySignatureInvalid(file: String)
    case recoveryNotTrusted(file: String, fingerprint: String, trust: String)
    case rollback(file: String, version: UInt64, seen: UInt64)
    case policyReplaced(file: String, version: UInt64)
    case policyChanged(folder: String)
    case keyringMismatch(file: String)
    case zoneKeyCommitmentMismatch(file: String, epoch: UInt32)

    // Members and officers (docs/zone.md §5).
    case notMember(identity: String, zone: String)
    case notOfficer(identity: String, zone: String)
    case alreadyMember(subject: String, zone: String)
    case notAMemberCertificate(subject: String, zone: String)
    case identityDoesNotMatchCertificate(identity: String, certificate: String)
    case noMatchingSlot(file: String, identity: String)
    case otherZone(file: String)
    case signingNeedsKeyFile(identity: String)
    case lastMember(subject: String, zone: String)

    // Files Triad reads or writes outside the zone, and plain I/O.
    case trustFile(path: String, problem: String)
    case state(path: String, problem: String)
    case io(path: String, problem: String)

    // Recovery certificates (docs/zone.md §5a).
    case recoveryNotPinned(subject: String, fingerprint: String, zone: String)
    case recoveryAlreadyPinned(subject: String, fingerprint: String, zone: String)
    case recoveryNotPublished(subject: String, fingerprint: String, trust: String)
    /// Removing the certificates asked for would leave none; the caller may add the new one in
    /// the same change.
    case lastRecoveryCertificate(zone: String)
    /// Files still carry a recovery slot only for a certificate being removed; the caller may
    /// choose to remove it anyway (those files are then counted by `zone status`).
    case filesStillNeedRecoveryCertificate(zone: String, count: Int, example: String)

    // Bounds (docs/zone.md §2b).
    case notRegularFile(path: String, kind: String)
    case tooLarge(path: String, size: Int, limit: Int)
    case tooManyEntries(path: String, limit: Int)
    case limitExceeded(zone: String, what: String, count: Int, limit: Int)

    // The policy history (docs/zone.md §3).
    case historyGap(file: String, missing: UInt64)
    case strayPolicyFile(file: String)
    case brokenLink(file: String, previous: String)
    case signerNotPreviousOfficer(file: String, signer: String, previous: String)
    case otherZoneInHistory(file: String, zoneID: String, firstZoneID: String)
    case zoneIDNotBound(file: String, zoneID: String)
    case genesisNotTrusted(file: String, signer: String, trust: String, reason: String)
    case retiredRecoveryPinned(file: String, fingerprint: String, trust: String)
    case signerCertificateRefused(file: String, signer: String, problem: CertificatePolicyError)

    // Zone identity and local state (docs/zone.md §1, §3).
    case nestedZone(inner: String, outer: String)
    case folderHoldsOtherZone(folder: String, found: String, pinned: String, record: String)
    case trustDowngrade(zoneID: String, trustFile: String, record: String)
    case firstPolicyChanged(zoneID: String, record: String)

    // Trust-file pins (docs/zone.md §3).
    case trustPinMismatch(file: String, version: UInt64, trust: String)
    case trustPinMissing(zoneID: String, version: UInt64, newest: UInt64, trust: String)
    case zoneNotPinned(zoneID: String, trust: String)

    // Certificates (docs/zone.md §2a).
    case certificateRefused(subject: String, role: String, problem: CertificatePolicyError)

    /// One sentence: what is wrong, in which file, what to do (option names are added by the CLI).
    public var description: String {
        switch self {
        case let .malformed(what, detail):
            return "\(what) is malformed (\(detail)); restore it from a backup of the zone"
        case let .notInZone(path):
            return "\(path) is not inside a zone (no .zone/ folder above it); run zone init on the folder first"
        case let .zoneExists(dir):
            return "\(dir) is already a zone (.zone/ exists); use zone grant/revoke to change it"
        case let .noPolicy(dir):
            return "\(dir)/.zone has no policy file; restore .zone/ from a backup"
        case let .policySignatureInvalid(file):
            return "\(file) is not signed by an officer of the zone (hand-edited or damaged); refusing it: restore .zone/ from a backup and have an officer make changes with zone grant/revoke"
        case let .recoveryNotTrusted(file, fp, trust):
            return "\(file) pins recovery certificate \(fp) which is not listed in the trust file \(trust); the recovery certificate was swapped: restore .zone/ from a backup (a new recovery certificate must be published in the trust file first)"
        case let .rollback(file, version, seen):
            return "\(file) is policy version \(version) but version \(seen) was seen before: the policy was rolled back; refusing it: restore the newest .zone/policy.* files from a backup"
        case let .policyReplaced(file, version):
            return "\(file) differs from the policy version \(version) seen before (replaced); refusing it: restore .zone/ from a backup"
        case let .policyChanged(dir):
            return "policy of \(dir) changed since you read it; re-run"
        case let .keyringMismatch(file):
            return "\(file) does not match the keyring hash in the signed policy; restore .zone/ from a backup"
        case let .zoneKeyCommitmentMismatch(file, epoch):
            return "the zone key of epoch \(epoch) in \(file) does not match the policy's commitment (keyring tampered with); restore .zone/ from a backup"
        case let .notMember(identity, dir):
            return "\(identity) is not a member of the zone \(dir) (no keyring entry); ask an officer to run zone grant"
        case let .notOfficer(identity, dir):
            return "\(identity) is not an officer of the zone \(dir); only an officer may change its policy"
        case let .alreadyMember(subject, dir):
            return "\(subject) is already a member of the zone \(dir); nothing to do"
        case let .notAMemberCertificate(subject, dir):
            return "\(subject) is not a member of the zone \(dir); nothing to revoke"
        case let .identityDoesNotMatchCertificate(identity, cert):
            return "the key of \(identity) does not match the certificate \(cert); give the officer's own key and certificate"
        case let .noMatchingSlot(file, identity):
            return "no key slot in \(file) matches \(identity); use a member's key or the recovery key"
        case let .otherZone(file):
            return "\(file) belongs to another zone (its zone id differs); move it back or decrypt it with that zone"
        case let .trustFile(path, detail):
            return "trust file \(path): \(detail)"
        case let .state(path, detail):
            return "local state \(path): \(detail); check the permissions of $XDG_STATE_HOME/triad"
        case let .io(path, detail):
            return "\(path): \(detail)"
        case let .lastMember(subject, dir):
            return "\(subject) is the last member of the zone \(dir); grant another member first, or nobody could read new files"
        case let .recoveryNotPinned(subject, fp, dir):
            return "recovery certificate \(subject) (sha256 \(fp)) is not pinned by the zone \(dir); nothing to remove (zone status lists the pinned ones)"
        case let .recoveryAlreadyPinned(subject, fp, dir):
            return "recovery certificate \(subject) (sha256 \(fp)) is already pinned by the zone \(dir); nothing to add"
        case let .recoveryNotPublished(subject, fp, trust):
            return "recovery certificate \(subject) (sha256 \(fp)) is not listed in the trust file \(trust); IT must publish it there first (docs/recovery.md §5), then re-run"
        case let .lastRecoveryCertificate(dir):
            return "the zone \(dir) would pin no recovery certificate; every file must carry a recovery slot: pin the new certificate in the same change"
        case let .filesStillNeedRecoveryCertificate(dir, count, example):
            return "\(count) encrypted files of \(dir) (e.g. \(example)) carry a recovery slot only for a certificate being removed; finish the recovery-key rotation first (re-run the ceremony to resume it), or pin the new certificate, run zone rekey and retry"
        case let .notRegularFile(path, kind):
            return "\(path) is \(kind), not a regular file; refusing to read it (zone metadata, the trust file and local state are regular files)"
        case let .tooLarge(path, size, limit):
            return "\(path) is \(size) bytes, more than the \(limit) allowed for it; refusing to read it (restore it from a backup, or remove it if it was planted)"
        case let .tooManyEntries(path, limit):
            return "\(path) holds more than \(limit) entries; refusing to list it (someone flooded it: remove what does not belong there)"
        case let .limitExceeded(zone, what, count, limit):
            return "\(what) in the policy of \(zone) would be \(count), more than the \(limit) every reader accepts; nothing was changed"
        case let .historyGap(file, missing):
            return "the policy history is broken: policy.\(missing) is missing before \(file); refusing the zone: restore the missing versions of .zone/ from a backup (or remove \(file) if it was planted)"
        case let .strayPolicyFile(file):
            return "\(file) is not a policy file name Triad writes (policy.<version>, no leading zeros); refusing the zone: remove it"
        case let .brokenLink(file, previous):
            return "the policy history is broken: \(file) does not name the hash of \(previous) (a version was replaced or edited); refusing the zone: restore .zone/ from a backup"
        case let .signerNotPreviousOfficer(file, signer, previous):
            return "\(file) is signed by \(signer), who is not an officer of \(previous): only an officer of the previous version may make the next one; refusing the zone: remove \(file) (and any later version) or restore .zone/ from a backup"
        case let .otherZoneInHistory(file, zoneID, firstZoneID) where zoneID == firstZoneID:
            return "\(file) names zone \(zoneID) but another genesis nonce than the zone's first policy: it belongs to another history; refusing the zone: restore .zone/ from a backup"
        case let .otherZoneInHistory(file, zoneID, firstZoneID):
            return "\(file) belongs to zone \(zoneID), but the history starts with zone \(firstZoneID); refusing the zone: restore .zone/ from a backup"
        case let .zoneIDNotBound(file, zoneID):
            return "\(file) claims zone id \(zoneID), which is not the id its own officers, recovery certificates and nonce determine (a forged first policy); refusing the zone: restore .zone/ from a backup"
        case let .genesisNotTrusted(file, signer, trust, reason):
            return "\(file) (the zone's first policy) is signed by \(signer), whom the trust file \(trust) does not allow to create zones (\(reason)); refusing the zone: ask IT whether this zone is genuine, and restore .zone/ from a backup if not"
        case let .retiredRecoveryPinned(file, fp, trust):
            return "\(file) pins recovery certificate \(fp), which the trust file \(trust) lists as retired; refusing the zone: an officer must pin the current recovery certificate"
        case let .signerCertificateRefused(file, signer, problem):
            return "\(file) is signed with the certificate of \(signer), which cannot sign zone policies: it \(problem); refusing the zone: restore .zone/ from a backup"
        case let .nestedZone(inner, outer):
            return "\(inner) holds its own .zone/ inside the zone \(outer); zones cannot be nested, so it is not used: move that zone out of \(outer) (or remove \(inner)/.zone if it was planted)"
        case let .folderHoldsOtherZone(folder, found, pinned, record):
            return "\(folder) now holds zone \(found), but zone \(pinned) was used in this folder before (recorded in \(record)); refusing it: if the zone was replaced on purpose, compare its first-policy words (zone status) with an officer, then delete \(record)"
        case let .trustDowngrade(zoneID, trustFile, record):
            return "zone \(zoneID) was accepted on this machine with the trust file \(trustFile) (recorded in \(record)); refusing to fall back to trust on first use without a trust file: use the trust file again"
        case let .firstPolicyChanged(zoneID, record):
            return "zone \(zoneID) now starts with a different first policy than the one recorded in \(record); refusing it: restore .zone/ from a backup"
        case let .trustPinMismatch(file, version, trust):
            return "\(file) is not the policy version \(version) the trust file \(trust) pins for this zone; refusing the zone: restore .zone/ from a backup"
        case let .trustPinMissing(zoneID, version, newest, trust):
            return "the trust file \(trust) pins version \(version) of zone \(zoneID), but the newest policy present is version \(newest) (rolled back); refusing the zone: restore the newest .zone/policy.* files from a backup"
        case let .zoneNotPinned(zoneID, trust):
            return "the trust file \(trust) pins its zones, and zone \(zoneID) is not one of them; refusing it: ask IT to pin it if it is genuine"
        case let .certificateRefused(subject, role, problem):
            return "the certificate of \(subject) cannot be used as \(role): it \(problem); ask for a certificate that can"
        case let .signingNeedsKeyFile(identity):
            return "\(identity) cannot sign the zone policy: signing needs an officer key given as file:PATH (PIV signing slot 9C is not supported yet)"
        }
    }
}
