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

    public init(access: ZoneAccess) { self.access = access }

    var zone: Zone { access.zone }

    public struct Counts: Equatable {
        public var done = 0
        public var skipped = 0
    }

    /// Encrypts every plaintext file under `paths` in place for the newest epoch.
    public func encrypt(_ paths: [String]) throws -> Counts {
        let recipients = try access.recipients()
        let listing = try ZoneTree.list(paths)
        ZoneTree.removeStale(listing.temporaries, olderThan: staleTemporaryAge)
        var counts = Counts()
        for (i, file) in listing.files.enumerated() {
            progress(i, listing.files.count)
            if EncryptedFile.isEncrypted(at: file) {
                let header = try EncryptedFile.readHeader(at: file)
                if header.zoneID != zone.policy.zoneID { notice("\(file) belongs to another zone; left as it is") }
                counts.skipped += 1
                continue
            }
            try EncryptedFile.encrypt(inputPath: file, outputPath: file, zoneID: zone.policy.zoneID, recipients: recipients)
            counts.done += 1
        }
        progress(listing.files.count, listing.files.count)
        return counts
    }

    /// Decrypts in place, or (with `output`) writes plaintext copies under `output` keeping
    /// each file's path relative to the zone root. Plaintext files are copied as they are.
    public func decrypt(_ paths: [String], output: String?) throws -> Counts {
        let listing = try ZoneTree.list(paths)
        var counts = Counts()
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
                if output != nil { try FileIO.writeReplacing(target, try FileIO.readAll(file)) }
                counts.skipped += 1
                continue
            }
            try mapNoKey(file) { try EncryptedFile.decrypt(inputPath: file, outputPath: target, identities: access.identities) }
            counts.done += 1
        }
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
        let listing = try ZoneTree.list(paths)
        ZoneTree.removeStale(listing.temporaries, olderThan: staleTemporaryAge)
        var counts = Counts()
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
                try mapNoKey(file) {
                    try EncryptedFile.reencrypt(at: file, identities: access.identities, zoneID: policy.zoneID, recipients: full)
                }
                counts.done += 1
            } else if state.staleEpoch || !state.missingRecovery.isEmpty {
                let add: [any Recipient] = [newest] + state.missingRecovery.map { RecoveryRecipient(certificate: $0) }
                try mapNoKey(file) {
                    try EncryptedFile.rewrap(at: file, identities: access.identities,
                                             keep: { $0.type != SlotType.zone }, add: add)
                }
                counts.done += 1
            } else {
                counts.skipped += 1
            }
        }
        progress(listing.files.count, listing.files.count)
        return counts
    }

    private func mapNoKey(_ file: String, _ body: () throws -> Void) throws {
        do { try body() } catch FormatError.noMatchingKey {
            throw ZoneError.noMatchingSlot(file, access.identityName)
        }
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
