#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TriadCrypto
import TriadFormat
import TriadZone

/// What the unlocked recovery key does to files (docs/recovery.md §3–§5). Every operation
/// is per file and crash-safe (the format's temp + fsync + rename), and idempotent, so an
/// interrupted run is resumed by running it again.
public enum RecoveryFiles {
    public struct Outcome: Equatable, Codable {
        public var done = 0
        public var alreadyDone = 0
        public var skippedPlaintext = 0
        public var noRecoverySlot: [String] = []
        public var failed: [String] = []
        public init() {}
        public var ok: Bool { failed.isEmpty && noRecoverySlot.isEmpty }
    }

    /// Encrypted files under `paths` (files or folders; `.zone/` and temporaries skipped).
    public static func encryptedFiles(_ paths: [String]) throws -> (encrypted: [String], plaintext: [String]) {
        let listing = try ZoneTree.list(paths)
        var enc: [String] = [], plain: [String] = []
        for f in listing.files { if EncryptedFile.isEncrypted(at: f) { enc.append(f) } else { plain.append(f) } }
        return (enc, plain)
    }

    static func recoverySlots(_ path: String) throws -> [RecoverySlotInfo] {
        try EncryptedFile.readHeader(at: path).slots.filter { $0.type == SlotType.recovery }.map { try RecoverySlotInfo(slot: $0) }
    }

    /// Re-grant, header only: adds to each file a certificate slot (format type 0x0002, the
    /// file key wrapped to `holder`'s public key, docs/format.md §3.3) so the new holder
    /// opens it with their own card or key file; no plaintext is produced anywhere — the
    /// file key is unwrapped with the recovery key and re-wrapped in memory, the payload
    /// bytes are copied unchanged. A file that already has a slot for `holder` is left alone.
    public static func regrant(_ paths: [String], recoveryKey: PrivateKey, recoveryCertificate: Certificate,
                               to holder: Certificate, progress: (String) -> Void = { _ in }) throws -> Outcome {
        var out = Outcome()
        let (files, plain) = try encryptedFiles(paths)
        out.skippedPlaintext = plain.count
        let identity = RecoveryIdentity(key: recoveryKey, certificateFingerprint: recoveryCertificate.fingerprint)
        for file in files {
            do {
                let slots = try recoverySlots(file)
                if slots.contains(where: { $0.certificateFingerprint == holder.fingerprint }) { out.alreadyDone += 1; continue }
                guard slots.contains(where: { $0.certificateFingerprint == recoveryCertificate.fingerprint }) else {
                    out.noRecoverySlot.append(file); continue
                }
                try EncryptedFile.rewrap(at: file, identities: [identity], keep: { _ in true },
                                         add: [RecoveryRecipient(certificate: holder)])
                out.done += 1
                progress(file)
            } catch {
                out.failed.append("\(file): \(error)")
            }
        }
        return out
    }

    /// Decrypts into a quarantine folder (mode 0700, created new), mirroring each file's
    /// path relative to `base`. Files are written crash-safely with mode 0600.
    public static func decrypt(_ paths: [String], base: String, quarantine: String, recoveryKey: PrivateKey,
                               recoveryCertificate: Certificate, progress: (String) -> Void = { _ in }) throws -> Outcome {
        var out = Outcome()
        let (files, plain) = try encryptedFiles(paths)
        out.skippedPlaintext = plain.count
        if mkdir(quarantine, 0o700) != 0 && errno != EEXIST {
            throw RecoveryError.io(path: quarantine, reason: "cannot create the quarantine folder: \(String(cString: strerror(errno)))")
        }
        chmod(quarantine, 0o700)
        let identity = RecoveryIdentity(key: recoveryKey, certificateFingerprint: recoveryCertificate.fingerprint)
        let absBase = Zone.absolute(base)
        for file in files {
            let relative = ZoneTree.relative(file, to: absBase)
            let target = quarantine + "/" + relative
            do {
                guard try recoverySlots(file).contains(where: { $0.certificateFingerprint == recoveryCertificate.fingerprint }) else {
                    out.noRecoverySlot.append(file); continue
                }
                let dir = (target as NSString).deletingLastPathComponent
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                if FileManager.default.fileExists(atPath: target) { out.alreadyDone += 1; continue }
                try EncryptedFile.decrypt(inputPath: file, outputPath: target, identities: [identity])
                out.done += 1
                progress(file)
            } catch {
                out.failed.append("\(file): \(error)")
            }
        }
        return out
    }

    /// Recovery-key rotation, header only: in each file, the slot for `old` is replaced by a
    /// slot for `new` (unwrapped with the old key, re-wrapped in memory). Files already
    /// carrying only `new` are skipped, so a run that was interrupted resumes where it
    /// stopped; each file is rewritten atomically, so none is ever left with neither.
    public static func rotate(_ paths: [String], oldKey: PrivateKey, old: Certificate, new: Certificate,
                              progress: (String) -> Void = { _ in }, shouldStop: () -> Bool = { false }) throws -> Outcome {
        var out = Outcome()
        let (files, plain) = try encryptedFiles(paths)
        out.skippedPlaintext = plain.count
        let identity = RecoveryIdentity(key: oldKey, certificateFingerprint: old.fingerprint)
        for file in files {
            if shouldStop() { break }
            do {
                let slots = try recoverySlots(file)
                let hasOld = slots.contains { $0.certificateFingerprint == old.fingerprint }
                let hasNew = slots.contains { $0.certificateFingerprint == new.fingerprint }
                if !hasOld { if hasNew { out.alreadyDone += 1 } else { out.noRecoverySlot.append(file) }; continue }
                let oldFP = old.fingerprint
                try EncryptedFile.rewrap(at: file, identities: [identity], keep: { slot in
                    guard slot.type == SlotType.recovery, let info = try? RecoverySlotInfo(slot: slot) else { return true }
                    return info.certificateFingerprint != oldFP
                }, add: hasNew ? [] : [RecoveryRecipient(certificate: new)])
                out.done += 1
                progress(file)
            } catch {
                out.failed.append("\(file): \(error)")
            }
        }
        return out
    }

    /// Coverage: how many encrypted files under `paths` carry a recovery slot for `certificate`.
    public struct Coverage: Equatable, Codable {
        public var encrypted = 0
        public var covered = 0
        public var uncovered: [String] = []
        public var complete: Bool { encrypted == covered }
    }

    public static func coverage(_ paths: [String], certificate: Certificate) throws -> Coverage {
        var c = Coverage()
        for file in try encryptedFiles(paths).encrypted {
            c.encrypted += 1
            if (try? recoverySlots(file))?.contains(where: { $0.certificateFingerprint == certificate.fingerprint }) == true {
                c.covered += 1
            } else {
                c.uncovered.append(file)
            }
        }
        return c
    }
}
