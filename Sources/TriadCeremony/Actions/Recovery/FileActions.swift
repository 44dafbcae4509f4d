import Foundation
import TriadCrypto
import TriadJournal
import TriadRecovery
import TriadZone

func unlockedKey(_ context: ActionContext) throws -> (PrivateKey, Certificate) {
    guard let key = try context.secrets.privateKey(Slot.recoveryKey), let cert = context.secrets.certificate(Slot.recoveryCertificate) else {
        throw ActionError("the recovery key is not unlocked in this ceremony", fatal: true)
    }
    return (key, cert)
}

/// Re-grant (preferred incident mode): each named file gets a slot for the new holder's
/// certificate; header only, no plaintext anywhere (docs/recovery.md §3).
struct RegrantFilesAction: CeremonyAction {
    static let name = "regrant-files"
    static let summary = "The tool adds a key slot for the new holder's certificate to each named file (header only: no plaintext is written)."
    /// The files (a YAML list) and the new holder's certificate.
    struct Arguments: ActionArguments {
        static let parameters = [
            ParameterSpec("paths", .textList, required: true, "files, folders or zone roots"),
            ParameterSpec("to", .text, required: true, "the new holder's certificate (PEM)"),
        ]
        var paths: [String], to: String
        init(paths: [String], to: String) { self.paths = paths; self.to = to }
        init(from a: ArgumentReader) throws { paths = try a.requiredList("paths"); to = try a.requiredText("to") }
    }
    static func requires(_ a: Arguments) -> [String] { ["recovery-key-unlocked"] }
    static func produces(_ a: Arguments) -> [String] { ["files-recovered"] }
    init() {}

    func run(_ arguments: Arguments, _ context: inout ActionContext) throws -> ActionOutcome {
        let (key, cert) = try unlockedKey(context)
        let toPath = arguments.to
        let holder = try factorStep("new holder certificate \(toPath)") {
            try Certificate(pem: String(decoding: try readFile(toPath, what: "certificate"), as: UTF8.self))
        }
        let paths = arguments.paths
        let outcome = try factorStep("re-grant") { try RecoveryFiles.regrant(paths, recoveryKey: key, recoveryCertificate: cert, to: holder) }
        try context.record(FilesRegrantedRecord(counts: FileCounts(outcome), holderCertificateFingerprint: hex(holder.fingerprint),
                                                holderSubject: holder.subject))
        context.show("Re-granted \(outcome.done) files to \(holder.subject) (\(outcome.alreadyDone) already had a slot).")
        guard outcome.ok else { throw ActionError("re-grant: \(outcome.failed.count) files failed, \(outcome.noRecoverySlot.count) have no recovery slot: \((outcome.failed + outcome.noRecoverySlot).prefix(3).joined(separator: "; "))") }
        return ActionOutcome(["done": .int(Int64(outcome.done))])
    }
}

/// Decrypt mode: plaintext copies in a new quarantine folder (0700), originals untouched.
struct DecryptToQuarantineAction: CeremonyAction {
    static let name = "decrypt-to-quarantine"
    static let summary = "The tool decrypts each named file into the quarantine folder (mode 0700); the encrypted originals stay as they are."
    /// The files (a YAML list), the quarantine folder and the folder paths are mirrored from.
    struct Arguments: ActionArguments {
        static let parameters = [
            ParameterSpec("paths", .textList, required: true, "files, folders or zone roots"),
            ParameterSpec("quarantine", .text, required: true, "the quarantine folder"),
            ParameterSpec("base", .text, "paths are mirrored relative to this folder (default: the first path's folder)"),
        ]
        var paths: [String], quarantine: String, base: String?
        init(paths: [String], quarantine: String, base: String?) { self.paths = paths; self.quarantine = quarantine; self.base = base }
        init(from a: ArgumentReader) throws {
            paths = try a.requiredList("paths"); quarantine = try a.requiredText("quarantine"); base = try a.text("base")
        }
    }
    static func requires(_ a: Arguments) -> [String] { ["recovery-key-unlocked"] }
    static func produces(_ a: Arguments) -> [String] { ["files-recovered"] }
    init() {}

    func run(_ arguments: Arguments, _ context: inout ActionContext) throws -> ActionOutcome {
        let (key, cert) = try unlockedKey(context)
        let paths = arguments.paths
        let quarantine = arguments.quarantine
        let base = arguments.base ?? (paths.first.map { ($0 as NSString).deletingLastPathComponent } ?? ".")
        let outcome = try factorStep("decrypt") {
            try RecoveryFiles.decrypt(paths, base: base, quarantine: quarantine, ceremonyID: context.ceremonyID,
                                      recoveryKey: key, recoveryCertificate: cert)
        }
        try context.record(FilesDecryptedRecord(counts: FileCounts(outcome), quarantine: quarantine))
        context.show("Decrypted \(outcome.done) files into \(quarantine).")
        guard outcome.ok else { throw ActionError("decrypt: \(outcome.failed.count) files failed: \(outcome.failed.prefix(3).joined(separator: "; "))") }
        return ActionOutcome(["done": .int(Int64(outcome.done)), "quarantine": .string(quarantine)])
    }
}

