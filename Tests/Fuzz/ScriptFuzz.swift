import TriadCrypto
@testable import TriadCeremony

/// Harness `script`: a ceremony script (docs/ceremony.md), YAML through Yams, then the lint
/// that `ceremony lint` and every run apply.
func fuzzScript(_ bytes: [UInt8]) {
    let text = String(decoding: bytes, as: UTF8.self)
    if let script = try? ScriptLoader.parse(text, origin: "fuzz") {
        _ = Lint.check(script)
    }
}
