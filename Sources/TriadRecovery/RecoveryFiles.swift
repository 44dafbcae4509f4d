import TriadCrypto
import TriadFormat
import TriadZone

/// What the unlocked recovery key does to files (docs/recovery.md §3–§6), each a job on the
/// zone layer's tree engine (`TreeEngine`): workers, batched durability, a file that cannot
/// be processed named and the rest done, and a stop request that ends the run after the files
/// in hand with the finished batch durable. Every operation is idempotent per file, so an
/// interrupted run is resumed by running it again.
public enum RecoveryFiles {
    /// What a recovery job did, as journalled by the ceremony.
    public struct Outcome: Equatable, Codable {
        /// Files rewritten and durable.
        public var done = 0
        /// Files an earlier run already did (a resumed run skips them).
        public var alreadyDone = 0
        /// Files that are not encrypted.
        public var skippedPlaintext = 0
        /// Encrypted files without a recovery slot for this key: the recovery key cannot open them.
        public var noRecoverySlot: [String] = []
        /// Files, folders and batches that failed, each "PATH: reason".
        public var failed: [String] = []
        /// Files not reached because the run was stopped (or could not commit).
        public var notFinished = 0
        /// True when the run stopped after the files in hand.
        public var interrupted = false
        /// Nothing done yet.
        public init() {}
        /// True when every file was handled: the ceremony step succeeds only then.
        public var ok: Bool { failed.isEmpty && noRecoverySlot.isEmpty && notFinished == 0 && !interrupted }
    }

    /// What a job found for one file.
    enum Step { case done, alreadyDone, plaintext, noRecoverySlot }

    /// Re-grant, header only: adds to each file a certificate slot (format type 0x0003, the
    /// file key wrapped to `holder`'s public key under the run's one encapsulation to it,
    /// docs/format.md §3.4) so the new holder opens it with their own card or key file, and a
    /// re-grant record (`RegrantRecord`, delegated by the recovery key) that keeps `zone rekey`
    /// from removing it; no plaintext is produced anywhere — the
    /// file key is unwrapped with the recovery key and re-wrapped in memory, the payload
    /// bytes are copied unchanged. A file that already has a slot for `holder` is left alone.
    public static func regrant(_ paths: [String], recoveryKey: PrivateKey, recoveryCertificate: Certificate,
                               to holder: Certificate, engine: TreeEngine = TreeEngine()) throws -> Outcome {
        let identity = RecoveryIdentity(key: recoveryKey, certificateFingerprint: recoveryCertificate.fingerprint)
        let recipient = RecoveryRecipient(certificate: holder)
        // One delegation per zone and run, signed by the recovery key; each file's record is
        // signed by the run's delegate (RegrantRecord, docs/zone.md §7).
        let records = RegrantRecords(holder: holder.fingerprint, recoveryCertificate: recoveryCertificate, recoveryKey: recoveryKey)
        let roots = try ZoneDirectory.roots(of: paths)
        return try run(paths, engine) { file in
            let opened = try ZoneDirectory.open(file.path, in: roots)
            guard case .encrypted(let header) = try FileProbe.read(opened) else { return .leave(.plaintext) }
            if header.hasCertificateSlot(for: holder.fingerprint) { return .leave(.alreadyDone) }
            guard header.hasCertificateSlot(for: recoveryCertificate.fingerprint) else { return .leave(.noRecoverySlot) }
            // The record is what tells `zone status` and `zone rekey` this slot was given by a
            // ceremony and not planted (docs/zone.md §7).
            let record = try records.record(zoneID: header.zoneID)
            // Under the file's commit lock, so a mount's commit is not lost (docs/mount.md §4).
            return .write(try ReplacementLock.reading(opened) {
                try EncryptedFile.rewrap(opened, identities: [identity], keep: { _ in true }, add: [recipient, record])
            }, .done)
        }
    }

    /// Decrypts into `quarantine`, mirroring each file's path relative to `base`; files are
    /// written crash-safely with mode 0600 in folders of mode 0700. The quarantine must be new,
    /// or one this ceremony made (`Quarantine`); a file already in it is "already done".
    public static func decrypt(_ paths: [String], base: String, quarantine: String, ceremonyID: String,
                               recoveryKey: PrivateKey, recoveryCertificate: Certificate,
                               engine: TreeEngine = TreeEngine()) throws -> Outcome {
        let folder = try Quarantine.prepare(quarantine, ceremonyID: ceremonyID)
        let identity = RecoveryIdentity(key: recoveryKey, certificateFingerprint: recoveryCertificate.fingerprint)
        let absoluteBase = Zone.absolute(base)
        let roots = try ZoneDirectory.roots(of: paths)
        return try run(paths, engine) { file in
            let opened = try ZoneDirectory.open(file.path, in: roots)
            guard case .encrypted(let header) = try FileProbe.read(opened) else { return .leave(.plaintext) }
            guard header.hasCertificateSlot(for: recoveryCertificate.fingerprint) else { return .leave(.noRecoverySlot) }
            let target = try folder.target(for: ZoneTree.relative(file.path, to: absoluteBase))
            if folder.holdsCopy(target, of: header.fileID) { return .leave(.alreadyDone) }
            let pending = try EncryptedFile.decrypt(opened, to: target, finalMode: 0o600, identities: [identity])
            Quarantine.label(pending, fileID: header.fileID)
            return .write(pending, .done)
        }
    }

