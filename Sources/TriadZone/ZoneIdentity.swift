import TriadCrypto

/// A zone's identity: its id, bound to its first policy, and that policy's hash as words
/// people can compare (docs/zone.md §3).
///
/// zone id = first 16 bytes of SHA-256("triad/v1/zone-id" ‖ 0x00 ‖ genesis nonce ‖
///           u16 n ‖ n officer fingerprints ‖ u16 m ‖ m recovery certificate fingerprints),
/// over version 1's officers and recovery certificates in policy order.
///
/// Why bound: every file's core carries the zone id, and local state and the trust file key
/// their records by it. If any id could head any history, someone controlling the folder
/// could write a first policy of their own under a zone's id and inherit whatever was
/// recorded about that zone. Bound to the genesis nonce and version 1's officers, an id names
/// exactly one first policy that only one of those officers could have signed; finding
/// another set of officers for a given id is a 2^128 search.
public enum ZoneIdentity {
    static let label: [UInt8] = Array("triad/v1/zone-id".utf8) + [0]

    /// The id a first policy with these fields must carry.
    public static func zoneID(genesisNonce: [UInt8], officers: [Certificate], recoveryCertificates: [Certificate]) -> [UInt8] {
        zoneID(genesisNonce: genesisNonce, officerFingerprints: officers.map(\.fingerprint),
               recoveryFingerprints: recoveryCertificates.map(\.fingerprint))
    }

    /// The same from the certificates' SHA-256 fingerprints.
    public static func zoneID(genesisNonce: [UInt8], officerFingerprints: [[UInt8]], recoveryFingerprints: [[UInt8]]) -> [UInt8] {
        var w = ByteWriter()
        w.raw(label)
        w.raw(genesisNonce)
        w.u16(UInt16(truncatingIfNeeded: officerFingerprints.count))
        for o in officerFingerprints { w.raw(o) }
        w.u16(UInt16(truncatingIfNeeded: recoveryFingerprints.count))
        for r in recoveryFingerprints { w.raw(r) }
        return Array(SHA256.hash(w.bytes).prefix(16))
    }

    /// True when `policy` is a first policy whose zone id is the one its fields determine.
    public static func isBound(_ policy: ZonePolicy) -> Bool {
        policy.zoneID == zoneID(genesisNonce: policy.genesisNonce, officers: policy.officers,
                                recoveryCertificates: policy.recoveryCertificates)
    }

    /// A hash as PGP words in groups of four, for reading over the phone: the first 16 bytes
    /// (128 bits) of a first-policy hash.
    public static func words(_ hash: [UInt8]) -> String {
        let words = PGPWordList.words(Array(hash.prefix(16)))
        return stride(from: 0, to: words.count, by: 4).map { words[$0..<min($0 + 4, words.count)].joined(separator: " ") }
            .joined(separator: " · ")
    }
}
