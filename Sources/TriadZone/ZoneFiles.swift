#if canImport(Glibc)
import Glibc
#endif
import DurableFile
import SystemPackage
import TriadCrypto
import TriadFormat

/// The per-file commands: encrypt, decrypt, cat, rekey, each a job on the tree engine
/// (`TreeEngine`). Each file is handled atomically (temporary, durable, renamed; docs/format.md
/// §7.1, batched per §7.4), so a run killed at any moment leaves every file either as it was or
/// completely done, and re-running continues: done files are recognised (by magic, epoch,
/// recovery slots and origin marker) and skipped. A file that cannot be processed is named in
/// the report and the others are processed (docs/zone.md §7).
public struct ZoneFiles {
    /// The zone and the keys this run works with.
    public let access: ZoneAccess
    /// Workers, batches, error policy, progress and interruption of every run.
    public var engine = TreeEngine()
    /// Remarks about single files that are not failures (a file of another zone, left alone).
    public var notice: (String) -> Void = { _ in }
    /// Temporaries older than this (seconds) are from a dead run and are removed.
    public var staleTemporaryAge = 15 * 60

    /// Tree jobs run with `access`.
    public init(access: ZoneAccess) { self.access = access }

    var zone: Zone { access.zone }

    /// What a job did to one file.
    public enum Outcome: Equatable, Sendable {
        case done
        case alreadyDone
        case notEncrypted
        case otherZone
    }

    /// What a tree command did, for the CLI's summary and exit code.
    public struct Report {
        /// Files written (encrypted, decrypted, re-wrapped or re-encrypted) and durable.
        public var done = 0
        /// Files that needed nothing (already done, not encrypted, another zone's).
        public var skipped = 0
        /// Files of another zone, left as they are.
        public var otherZone: [String] = []
        /// Files (and folders) that could not be processed, in listing order.
        public var failures: [FileFailure] = []
        /// Folders holding another zone's `.zone/`, not entered (docs/zone.md §1a).
        public var nestedZones: [String] = []
        /// Why a batch could not be made durable, if one could not: its files are not finished.
        public var commitFailure: Error?
        /// Files not reached, and files whose batch did not commit (re-run to finish them).
        public var notFinished = 0
        /// True when the run stopped after the files in hand (Ctrl-C).
        public var interrupted = false

        /// Of the failures, files a mount was writing while they were to be replaced
        /// (docs/mount.md §4): left as they were; a re-run processes them.
        public var busy: Int { failures.filter { $0.error is FileBusy }.count }

        /// Every file of the tree was processed.
        public var isComplete: Bool { failures.isEmpty && nestedZones.isEmpty && commitFailure == nil && notFinished == 0 }
    }

    /// Encrypts every plaintext file under `paths` in place for the newest epoch.
    ///
    /// Why through an open descriptor: colleagues may encrypt the same tree at the same time.
    /// Checking the magic by path and then encrypting by path could encrypt a colleague's
    /// fresh ciphertext a second time. Here the magic is checked on the inode held open and
    /// exactly that inode is encrypted; if a colleague's rename lands first, ours replaces it
    /// with an encryption of the same plaintext.
    public func encrypt(_ paths: [String]) throws -> Report {
        let recipients = try access.recipients()
        let zoneID = zone.policy.zoneID
        let directory = try ZoneDirectory(root: zone.root)
        return try run(paths, removingStale: true) { file in
            // Beneath the zone root, no link followed, a regular file (docs/zone.md §1b).
            let opened = try directory.open(file.path)
            if EncryptedFile.isEncrypted(fd: opened.fd) {
                let header = try EncryptedFile.readHeader(of: opened)
                return .leave(header.zoneID == zoneID ? .alreadyDone : .otherZone)
            }
            // Another name for the same inode may lie outside the zone (a member's private
            // file): its content would become readable by every member.
            // No link left: another member's encrypt replaced (or someone removed) this name
            // after we listed it; what is there now is theirs to have written.
            if opened.status.st_nlink == 0 { return .leave(.alreadyDone) }
            guard opened.status.st_nlink == 1 else {
                throw ZoneError.io(path: opened.path, problem: "has \(opened.status.st_nlink) hard links: another name, perhaps outside the zone, shares its content, so it is not encrypted for the zone; make it a file of its own (cp, then mv over it) and encrypt again")
            }
            // Under the file's commit lock, so a mount's commit is not lost (docs/mount.md §4).
            return .write(try ReplacementLock.reading(opened) {
                try EncryptedFile.encrypt(opened, zoneID: zoneID, recipients: recipients)
            }, .done)
        }
    }

