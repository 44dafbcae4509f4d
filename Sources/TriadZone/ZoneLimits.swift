/// Every size limit of zone metadata, in one place (docs/zone.md §2b).
///
/// Why one table: the writer must refuse what the reader would refuse — a policy published
/// beyond a reader's limit locks everyone out of the zone — and the reader must never
/// allocate what a length field an attacker wrote asks for. Both sides use these numbers.
public enum ZoneLimits {
    /// One certificate's DER (officer, member, recovery, signer). Real ones are 0.5–2 KiB.
    public static let certificateBytes = 16 * 1024
    /// Officers of one zone.
    public static let officers = 16
    /// Members of one zone (a ward of a 1,200-person hospital is far below this).
    public static let members = 2000
    /// Recovery certificates pinned at once (a rotation pins two for a while).
    public static let recoveryCertificates = 16
    /// Epochs: one per revocation over the zone's life.
    public static let epochs = 10_000
    /// An epoch's signing public key (P-256 SubjectPublicKeyInfo DER is 91 bytes).
    public static let epochPublicKeyBytes = 256
    /// A policy signature (RSA-16384 would be 2048 bytes).
    public static let signatureBytes = 2048
    /// One `.zone/policy.<N>` file.
    public static let policyBytes = 8 << 20
    /// One `.zone/keyring-<hash>` file (members × epochs wrapped keys).
    public static let keyringBytes = 64 << 20
    /// One wrapped zone key in the keyring (RSA-8192 OAEP is 1024 bytes).
    public static let wrappedKeyBytes = 4096
    /// Names read from `.zone/`; more means the folder was flooded.
    public static let metadataEntries = 100_000
    /// The trust file.
    public static let trustFileBytes = 4 << 20
    /// One local-state record.
    public static let stateRecordBytes = 64 * 1024
}
