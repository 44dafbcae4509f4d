#if canImport(Glibc)
import Glibc
#endif
import TriadCrypto
import TriadFormat

/// The per-file commands: encrypt, decrypt, cat, rekey. Each file is handled atomically by
/// the format layer (temporary file, fsync, rename), so a run killed at any moment leaves
/// every file either as it was or completely done, and re-running continues: done files are
/// recognised (by magic, epoch, recovery slots and origin marker) and skipped.
public struct ZoneFiles {
    public let access: ZoneAccess
    public var progress: (Int, Int) -> Void = { _, _ in }
    public var notice: (String) -> Void = { _ in }
    /// Temporaries older than this (seconds) are from a dead run and are removed.
    public var staleTemporaryAge = 15 * 60
    /// Files encrypted at once by worker threads. With durability batched (below) the work
    /// per file is mostly crypto and small syscalls, which two cores overlap. Only `encrypt`
    /// runs in parallel: it uses software public keys only, while decrypt/rekey may drive a card.
    public var workers = 4
    /// Durability is paid once per batch of this many files or bytes (docs/format.md §7.4):
    /// encrypt into temporaries, make them durable together, rename each, fsync each folder once.
    public var batchFiles = 256
    public var batchBytes = 64 << 20

    public init(access: ZoneAccess) { self.access = access }

    var zone: Zone { access.zone }

    public struct Counts: Equatable {
        public var done = 0
        public var skipped = 0
    }

    /// Encrypts every plaintext file under `paths` in place for the newest epoch.
    ///
    /// Batched (docs/format.md §7.4): a crash still leaves every file its plaintext or its
    /// complete ciphertext, because a temporary is renamed only after the whole batch is
    /// durable. On an error the files of the batch encrypted before it are committed, the
    /// rest are left as they were, and the error is reported.
    public func encrypt(_ paths: [String]) throws -> Counts {
        let recipients = try access.recipients()
        let listing = try ZoneTree.list(paths)
        ZoneTree.removeStale(listing.temporaries, olderThan: staleTemporaryAge)
        let files = listing.files
        var counts = Counts()
        progress(0, files.count)
        // Batch k is committed in the background while batch k + 1 is encrypted.
        let committer = CommitPipeline()
        var start = 0
        while start < files.count {
            let end = batchEnd(sizes: listing.sizes, from: start)
            let outcome = ParallelFiles.map(Array(files[start..<end]), workers: workers, offset: start,
                                            total: files.count, progress: progress) { file in
                try encryptOne(file, recipients: recipients)
            }
            let stop = outcome.firstError?.index ?? outcome.values.count
            var pending: [PendingFile] = []
            for (i, value) in outcome.values.enumerated() {
                guard let value else { continue }
                if i >= stop { if let file = value { file.discard() }; continue }
                if let file = value { pending.append(file); counts.done += 1 } else { counts.skipped += 1 }
            }
            try committer.submit(pending)
            if let failure = outcome.firstError {
                try committer.finish()
                throw failure.error
            }
            start = end
        }
        try committer.finish()
        return counts
    }

    /// The end of the batch that starts at `start`: at most `batchFiles` files and about
    /// `batchBytes` bytes of plaintext (the dirty data one round of fsyncs has to write).
    private func batchEnd(sizes: [Int], from start: Int) -> Int {
        var end = start, bytes = 0
        while end < sizes.count && end - start < batchFiles && bytes < batchBytes {
            bytes += sizes[end]
            end += 1
        }
        return end
    }