/// Recovery-key rotation: every recovery slot for the old certificate in the named zones
/// is replaced by one for the new certificate; header only, resumable (docs/recovery.md §5).
struct RewrapRecoverySlotsAction: CeremonyAction {
    static let name = "rewrap-recovery-slots"
    static let summary = "The tool replaces, in every file of the named zones, the recovery slot for the old certificate by one for the new certificate (header only, resumable)."
    /// The zones or folders to re-wrap, a YAML list.
    struct Arguments: ActionArguments {
        static let parameters = [ParameterSpec("paths", .textList, required: true, "zone roots or folders")]
        var paths: [String]
        init(from a: ArgumentReader) throws { paths = try a.requiredList("paths") }
    }
    static func requires(_ a: Arguments) -> [String] { ["recovery-key-unlocked", "new-recovery-certificate"] }
    static func produces(_ a: Arguments) -> [String] { ["recovery-slots-rewrapped"] }
    init() {}

    func run(_ arguments: Arguments, _ context: inout ActionContext) throws -> ActionOutcome {
        let (key, old) = try unlockedKey(context)
        guard let new = context.secrets.certificate(Slot.newRecoveryCertificate) else {
            throw ActionError("no new recovery certificate in this ceremony", fatal: true)
        }
        let paths = arguments.paths
        // Ctrl-C (or SIGTERM) stops the loop after the file in hand, so the ceremony ends
        // ABORTED with what was done journaled; running it again resumes (docs/recovery.md §5).
        var engine = TreeEngine()
        engine.shouldStop = { Interruption.requested }
        let outcome = try factorStep("re-wrap") { try RecoveryFiles.rotate(paths, oldKey: key, old: old, new: new, engine: engine) }
        let coverage = try factorStep("coverage") { try RecoveryFiles.coverage(paths, certificate: new) }
        try context.record(RecoverySlotsRewrappedRecord(
            counts: FileCounts(outcome), interrupted: Interruption.requested, oldCertificateFingerprint: hex(old.fingerprint),
            newCertificateFingerprint: hex(new.fingerprint),
            coverage: .init(encrypted: Int64(coverage.encrypted), covered: Int64(coverage.covered))))
        context.show("Re-wrapped \(outcome.done) files (\(outcome.alreadyDone) were done before); coverage \(coverage.covered)/\(coverage.encrypted).")
        if Interruption.requested {
            throw ActionError("re-wrap interrupted after \(outcome.done) files (coverage \(coverage.covered)/\(coverage.encrypted)); run the ceremony again with the same new_out to resume", fatal: true)
        }
        guard outcome.failed.isEmpty else { throw ActionError("re-wrap: \(outcome.failed.count) files failed (run the step again to resume): \(outcome.failed.prefix(3).joined(separator: "; "))") }
        return ActionOutcome(["done": .int(Int64(outcome.done)), "covered": .int(Int64(coverage.covered)), "encrypted": .int(Int64(coverage.encrypted))])
    }
}

/// The incident recovery step with the mode chosen by a ceremony parameter: `regrant`
/// (preferred, no plaintext written) or `decrypt` (into quarantine).
struct RecoverFilesAction: CeremonyAction {
    static let name = "recover-files"
    static let summary = "The tool recovers the named files: mode regrant adds a slot for the new holder (no plaintext), mode decrypt writes copies into the quarantine folder."
    /// The mode, the files (a YAML list), and what the mode needs: `to` or `quarantine` (and `base`).
    struct Arguments: ActionArguments {
        static let parameters = [
            ParameterSpec("mode", .text, required: true, "regrant or decrypt"),
            ParameterSpec("paths", .textList, required: true, "files, folders or zone roots"),
            ParameterSpec("to", .text, "regrant: the new holder's certificate"),
            ParameterSpec("quarantine", .text, "decrypt: the quarantine folder"),
            ParameterSpec("base", .text, "decrypt: mirror paths relative to this folder"),
        ]
        var mode: String, paths: [String], to: String?, quarantine: String?, base: String?
        init(from a: ArgumentReader) throws {
            mode = try a.requiredText("mode"); paths = try a.requiredList("paths")
            to = try a.text("to"); quarantine = try a.text("quarantine"); base = try a.text("base")
        }
    }
    static func requires(_ a: Arguments) -> [String] { ["recovery-key-unlocked"] }
    static func produces(_ a: Arguments) -> [String] { ["files-recovered"] }
    init() {}

    // Which of `to` and `quarantine` is needed depends on the mode's value, known only at run
    // time (`${mode}`), so these refusals stay here rather than in the argument decoding.
    func run(_ arguments: Arguments, _ context: inout ActionContext) throws -> ActionOutcome {
        switch arguments.mode {
        case "regrant":
            guard let to = arguments.to, !to.isEmpty else { throw ActionError("mode regrant needs a value for the parameter to (the new holder's certificate)", fatal: true) }
            return try RegrantFilesAction().run(.init(paths: arguments.paths, to: to), &context)
        case "decrypt":
            guard let quarantine = arguments.quarantine, !quarantine.isEmpty else { throw ActionError("mode decrypt needs a value for the parameter quarantine (the folder the copies go to)", fatal: true) }
            return try DecryptToQuarantineAction().run(.init(paths: arguments.paths, quarantine: quarantine, base: arguments.base), &context)
        case let other:
            throw ActionError("mode must be regrant or decrypt, not \(other)", fatal: true)
        }
    }
}
