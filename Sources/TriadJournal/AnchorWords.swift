import TriadCrypto

/// Head hashes as words a witness can read aloud and write down (IANA's
/// root KSK tools print SHA-256 as PGP words; docs/ceremony.md §7: the head is anchored).
///
/// An anchor is the sequence number of an entry and the first `anchorByteCount` bytes of
/// its hash as PGP words: 16 words, 128 bits, so forging a different chain that matches a
/// written-down anchor is a 2^128 search.
public enum AnchorWords {
    /// Bytes of the head hash shown as words at an act boundary.
    public static let anchorByteCount = 16
    /// Fewest words `ceremony verify --anchor` accepts (64 bits).
    public static let minimumWordsChecked = 8

    /// The PGP words of `bytes`: even positions from the even list, odd from the odd list.
    public static func words(_ bytes: [UInt8]) -> [String] {
        PGPWordList.words(bytes)
    }

    /// The anchor words of a hex hash.
    public static func anchor(hexHash: String) -> [String] {
        let bytes = Hex.decode(hexHash) ?? []
        return words(Array(bytes.prefix(anchorByteCount)))
    }

    /// Words grouped in fours for reading aloud: "topmost Istanbul Pluto vagabond · …".
    public static func display(_ words: [String]) -> String {
        stride(from: 0, to: words.count, by: 4).map { words[$0..<min($0 + 4, words.count)].joined(separator: " ") }
            .joined(separator: " · ")
    }

    /// The byte a word stands for at `position`, or nil (case-insensitive).
    public static func byte(for word: String, at position: Int) -> UInt8? {
        PGPWordList.byte(for: word, at: position)
    }

    /// Both lists, for tests that check their published properties.
    public static var evenList: [String] { PGPWordList.even }
    /// The three-syllable list, used for odd byte positions (see `evenList`).
    public static var oddList: [String] { PGPWordList.odd }
}
