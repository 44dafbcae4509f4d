import Foundation
import TriadCrypto

/// The policy history in `.zone/` and the rules that link its versions (docs/zone.md §3).
///
/// Continuity: version 1 names no predecessor, carries the zone id its own fields determine
/// (`ZoneIdentity`) and is signed by one of its officers — who, with a trust file, must chain
/// to it. Version N+1 names the SHA-256 of version N's file, belongs to the same zone and is
/// signed by an officer *of version N* (and of itself). Nobody else — not IT, not an officer of
/// another zone, whatever the trust file lists — can make a version the readers accept.
///
/// The walk goes over the policy files present, in order, never over a range of numbers a
/// file name chose: a planted `policy.1000000000000` is one gap, reported, not a trillion
/// iterations.
public struct PolicyHistory: Equatable {
    /// How many policy files are present.
    public var versions: Int
    /// One sentence per break, naming the file; empty when the chain is intact.
    public var problems: [String]
    /// True when every version chains to the one before and is signed by its officer.
    public var isIntact: Bool { problems.isEmpty }

    /// The whole history checked from version 1, every problem listed (what `zone status`
    /// reports); with `trust`, version 1's signer and every pinned recovery certificate are
    /// checked against it as well.
    public static func verify(root: String, trust: TrustFile? = nil) throws -> PolicyHistory {
        let walk = try HistoryWalk.run(root: root, trust: trust, anchor: nil, stopAtFirstProblem: false)
        return PolicyHistory(versions: walk.count, problems: walk.problems.map(\.description))
    }
}

/// One pass over `.zone/policy.*` (see `PolicyHistory`).
struct HistoryWalk {
    var problems: [ZoneError] = []
    var count = 0
    var first: SignedPolicy?
    /// The highest version present, parsed and checked (nil when it is unreadable).
    var newest: SignedPolicy?
    var newestVersion: UInt64 = 0
    /// SHA-256 of every policy file read, by version.
    var hashes: [UInt64: [UInt8]] = [:]

    /// Walks the history from version 1. With an `anchor` (a version this machine verified
    /// before), the versions below it are only hashed and linked — their hashes chain to the
    /// anchor's, so they are the files verified then — and the full checks start at the anchor.
    static func run(root: String, trust: TrustFile?, anchor: ZoneStateRecord?, stopAtFirstProblem: Bool) throws -> HistoryWalk {
        let listing = try PolicyListing(root: root)
        var walk = HistoryWalk()
        walk.count = listing.versions.count
        walk.newestVersion = listing.versions.last ?? 0
        walk.problems = listing.stray.map { ZoneError.strayPolicyFile(file: Zone.metadataDirectory(root) + "/" + $0) }
        if stopAtFirstProblem && !walk.problems.isEmpty { return walk }
        var expected: UInt64 = 1
        var previous: (signed: SignedPolicy?, hash: [UInt8])?
        for version in listing.versions {
            let file = Zone.policyPath(root: root, version: version)
            if version != expected {
                walk.problems.append(.historyGap(file: file, missing: expected))
                if stopAtFirstProblem { return walk }
                previous = nil
            }
            expected = version &+ 1
            let isNewest = version == walk.newestVersion
            var found: [ZoneError] = []
            do {
                let bytes = try MetadataFile.read(file, limit: ZoneLimits.policyBytes)
                let hash = SHA256.hash(bytes)
                walk.hashes[version] = hash
                if let anchor, version < anchor.highestVersion, version != 1 {
                    let link = try SignedPolicy.link(fileBytes: bytes, context: file)
                    found = linkProblems(link, file: file, version: version, previous: previous, first: walk.first, root: root)
                    previous = (nil, hash)
                } else {
                    let signed = try SignedPolicy(fileBytes: bytes, context: file)
                    found = versionProblems(signed, file: file, version: version, previous: previous, first: walk.first,
                                            isNewest: isNewest, trust: trust, root: root)
                    if version == 1 { walk.first = signed }
                    if isNewest && found.isEmpty { walk.newest = signed }
                    previous = (signed, hash)
                }
                if let anchor, version == anchor.highestVersion, hash != anchor.policyHash {
                    found.append(.policyReplaced(file: file, version: version))
                }
            } catch let error as ZoneError {
                found = [error]
                previous = nil
            }
            walk.problems += found
            if stopAtFirstProblem && !walk.problems.isEmpty { return walk }
        }
        return walk
    }