    /// Decrypts in place, or (with `output`) writes plaintext copies under `output` keeping
    /// each file's path relative to the zone root. Plaintext files are copied as they are.
    ///
    /// Plaintext is written 0600 and gets its final mode (in place: the file's; copies: 0600)
    /// only when committed. A copy never replaces an existing path unless `force`, and never
    /// writes through a link: the rename replaces the name itself (docs/zone.md §5b).
    public func decrypt(_ paths: [String], output: String?, force: Bool = false) throws -> Report {
        let identities = access.identities
        let directory = try ZoneDirectory(root: zone.root)
        // The output folder is made (mkdir -p) and held by the descriptor it was entered with.
        let base = try output.map { folder -> DirectoryHandle in
            do { return DirectoryHandle(folder: try DurableFolder.make(FilePath(Zone.absolute(folder)), mode: 0o755)) } catch let error as DurableError {
                throw FileIO.zoneError(error)
            }
        }
        return try run(paths, removingStale: false) { file in
            let opened = try directory.open(file.path)
            let encrypted = EncryptedFile.isEncrypted(fd: opened.fd)
            guard let base else {
                guard encrypted else { return .leave(.notEncrypted) }
                return .write(try mapNoKey(file.path) {
                    try ReplacementLock.reading(opened) {
                        try EncryptedFile.decrypt(opened, identities: identities)
                    }
                }, .done)
            }
            let target = try ZoneDirectory.output(try directory.relative(file.path), in: base, force: force)
            // Copies of plaintext are private to their owner, like decrypted files (0600).
            guard encrypted else { return .write(try PendingFile.copy(opened, to: target, replacing: force, finalMode: 0o600), .notEncrypted) }
            return .write(try mapNoKey(file.path) {
                try EncryptedFile.decrypt(opened, to: target, replacing: force, finalMode: 0o600, identities: identities)
            }, .done)
        }
    }

    /// Writes the plaintext of `file` to `fd` (stdout for `zone cat`). The file is opened
    /// beneath the zone root like every other (docs/zone.md §1b): a link, FIFO or device is refused.
    public func cat(_ file: String, to fd: Int32) throws {
        let opened = try ZoneDirectory(root: zone.root).open(file)
        try mapNoKey(file) { try EncryptedFile.decrypt(opened, to: fd, identities: access.identities) }
    }

