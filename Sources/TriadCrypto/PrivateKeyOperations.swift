/// The only operations a private key must offer to unwrap anything: ECDH on EC keys and
/// the raw RSA private operation (no padding removed) on RSA keys.
///
/// Software keys (`PrivateKey`) and PIV cards (slot 9D, SP 800-73-4 Part 2 §3.2.4 GENERAL
/// AUTHENTICATE) implement it, so every wrap in Triad — file recovery slots, zone keyring
/// entries, escrow KEK slots — opens the same way whoever holds the key (docs/ARCHITECTURE.md "TriadCrypto").
public protocol PrivateKeyOperations {
    var publicKey: PublicKey { get }
    /// The ECDH shared secret Z (the x-coordinate, SP 800-56A ECC CDH) with `peer`.
    func ecdh(with peer: PublicKey) throws -> SecureBytes
    /// `input^d mod n`, full modulus length, padding still in place.
    func rsaRawPrivate(_ input: [UInt8]) throws -> SecureBytes
}