    /// The checks of one fully parsed version (docs/zone.md §3), in the order that gives the
    /// most telling message first: form, then the signature, then who signed it.
    static func versionProblems(_ signed: SignedPolicy, file: String, version: UInt64,
                                previous: (signed: SignedPolicy?, hash: [UInt8])?, first: SignedPolicy?,
                                isNewest: Bool, trust: TrustFile?, root: String) -> [ZoneError] {
        let policy = signed.policy
        guard policy.version == version else {
            return [.malformed(what: file, problem: "its name says version \(version) but it holds version \(policy.version)")]
        }
        var problems: [ZoneError] = []
        if version == 1 {
            if policy.previousPolicyHash != [UInt8](repeating: 0, count: 32) {
                problems.append(.malformed(what: file, problem: "it is version 1 but names a previous policy"))
            }
            if signed.signatureIsValid && !ZoneIdentity.isBound(policy) {
                problems.append(.zoneIDNotBound(file: file, zoneID: policy.zoneID.hex))
            }
        } else {
            if let first, policy.zoneID != first.policy.zoneID || policy.genesisNonce != first.policy.genesisNonce {
                problems.append(.otherZoneInHistory(file: file, zoneID: policy.zoneID.hex, firstZoneID: first.policy.zoneID.hex))
            }
            if let previous, policy.previousPolicyHash != previous.hash {
                problems.append(.brokenLink(file: file, previous: "policy.\(version - 1)"))
            }
        }
        guard signed.signatureIsValid else { return problems + [.policySignatureInvalid(file: file)] }
        if version > 1, let earlier = previous?.signed, !earlier.policy.officers.contains(where: { $0.der == signed.signer.der }) {
            problems.append(.signerNotPreviousOfficer(file: file, signer: signed.signer.subject, previous: "policy.\(version - 1)"))
        }
        if let problem = signerProblem(signed) {
            problems.append(.signerCertificateRefused(file: file, signer: signed.signer.subject, problem: problem))
        }
        if let trust {
            if version == 1, let why = trust.officerProblem(signed.signer, at: signed.signedAt) {
                problems.append(.genesisNotTrusted(file: file, signer: signed.signer.subject, trust: trust.path, reason: why))
            }
            for cert in policy.recoveryCertificates {
                if isNewest && trust.retiredRecovery.contains(cert.fingerprint) {
                    problems.append(.retiredRecoveryPinned(file: file, fingerprint: cert.fingerprint.hex, trust: trust.path))
                } else if !(isNewest ? trust.listsRecovery(cert) : trust.publishedRecovery(cert)) {
                    problems.append(.recoveryNotTrusted(file: file, fingerprint: cert.fingerprint.hex, trust: trust.path))
                }
            }
        }
        return problems
    }

    /// How far a signer's certificate may have been issued after the policy's own clock said
    /// it signed (two machines' clocks disagree by this much at most).
    static let clockSlack: TimeInterval = 600

    /// Whether the signer's certificate could sign policies when the version was signed.
    static func signerProblem(_ signed: SignedPolicy) -> CertificatePolicyError? {
        let cert = signed.signer
        let at = signed.signedAt
        if cert.notAfter < at { return .expired(notAfter: cert.notAfter) }
        if cert.notBefore > at.addingTimeInterval(clockSlack) { return .notYetValid(notBefore: cert.notBefore) }
        do { try CertificatePolicy.checkUsage(cert, for: .officer) } catch let e as CertificatePolicyError { return e } catch { return nil }
        return nil
    }

    /// The checks of a version below the anchor: only how it links to its neighbours.
    static func linkProblems(_ link: SignedPolicy.Link, file: String, version: UInt64,
                             previous: (signed: SignedPolicy?, hash: [UInt8])?, first: SignedPolicy?, root: String) -> [ZoneError] {
        guard link.version == version else {
            return [.malformed(what: file, problem: "its name says version \(version) but it holds version \(link.version)")]
        }
        var problems: [ZoneError] = []
        if let first, link.zoneID != first.policy.zoneID || link.genesisNonce != first.policy.genesisNonce {
            problems.append(.otherZoneInHistory(file: file, zoneID: link.zoneID.hex, firstZoneID: first.policy.zoneID.hex))
        }
        if let previous, link.previousPolicyHash != previous.hash {
            problems.append(.brokenLink(file: file, previous: "policy.\(version - 1)"))
        }
        return problems
    }
}

extension SignedPolicy {
    /// When the officer signed it, by the policy's own (signed) clock.
    public var signedAt: Date { Date(timeIntervalSince1970: TimeInterval(policy.createdAt)) }
}

/// The policy versions present in `.zone/` (docs/zone.md §1): `policy.<N>` with N written in
/// decimal without leading zeros. Other `policy.*` names are reported as stray.
struct PolicyListing {
    var versions: [UInt64] = []
    var stray: [String] = []

    init(root: String) throws {
        let dir = Zone.metadataDirectory(root)
        for name in try MetadataFile.listNames(dir, limit: ZoneLimits.metadataEntries) where name.hasPrefix("policy.") {
            let digits = name.dropFirst("policy.".count)
            if let v = UInt64(digits), v >= 1, String(v) == digits { versions.append(v) } else { stray.append(name) }
        }
        versions.sort()
        stray.sort()
        guard !versions.isEmpty else { throw ZoneError.noPolicy(folder: root) }
    }
}
