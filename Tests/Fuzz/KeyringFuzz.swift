import TriadCrypto
@testable import TriadZone

/// Harness `keyring`: a zone keyring file (docs/zone.md §2b), decoded and re-encoded.
func fuzzKeyring(_ bytes: [UInt8]) {
    if let keyring = try? Keyring(decoding: bytes, context: "fuzz") {
        _ = keyring.encoded()
        _ = keyring.epochs
    }
}
