import TriadJournal

// The RECORD kinds of the key-generation and factor actions (docs/recovery.md §1–§2,
// docs/ceremony.md §7 "RECORD kinds"). Fingerprints and digests are lowercase hex SHA-256;
// "words" are the PGP words of a digest's first bytes, for people to compare aloud. A
// member marked `@NullWhenUnknown` is always written, as null when unknown.

/// RECORD `card-awaited`: the acting person was asked to insert the card into `reader`, for
/// the `look`-th time.
struct CardAwaitedRecord: RecordPayload, Equatable {
    static let kind = "card-awaited"
    var reader: String
    var look: Int64
}

/// RECORD `recovery-certificate-adopted`: a resumed rotation took its new certificate from
/// the enrolment record at `record` instead of generating another.
struct RecoveryCertificateAdoptedRecord: RecordPayload, Equatable {
    static let kind = "recovery-certificate-adopted"
    var record: String
    var fingerprint: String
}

/// RECORD `recovery-key-generated`: the recovery certificate written, its fingerprint and
/// words, subject, expiry (ISO 8601) and the key's public-key fingerprint (its check value).
struct RecoveryKeyGeneratedRecord: RecordPayload, Equatable {
    static let kind = "recovery-key-generated"
    var certificate: String
    var certificateFingerprint: String
    var words: String
    var subject: String
    var notAfter: String
    var publicKeyFingerprint: String

    enum CodingKeys: String, CodingKey {
        case certificate, certificateFingerprint = "certificate_fingerprint", words, subject, notAfter = "not_after"
        case publicKeyFingerprint = "public_key_fingerprint"
    }
}

/// RECORD `new-pin-entries-differ`: two entries of a new secret did not match. At card
/// enrolment `what` says which (`PIN` or `PUK`); a PIN change leaves it out.
struct NewPINEntriesDifferRecord: RecordPayload, Equatable {
    static let kind = "new-pin-entries-differ"
    var what: String?
}

/// RECORD `card-enrolled`: a recovery card enrolled — label, reader, serial, 9D and 9E
/// certificate fingerprints, the management key's fate and the role that set the PIN.
struct CardEnrolledRecord: RecordPayload, Equatable {
    static let kind = "card-enrolled"
    var label: String
    var reader: String
    @NullWhenUnknown var serial: Int64?
    var cardCertificateFingerprint: String
    var words: String
    /// Null for a card enrolled without a card authentication key.
    @NullWhenUnknown var cardAuthCertificateFingerprint: String?
    var managementKey: String
    var pinSetBy: String

    enum CodingKeys: String, CodingKey {
        case label, reader, serial, cardCertificateFingerprint = "card_certificate_fingerprint", words
        case cardAuthCertificateFingerprint = "card_auth_certificate_fingerprint", managementKey = "management_key", pinSetBy = "pin_set_by"
    }
}

/// RECORD `escrow-blob-already-written`: a resumed rotation found its enrolment record at
/// `record` and wrote no second blob.
struct EscrowBlobAlreadyWrittenRecord: RecordPayload, Equatable {
    static let kind = "escrow-blob-already-written"
    var record: String
}

/// RECORD `escrow-blob-written`: the blob, its id, digest and words; the enrolment record,
/// its digest and words; the canary; the enrolled cards' 9D fingerprints; the certificate.
struct EscrowBlobWrittenRecord: RecordPayload, Equatable {
    static let kind = "escrow-blob-written"
    var blob: String
    var blobID: String
    var blobSHA256: String
    var blobWords: String
    var record: String
    var recordSHA256: String
    var recordWords: String
    var canary: String
    var cards: [String]
    var recoveryCertificateFingerprint: String

    enum CodingKeys: String, CodingKey {
        case blob, blobID = "blob_id", blobSHA256 = "blob_sha256", blobWords = "blob_words", record
        case recordSHA256 = "record_sha256", recordWords = "record_words", canary, cards
        case recoveryCertificateFingerprint = "recovery_certificate_fingerprint"
    }
}

/// RECORD `escrow-blob-presented`: the blob IT presented, its digest and words, and the
/// enrolment record it was checked against.
struct EscrowBlobPresentedRecord: RecordPayload, Equatable {
    static let kind = "escrow-blob-presented"
    var blob: String
    var blobSHA256: String
    var blobWords: String
    var record: String
    var recordSHA256: String

    enum CodingKeys: String, CodingKey {
        case blob, blobSHA256 = "blob_sha256", blobWords = "blob_words", record, recordSHA256 = "record_sha256"
    }
}

