import TriadCrypto
@testable import TriadZone

/// Harness `policy`: a signed zone policy file `.zone/policy.N` (docs/zone.md §2): the
/// envelope, the policy body with its certificates, the history link and the signature check.
func fuzzPolicy(_ bytes: [UInt8]) {
    _ = try? SignedPolicy.link(fileBytes: bytes, context: "fuzz")
    if let signed = try? SignedPolicy(fileBytes: bytes, context: "fuzz") {
        _ = signed.signatureIsValid
        _ = signed.policy.encoded()
    }
    if let policy = try? ZonePolicy(decoding: bytes, context: "fuzz") {
        _ = policy.encoded()
    }
}
