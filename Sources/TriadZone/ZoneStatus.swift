import Foundation
import TriadCrypto
import TriadFormat

/// `zone status`: what the policy says and what state the files are in. Needs no key:
/// everything comes from the signed policy and the file headers (docs/zone.md §6).
public struct ZoneStatus {
    /// Files counted by state (docs/zone.md §8).
    public struct FileCounts: Equatable {
        /// Files with the Triad magic.
        public var encrypted = 0
        /// Files without it: not yet encrypted, or never meant to be.
        public var plaintext = 0
        /// Encrypted files without a zone slot for the newest epoch (`zone rekey` fixes them).
        public var staleEpoch = 0
        /// Encrypted files lacking a slot for some pinned recovery certificate.
        public var missingRecoverySlot = 0
        /// Encrypted files still carrying a slot for a recovery certificate the zone retired
        /// (pinned earlier, not now): the retired key still opens them until `zone rekey`.
        public var retiredRecoverySlot = 0
        /// Encrypted files whose file key predates the newest epoch (`rekey --reencrypt`).
        public var staleKeyOrigin = 0
        /// Encrypted files carrying a certificate slot that is neither for a recovery
        /// certificate of the zone's history nor recorded by a re-grant (`zone rekey` removes it).
        public var unauthorisedCertificateSlot = 0
        /// Encrypted files of another zone.
        public var otherZone = 0
        /// Files with the Triad magic whose header does not parse.
        public var damaged = 0
        /// Temporary files of running or crashed writes.
        public var temporary = 0
        /// Folders holding another zone's `.zone/`, not counted in (docs/zone.md §1a).
        public var nestedZones = 0
        /// Files and folders that could not be read (permissions).
        public var unreadable = 0
    }

    /// The zone folder.
    public var root: String
    /// The zone id.
    public var zoneID: [UInt8]
    /// The newest policy version present.
    public var policyVersion: UInt64
    /// False when the newest policy is not accepted (see `policyError`).
    public var policySignatureValid: Bool
    /// Why the policy is not accepted (signature, trust, rollback), or nil.
    public var policyError: String?
    /// The trust file used, if any.
    public var trustFile: String?
    /// The newest epoch.
    public var epoch: UInt32
    /// SHA-256 of each officer certificate.
    public var officers: [[UInt8]]
    /// SHA-256 of each member certificate.
    public var members: [[UInt8]]
    /// Each member's subject, for people reading the status.
    public var memberSubjects: [String]
    /// SHA-256 of each pinned recovery certificate.
    public var recoveryCertificates: [[UInt8]]
    /// The files' states.
    public var files = FileCounts()
    /// The files counted in `files.unauthorisedCertificateSlot`, sorted, with the fingerprints
    /// their planted slots name: for the officer to see who could open them.
    public var unauthorisedCertificateSlots: [(path: String, fingerprints: [[UInt8]])] = []
    /// The kept versions and whether they form an unbroken, officer-signed chain.
    public var history = PolicyHistory(versions: 0, problems: [])
    /// SHA-256 of `.zone/policy.1` (nil when it cannot be read) and of the newest policy file:
    /// what an organisation pins in its trust file, and what people compare (docs/zone.md §3).
    public var firstPolicyHash: [UInt8]?
    /// SHA-256 of the newest policy file.
    public var policyHash: [UInt8] = []
    /// How this machine accepts the zone: with a trust file or on first use (docs/zone.md §3).
    public var trustMode: TrustMode = .firstUse
    /// Pinned recovery certificates that expire within `CertificatePolicy.expiryWarningDays`.
    public var expiringRecoveryCertificates: [(fingerprint: [UInt8], notAfter: Date, daysLeft: Int)] = []

    /// The status of the zone at `root`, read without keys; a policy that is not accepted is reported, not thrown.
    public static func of(root: String, context: ZoneContext) throws -> ZoneStatus {
        let zone = try Zone.load(root: root)
        let policy = zone.policy
        var error: String?
        do { _ = try Zone.open(root: root, context: context) } catch let e as ZoneError {
            error = e.description
        }
        var status = ZoneStatus(
            root: root, zoneID: policy.zoneID, policyVersion: policy.version,
            policySignatureValid: error == nil, policyError: error, trustFile: context.trust?.path,
            epoch: policy.currentEpoch, officers: policy.officers.map(\.fingerprint),
            members: policy.members.map(\.fingerprint), memberSubjects: policy.members.map(\.subject),
            recoveryCertificates: policy.recoveryCertificates.map(\.fingerprint))
        status.history = try PolicyHistory.verify(root: root, trust: context.trust)
        status.firstPolicyHash = (try? MetadataFile.read(Zone.policyPath(root: root, version: 1), limit: ZoneLimits.policyBytes)).map(SHA256.hash)
        status.policyHash = zone.signed.hash
        status.trustMode = context.trust == nil ? .firstUse : .trustFile
        status.expiringRecoveryCertificates = policy.recoveryCertificates.filter { CertificatePolicy.isExpiringSoon($0) }
            .map { ($0.fingerprint, $0.notAfter, CertificatePolicy.daysLeft($0)) }
        let expected = HeaderExpectations(zone: zone)
        let listing = try ZoneTree.list([root])
        status.files.temporary = listing.temporaries.count
        status.files.nestedZones = listing.nestedZones.count
        status.files.unreadable = listing.unreadable.count
        // Headers only, no key: each file is read once, by the engine's workers.
        let directory = try ZoneDirectory(root: root)
        let run = TreeEngine().run(listing.files) { file -> FileStep<FileState?> in
            guard case .encrypted(let header) = try FileProbe.read(file.path, beneath: directory) else { return .leave(nil) }
            return .leave(FileState(header: header, expecting: expected))
        }
        for failure in run.failures {
            if case ZoneError.io = failure.error { status.files.unreadable += 1 } else { status.files.damaged += 1 }
        }
        for (file, state) in run.outcomes {
            guard let state else { status.files.plaintext += 1; continue }
            guard !state.otherZone else { status.files.otherZone += 1; continue }
            status.files.encrypted += 1
            if state.staleEpoch { status.files.staleEpoch += 1 }
            if !state.missingRecovery.isEmpty { status.files.missingRecoverySlot += 1 }
            if state.retiredRecoverySlot { status.files.retiredRecoverySlot += 1 }
            if state.staleKeyOrigin { status.files.staleKeyOrigin += 1 }
            if !state.unauthorisedCertificateSlots.isEmpty {
                status.files.unauthorisedCertificateSlot += 1
                status.unauthorisedCertificateSlots.append((file.path, state.unauthorisedCertificateSlots.sorted { $0.lexicographicallyPrecedes($1) }))
            }
        }
        status.unauthorisedCertificateSlots.sort { $0.path < $1.path }
        return status
    }
}
