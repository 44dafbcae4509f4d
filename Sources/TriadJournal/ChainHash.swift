import TriadCrypto

/// The hash-chain rule (docs/ceremony.md §"Hash chain").
///
/// `hash = SHA-256("triad-ceremony-journal-v1\n" ‖ canonical(entry without "hash"))`.
/// The unhashed object contains `prev_hash`, `seq`, `time` and every other field, so
/// changing any field of any entry, or moving an entry, breaks the chain from there on.
/// The domain tag keeps these hashes from ever equalling a hash made for another purpose
/// (docs/ceremony.md §7).
public enum ChainHash {
    /// The domain tag hashed before every entry, so a journal hash can never be mistaken for another SHA-256 (docs/ceremony.md §7, hash-chain rule).
    public static let domainTag: [UInt8] = Array("triad-ceremony-journal-v1\n".utf8)

    /// `prev_hash` of the first entry of every ceremony: 32 zero bytes in hex.
    public static let genesis = String(repeating: "0", count: 64)

    /// The entry hash, in lowercase hex, of the canonical bytes of an entry without `hash`.
    public static func hash(unhashedCanonical bytes: [UInt8]) -> String {
        Hex.encode(SHA256.hash(domainTag + bytes)).lowercased()
    }
}
