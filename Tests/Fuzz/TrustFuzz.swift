import TriadCrypto
@testable import TriadZone

/// Harness `trust`: the organisation's trust file (docs/zone.md §3): PEM certificates and
/// the `retired-recovery` / `zone` lines, read from a file as `zone` reads it.
func fuzzTrust(_ bytes: [UInt8]) {
    let path = FuzzInput.file(bytes, name: "trust")
    _ = try? TrustFile(path: path)
}