    /// Encrypts one file into a pending temporary unless it is already encrypted; `.some(nil)`
    /// if it was skipped. The caller commits the pending file (`PendingBatch.commit`).
    ///
    /// Why through an open descriptor: colleagues may encrypt the same tree at the same time.
    /// Checking the magic by path and then encrypting by path could encrypt a colleague's
    /// fresh ciphertext a second time. Here the magic is checked on the inode we hold open and
    /// exactly that inode is encrypted (from the same descriptor); if a colleague's rename lands
    /// first, ours replaces it with an encryption of the same plaintext.
    func encryptOne(_ file: String, recipients: [any Recipient]) throws -> PendingFile?? {
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ZoneError.io(file, "cannot open: \(FileIO.errorText())") }
        defer { close(fd) }
        if EncryptedFile.isEncrypted(fd: fd) {
            let header = try EncryptedFile.readHeader(at: file)
            if header.zoneID != zone.policy.zoneID { notice("\(file) belongs to another zone; left as it is") }
            return .some(nil)
        }
        return .some(try EncryptedFile.encryptPending(inputFD: fd, inputPath: file, zoneID: zone.policy.zoneID,
                                                      recipients: recipients))
    }

    /// Decrypts in place, or (with `output`) writes plaintext copies under `output` keeping
    /// each file's path relative to the zone root. Plaintext files are copied as they are.
    public func decrypt(_ paths: [String], output: String?) throws -> Counts {
        let listing = try ZoneTree.list(paths)
        var counts = Counts()
        var batch = Batch(files: batchFiles, bytes: batchBytes)
        defer { batch.commitRemaining() }
        for (i, file) in listing.files.enumerated() {
            progress(i, listing.files.count)
            let target: String
            if let output {
                target = Zone.absolute(output) + "/" + ZoneTree.relative(file, to: zone.root)
                try ZoneTree.makeDirectories(target.directory)
            } else {
                target = file
            }
            guard EncryptedFile.isEncrypted(at: file) else {
                // Copies of plaintext are private to their owner, like decrypted files (0600).
                if output != nil { try FileIO.writeReplacing(target, try FileIO.readAll(file), mode: 0o600) }
                counts.skipped += 1
                continue
            }
            try batch.add(try mapNoKey(file) {
                try EncryptedFile.decryptPending(inputPath: file, outputPath: target, identities: access.identities)
            })
            counts.done += 1
        }
        try batch.commit()
        progress(listing.files.count, listing.files.count)
        return counts
    }

    /// Writes the plaintext of `file` to `fd` (stdout for `zone cat`).
    public func cat(_ file: String, to fd: Int32) throws {
        try mapNoKey(file) { try EncryptedFile.decrypt(inputPath: file, to: fd, identities: access.identities) }
    }

    /// Re-wraps headers to the newest epoch and to every pinned recovery certificate; with
    /// `reencrypt`, fully re-encrypts files whose file key predates the newest epoch.
    public func rekey(_ paths: [String], reencrypt: Bool) throws -> Counts {
        let policy = zone.policy
        guard let zoneKey = access.zoneKeys[policy.currentEpoch] else {
            throw ZoneError.notMember(access.identityName, zone.root)
        }
        let newest = ZoneSlotKey(zoneID: policy.zoneID, epoch: policy.currentEpoch, zoneKey: zoneKey)
        let full = try access.recipients()
        // Slots for recovery certificates the zone no longer pins are dropped (the retired key
        // must open nothing); re-grant slots, for certificates never pinned, are kept.
        let retired = zone.retiredRecoveryFingerprints()
        let isRetired = { (slot: KeySlot) -> Bool in
            slot.type == SlotType.recovery && (try? RecoverySlotInfo(slot: slot)).map { retired.contains($0.certificateFingerprint) } == true
        }
        let listing = try ZoneTree.list(paths)
        ZoneTree.removeStale(listing.temporaries, olderThan: staleTemporaryAge)
        var counts = Counts()
        var batch = Batch(files: batchFiles, bytes: batchBytes)
        defer { batch.commitRemaining() }
        for (i, file) in listing.files.enumerated() {
            progress(i, listing.files.count)
            guard EncryptedFile.isEncrypted(at: file) else { counts.skipped += 1; continue }
            let header = try EncryptedFile.readHeader(at: file)
            guard header.zoneID == policy.zoneID else {
                notice("\(file) belongs to another zone; left as it is")
                counts.skipped += 1
                continue
            }
            let state = FileState(header: header, access: access)
            if reencrypt && KeyOriginMarker.epoch(in: header.slots) < policy.currentEpoch {
                try batch.add(try mapNoKey(file) {
                    try EncryptedFile.reencryptPending(at: file, identities: access.identities, zoneID: policy.zoneID,
                                                       recipients: full)
                })
                counts.done += 1
            } else if state.staleEpoch || !state.missingRecovery.isEmpty || header.slots.contains(where: isRetired) {
                let add: [any Recipient] = [newest] + state.missingRecovery.map { RecoveryRecipient(certificate: $0) }
                try batch.add(try mapNoKey(file) {
                    try EncryptedFile.rewrapPending(at: file, identities: access.identities,
                                                    keep: { $0.type != SlotType.zone && !isRetired($0) }, add: add)
                })
                counts.done += 1
            } else {
                counts.skipped += 1
            }
        }
        try batch.commit()
        progress(listing.files.count, listing.files.count)
        return counts
    }

    private func mapNoKey<T>(_ file: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch FormatError.noMatchingKey {
            throw ZoneError.noMatchingSlot(file, access.identityName)
        }
    }
}

/// Pending files of a serial run (decrypt, rekey), committed with one round of durability per
/// batch (docs/format.md §7.4). Why it matters: a file a run has finished must not be lost
/// when a later file fails, so the caller commits on error too (`commitRemaining` in a defer).
struct Batch {
    let maxFiles: Int
    let maxBytes: Int
    private var pending: [PendingFile] = []
    private var bytes = 0

    init(files: Int, bytes: Int) {
        maxFiles = files
        maxBytes = bytes
    }

    mutating func add(_ file: PendingFile) throws {
        pending.append(file)
        var st = stat()
        if stat(file.temporaryPath, &st) == 0 { bytes += Int(st.st_size) }
        if pending.count >= maxFiles || bytes >= maxBytes { try commit() }
    }

    /// Makes every pending file durable and renames it into place.
    mutating func commit() throws {
        let files = pending
        pending = []
        bytes = 0
        try PendingBatch.commit(files)
    }

    /// Commits what is pending; used on the error path so finished files stay finished.
    mutating func commitRemaining() {
        try? commit()
    }
}

/// What a header says relative to the zone's current policy (for rekey and status).
struct FileState {
    var staleEpoch: Bool
    var missingRecovery: [Certificate]

    init(header: FileHeader, access: ZoneAccess) {
        self.init(header: header, policy: access.zone.policy)
    }

    init(header: FileHeader, policy: ZonePolicy) {
        let epochs = header.slots.filter { $0.type == SlotType.zone }
            .compactMap { try? ZoneSlotInfo(slot: $0) }
            .filter { $0.zoneID == policy.zoneID }.map(\.epoch)
        staleEpoch = !epochs.contains(policy.currentEpoch)
        let present = Set(header.slots.filter { $0.type == SlotType.recovery }
            .compactMap { try? RecoverySlotInfo(slot: $0).certificateFingerprint })
        missingRecovery = policy.recoveryCertificates.filter { !present.contains($0.fingerprint) }
    }
}
