import TriadCrypto

/// The P-256 signing key of one epoch, derived from that epoch's zone key (docs/zone.md §2).
///
/// scalar = (OS2IP(HKDF-SHA256(ikm = zone key, salt = zone id,
///                             info = "triad/v1/epoch-signing" ‖ BE32(epoch), L = 48)) mod (n − 1)) + 1
/// (FIPS 186-5 Appendix A.2.1 with the HKDF output as the extra random bits).
///
/// Why derived and not stored: every member who holds the zone key of an epoch can sign as that
/// epoch, nobody else can, and nothing new has to be wrapped or kept. The public key is in the
/// signed policy, so a signature proves "made by a holder of this epoch's zone key" to anyone —
/// in particular to `zone status`, which holds no key. A member revoked before epoch e never
/// held its zone key, so cannot sign as e.
public enum EpochSigningKey {
    static let info: [UInt8] = Array("triad/v1/epoch-signing".utf8)

    /// The signing key of `epoch` in zone `zoneID` whose zone key is `zoneKey`.
    public static func derive(zoneID: [UInt8], epoch: UInt32, zoneKey: SecureBytes) throws -> PrivateKey {
        var w = ByteWriter()
        w.raw(info)
        w.u32(epoch)
        let seed = HKDF.deriveKey(inputKey: zoneKey, salt: zoneID, info: w.bytes, outputByteCount: 48)
        return try PrivateKey(ecSeed: seed, curve: .ecP256)
    }
}