    /// Re-wraps headers to the newest epoch and to every pinned recovery certificate, dropping
    /// slots of retired recovery certificates, planted certificate slots and a key-origin
    /// marker that does not match the file key; with `reencrypt`, fully re-encrypts files whose
    /// file key predates the newest epoch, or whose marker is forged, or that carried a planted
    /// certificate slot (docs/zone.md §7).
    public func rekey(_ paths: [String], reencrypt: Bool) throws -> Report {
        let policy = zone.policy
        guard let zoneKey = access.zoneKeys[policy.currentEpoch] else {
            throw ZoneError.notMember(identity: access.identityName, zone: zone.root)
        }
        let newest = ZoneSlotKey(zoneID: policy.zoneID, epoch: policy.currentEpoch, zoneKey: zoneKey)
        let full = try access.recipients()
        let expected = HeaderExpectations(zone: zone)
        let identities = access.identities
        // One recipient per pinned certificate for the whole run, shared by the workers.
        let recovery = Dictionary(uniqueKeysWithValues: policy.recoveryCertificates.map {
            ($0.fingerprint, RecoveryRecipient(certificate: $0))
        })
        let directory = try ZoneDirectory(root: zone.root)
        return try run(paths, removingStale: true) { file in
            let opened = try directory.open(file.path)
            guard case .encrypted(let header) = try FileProbe.read(opened) else { return .leave(.notEncrypted) }
            let state = FileState(header: header, expecting: expected)
            if state.otherZone { return .leave(.otherZone) }
            // A claim the newest epoch signed is checked against the file key itself: a marker
            // copied, with its file id, from a re-encrypted file commits to that file's key, not
            // to the key a revoked member chose for this one (docs/zone.md §7).
            var forgedOrigin = false
            if let claim = state.keyOrigin, claim.epoch == expected.epoch {
                let fileKey = try mapNoKey(file.path) { try EncryptedFile.verifiedFileKey(header, identities: identities, path: file.path) }
                forgedOrigin = !claim.matches(fileKey: fileKey, header: header)
            }
            // Whoever holds the key of a planted certificate slot may have the file key too.
            if reencrypt && (state.staleKeyOrigin || forgedOrigin || !state.unauthorisedCertificateSlots.isEmpty) {
                return .write(try mapNoKey(file.path) {
                    try ReplacementLock.reading(opened) {
                        try EncryptedFile.reencrypt(opened, identities: identities, zoneID: policy.zoneID, recipients: full)
                    }
                }, .done)
            }
            guard state.needsRewrap || forgedOrigin else { return .leave(.alreadyDone) }
            // Slots for recovery certificates the zone no longer pins are dropped (the retired
            // key must open nothing), and so are planted certificate slots and a forged marker;
            // re-grant slots a ceremony recorded are kept.
            let add: [any Recipient] = [newest] + state.missingRecovery.compactMap { recovery[$0.fingerprint] }
            return .write(try mapNoKey(file.path) {
                try ReplacementLock.reading(opened) {
                    try EncryptedFile.rewrap(opened, identities: identities,
                                             keep: { state.keepsOnRewrap($0, expecting: expected)
                                                     && !(forgedOrigin && $0.type == KeyOriginMarker.slotType) },
                                             add: add)
                }
            }, .done)
        }
    }

    /// Lists `paths`, runs `job` on the engine and sums up.
    private func run(_ paths: [String], removingStale: Bool,
                     _ job: @escaping (TreeFile) throws -> FileStep<Outcome>) throws -> Report {
        let listing = try ZoneTree.list(paths)
        if removingStale { ZoneTree.removeStale(listing.temporaries, olderThan: staleTemporaryAge) }
        for entry in listing.skipped {
            notice("\(entry.path) is \(entry.kind), not a regular file; skipped (links are never followed, FIFOs and devices never opened)")
        }
        let run = engine.run(listing.files, job)
        var report = Report()
        for (file, outcome) in run.outcomes {
            switch outcome {
            case .done: report.done += 1
            case .alreadyDone, .notEncrypted: report.skipped += 1
            case .otherZone:
                report.skipped += 1
                report.otherZone.append(file.path)
                notice("\(file.path) belongs to another zone; left as it is")
            }
        }
        report.failures = listing.unreadable.map { FileFailure(path: $0.path, error: ZoneError.io(path: $0.path, problem: $0.reason)) }
            + run.failures
        report.nestedZones = listing.nestedZones
        report.commitFailure = run.commitFailure
        report.notFinished = run.notStarted + run.uncommitted
        report.interrupted = run.interrupted
        return report
    }

    private func mapNoKey<T>(_ file: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch FormatError.noMatchingKey {
            throw ZoneError.noMatchingSlot(file: file, identity: access.identityName)
        }
    }
}