/// RECORD `card-presented`: what the recovery card said about itself before any PIN (serial,
/// 9D certificate, tries left).
struct CardPresentedRecord: RecordPayload, Equatable {
    static let kind = "card-presented"
    var reader: String
    @NullWhenUnknown var serial: Int64?
    var cardCertificateFingerprint: String
    @NullWhenUnknown var pinTriesLeft: Int64?
    var pinBlocked: Bool

    enum CodingKeys: String, CodingKey {
        case reader, serial, cardCertificateFingerprint = "card_certificate_fingerprint", pinTriesLeft = "pin_tries_left", pinBlocked = "pin_blocked"
    }
}

/// RECORD `card-presence-not-proven`: the card was enrolled without a card authentication
/// key, so no 9E signature proves it was there (docs/recovery.md §2a).
struct CardPresenceNotProvenRecord: RecordPayload, Equatable {
    static let kind = "card-presence-not-proven"
    @NullWhenUnknown var serial: Int64?
    var reason: String
}

/// RECORD `card-authenticated`: the card's 9E key signed this ceremony's nonce; the
/// signature itself is in the step's STEP_DONE (`card_auth`).
struct CardAuthenticatedRecord: RecordPayload, Equatable {
    static let kind = "card-authenticated"
    @NullWhenUnknown var serial: Int64?
    var cardAuthCertificateFingerprint: String

    enum CodingKeys: String, CodingKey { case serial, cardAuthCertificateFingerprint = "card_auth_certificate_fingerprint" }
}

/// RECORD `pin-refused`: the card refused a PIN (or PUK). At the PIN step it gives the tries
/// left before (null when unknown) and after; at a PIN change, whether the PUK was used and
/// the tries left after (null when unknown).
struct PINRefusedRecord: RecordPayload, Equatable {
    static let kind = "pin-refused"

    /// The step the card refused at, with what only that step records.
    enum During: Equatable {
        /// `verify-pin`: the tries left before the attempt.
        case pinStep(triesLeftBefore: Int64?)
        /// `change-card-pin`: true when the PUK was typed.
        case pinChange(byPUK: Bool)
    }

    var during: During
    var triesLeftAfter: Int64?

    enum CodingKeys: String, CodingKey { case triesLeftBefore = "tries_left_before", byPUK = "by_puk", triesLeftAfter = "tries_left_after" }

    init(during: During, triesLeftAfter: Int64?) { self.during = during; self.triesLeftAfter = triesLeftAfter }

    /// A PIN change is the entry with `by_puk`; the PIN step's has `tries_left_before`.
    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if c.contains(.byPUK) {
            during = .pinChange(byPUK: try c.decode(Bool.self, forKey: .byPUK))
        } else {
            during = .pinStep(triesLeftBefore: try c.decode(NullWhenUnknown<Int64>.self, forKey: .triesLeftBefore).wrappedValue)
        }
        triesLeftAfter = try c.decode(NullWhenUnknown<Int64>.self, forKey: .triesLeftAfter).wrappedValue
    }

    /// Writes the members of the step it happened at; an unknown count as null.
    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch during {
        case .pinStep(let before): try c.encode(NullWhenUnknown(wrappedValue: before), forKey: .triesLeftBefore)
        case .pinChange(let byPUK): try c.encode(byPUK, forKey: .byPUK)
        }
        try c.encode(NullWhenUnknown(wrappedValue: triesLeftAfter), forKey: .triesLeftAfter)
    }
}

/// RECORD `pin-verified`: the card accepted the PIN; tries left before and after (null when
/// the card does not say).
struct PINVerifiedRecord: RecordPayload, Equatable {
    static let kind = "pin-verified"
    @NullWhenUnknown var triesLeftBefore: Int64?
    @NullWhenUnknown var triesLeftAfter: Int64?

    enum CodingKeys: String, CodingKey { case triesLeftBefore = "tries_left_before", triesLeftAfter = "tries_left_after" }
}

/// RECORD `recovery-key-unlocked`: the recovery key is in memory; its public-key
/// fingerprint, whether it matches the certificate, and the certificate's fingerprint.
struct RecoveryKeyUnlockedRecord: RecordPayload, Equatable {
    static let kind = "recovery-key-unlocked"
    var publicKeyFingerprint: String
    var matchesCertificate: Bool
    var recoveryCertificateFingerprint: String

    enum CodingKeys: String, CodingKey {
        case publicKeyFingerprint = "public_key_fingerprint", matchesCertificate = "matches_certificate"
        case recoveryCertificateFingerprint = "recovery_certificate_fingerprint"
    }
}