    /// Recovery-key rotation, header only: in each file, the slot for `old` is replaced by a
    /// slot for `new` (unwrapped with the old key, re-wrapped in memory). Files already
    /// carrying only `new` are skipped, so a run that was interrupted resumes where it
    /// stopped; each file is rewritten atomically, so none is ever left with neither.
    public static func rotate(_ paths: [String], oldKey: PrivateKey, old: Certificate, new: Certificate,
                              engine: TreeEngine = TreeEngine()) throws -> Outcome {
        let identity = RecoveryIdentity(key: oldKey, certificateFingerprint: old.fingerprint)
        let recipient = RecoveryRecipient(certificate: new)
        let oldFingerprint = old.fingerprint
        let roots = try ZoneDirectory.roots(of: paths)
        return try run(paths, engine) { file in
            let opened = try ZoneDirectory.open(file.path, in: roots)
            guard case .encrypted(let header) = try FileProbe.read(opened) else { return .leave(.plaintext) }
            let hasNew = header.hasCertificateSlot(for: new.fingerprint)
            guard header.hasCertificateSlot(for: oldFingerprint) else { return .leave(hasNew ? .alreadyDone : .noRecoverySlot) }
            return .write(try ReplacementLock.reading(opened) {
                try EncryptedFile.rewrap(opened, identities: [identity], keep: { slot in
                    guard SlotType.isCertificateSlot(slot.type), let info = try? RecoverySlotInfo(slot: slot) else { return true }
                    return info.certificateFingerprint != oldFingerprint
                }, add: hasNew ? [] : [recipient])
            }, .done)
        }
    }

    /// Coverage: how many encrypted files under `paths` carry a recovery slot for `certificate`.
    public struct Coverage: Equatable, Codable {
        /// Encrypted files found.
        public var encrypted = 0
        /// Of those, files with a recovery slot for the certificate.
        public var covered = 0
        /// The files without one, by path.
        public var uncovered: [String] = []
        /// True when every encrypted file is covered.
        public var complete: Bool { encrypted == covered }
    }

    /// Counts coverage without a key (headers only). A file whose header does not parse counts
    /// as encrypted and not covered: nobody could recover it.
    public static func coverage(_ paths: [String], certificate: Certificate, engine: TreeEngine = TreeEngine()) throws -> Coverage {
        let fingerprint = certificate.fingerprint
        let roots = try ZoneDirectory.roots(of: paths)
        let run = engine.run(try ZoneTree.list(paths).files) { file -> FileStep<Bool?> in
            guard case .encrypted(let header) = try FileProbe.read(ZoneDirectory.open(file.path, in: roots)) else { return .leave(nil) }
            return .leave(header.hasCertificateSlot(for: fingerprint))
        }
        var c = Coverage()
        for (file, covered) in run.outcomes {
            guard let covered else { continue }
            c.encrypted += 1
            if covered { c.covered += 1 } else { c.uncovered.append(file.path) }
        }
        for failure in run.failures {
            c.encrypted += 1
            c.uncovered.append(failure.path)
        }
        return c
    }

    /// Lists `paths`, runs `job` on the engine and sums up for the journal.
    private static func run(_ paths: [String], _ engine: TreeEngine,
                            _ job: @escaping (TreeFile) throws -> FileStep<Step>) throws -> Outcome {
        let listing = try ZoneTree.list(paths)
        let run = engine.run(listing.files, job)
        var out = Outcome()
        for (file, step) in run.outcomes {
            switch step {
            case .done: out.done += 1
            case .alreadyDone: out.alreadyDone += 1
            case .plaintext: out.skippedPlaintext += 1
            case .noRecoverySlot: out.noRecoverySlot.append(file.path)
            }
        }
        out.failed = listing.unreadable.map { "\($0.path): \($0.reason)" }
            + listing.nestedZones.map { "\($0): holds another zone's .zone/ and was not entered" }
            + run.failures.map { describe($0) }
        if let error = run.commitFailure { out.failed.append("a batch could not be made durable: \(error)") }
        out.notFinished = run.notStarted + run.uncommitted
        out.interrupted = run.interrupted
        return out
    }

    /// "PATH: reason", without repeating a path the error already names.
    static func describe(_ failure: FileFailure) -> String {
        let text = String(describing: failure.error)
        return text.hasPrefix(failure.path) ? text : "\(failure.path): \(text)"
    }
}
