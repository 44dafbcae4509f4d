import TriadJournal
import TriadRecovery

// The RECORD kinds of the drill, PIN-change, zeroise and file actions (docs/recovery.md
// §2–§5, docs/ceremony.md §7 "RECORD kinds").

/// RECORD `drill-started`: the drill report's path (without extension).
struct DrillStartedRecord: RecordPayload, Equatable {
    static let kind = "drill-started"
    var report: String
}

/// RECORD `canary-recovered`: the canary recovered in memory and the plaintext SHA-256 the
/// enrolment record gives for it.
struct CanaryRecoveredRecord: RecordPayload, Equatable {
    static let kind = "canary-recovered"
    var canary: String
    var plaintextSHA256: String

    enum CodingKeys: String, CodingKey { case canary, plaintextSHA256 = "plaintext_sha256" }
}

/// RECORD `drill-report`: `PASS` or `FAIL`, and the whole report as JSON text.
struct DrillReportRecord: RecordPayload, Equatable {
    static let kind = "drill-report"
    var result: String
    var report: String
}

/// RECORD `pin-changed`: the card's PIN was changed (or unblocked with the PUK); tries left
/// before and after, null when unknown.
struct PINChangedRecord: RecordPayload, Equatable {
    static let kind = "pin-changed"
    var byPUK: Bool
    var reader: String
    @NullWhenUnknown var triesLeftBefore: Int64?
    @NullWhenUnknown var triesLeftAfter: Int64?

    enum CodingKeys: String, CodingKey {
        case byPUK = "by_puk", reader, triesLeftBefore = "tries_left_before", triesLeftAfter = "tries_left_after"
    }
}

/// RECORD `zeroised`: the names of the secrets overwritten and dropped.
struct ZeroisedRecord: RecordPayload, Equatable {
    static let kind = "zeroised"
    var secrets: [String]
}

/// What a file action did, file by file: the members every file RECORD starts with.
struct FileCounts: Codable, Equatable {
    var done: Int64
    var alreadyDone: Int64
    var skippedPlaintext: Int64
    var noRecoverySlot: [String]
    var failed: [String]

    enum CodingKeys: String, CodingKey {
        case done, alreadyDone = "already_done", skippedPlaintext = "skipped_plaintext", noRecoverySlot = "no_recovery_slot", failed
    }

    init(done: Int64, alreadyDone: Int64, skippedPlaintext: Int64, noRecoverySlot: [String], failed: [String]) {
        self.done = done; self.alreadyDone = alreadyDone; self.skippedPlaintext = skippedPlaintext
        self.noRecoverySlot = noRecoverySlot; self.failed = failed
    }

    init(_ o: RecoveryFiles.Outcome) {
        self.init(done: Int64(o.done), alreadyDone: Int64(o.alreadyDone), skippedPlaintext: Int64(o.skippedPlaintext),
                  noRecoverySlot: o.noRecoverySlot, failed: o.failed)
    }
}

/// RECORD `files-regranted`: the counts, and the new holder's certificate fingerprint and subject.
struct FilesRegrantedRecord: RecordPayload, Equatable {
    static let kind = "files-regranted"
    var counts: FileCounts
    var holderCertificateFingerprint: String
    var holderSubject: String

    enum CodingKeys: String, CodingKey { case holderCertificateFingerprint = "holder_certificate_fingerprint", holderSubject = "holder_subject" }

    init(counts: FileCounts, holderCertificateFingerprint: String, holderSubject: String) {
        self.counts = counts; self.holderCertificateFingerprint = holderCertificateFingerprint; self.holderSubject = holderSubject
    }

    /// The counts and the holder, all members of one object.
    init(from decoder: Decoder) throws {
        counts = try FileCounts(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        holderCertificateFingerprint = try c.decode(String.self, forKey: .holderCertificateFingerprint)
        holderSubject = try c.decode(String.self, forKey: .holderSubject)
    }

    /// The counts' members and the holder's, side by side.
    func encode(to encoder: Encoder) throws {
        try counts.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(holderCertificateFingerprint, forKey: .holderCertificateFingerprint)
        try c.encode(holderSubject, forKey: .holderSubject)
    }
}

/// RECORD `files-decrypted`: the counts and the quarantine folder.
struct FilesDecryptedRecord: RecordPayload, Equatable {
    static let kind = "files-decrypted"
    var counts: FileCounts
    var quarantine: String

    enum CodingKeys: String, CodingKey { case quarantine }

    init(counts: FileCounts, quarantine: String) { self.counts = counts; self.quarantine = quarantine }

    /// The counts and the quarantine folder, all members of one object.
    init(from decoder: Decoder) throws {
        counts = try FileCounts(from: decoder)
        quarantine = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .quarantine)
    }

    /// The counts' members and `quarantine`, side by side.
    func encode(to encoder: Encoder) throws {
        try counts.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(quarantine, forKey: .quarantine)
    }
}

/// RECORD `recovery-slots-rewrapped`: the counts, whether Ctrl-C stopped the loop, the old and
/// new certificates' fingerprints, and the new certificate's coverage of the files.
struct RecoverySlotsRewrappedRecord: RecordPayload, Equatable {
    static let kind = "recovery-slots-rewrapped"

    /// Encrypted files found, and how many of them have a slot for the new certificate.
    struct Coverage: Codable, Equatable {
        var encrypted: Int64
        var covered: Int64
    }

    var counts: FileCounts
    var interrupted: Bool
    var oldCertificateFingerprint: String
    var newCertificateFingerprint: String
    var coverage: Coverage

    enum CodingKeys: String, CodingKey {
        case interrupted, oldCertificateFingerprint = "old_certificate_fingerprint"
        case newCertificateFingerprint = "new_certificate_fingerprint", coverage
    }

    init(counts: FileCounts, interrupted: Bool, oldCertificateFingerprint: String, newCertificateFingerprint: String, coverage: Coverage) {
        self.counts = counts; self.interrupted = interrupted
        self.oldCertificateFingerprint = oldCertificateFingerprint; self.newCertificateFingerprint = newCertificateFingerprint
        self.coverage = coverage
    }

    /// The counts and the rotation's members, all of one object.
    init(from decoder: Decoder) throws {
        counts = try FileCounts(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        interrupted = try c.decode(Bool.self, forKey: .interrupted)
        oldCertificateFingerprint = try c.decode(String.self, forKey: .oldCertificateFingerprint)
        newCertificateFingerprint = try c.decode(String.self, forKey: .newCertificateFingerprint)
        coverage = try c.decode(Coverage.self, forKey: .coverage)
    }

    /// The counts' members and the rotation's, side by side.
    func encode(to encoder: Encoder) throws {
        try counts.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(interrupted, forKey: .interrupted)
        try c.encode(oldCertificateFingerprint, forKey: .oldCertificateFingerprint)
        try c.encode(newCertificateFingerprint, forKey: .newCertificateFingerprint)
        try c.encode(coverage, forKey: .coverage)
    }
}
