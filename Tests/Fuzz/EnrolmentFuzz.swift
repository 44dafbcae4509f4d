import TriadCrypto
@testable import TriadRecovery

/// Harness `enrolment`: the enrolment record (docs/escrow.md), JSON as `ceremony` reads it,
/// and re-encoded when it parses.
func fuzzEnrolment(_ bytes: [UInt8]) {
    if let record = try? EnrolmentRecord(json: bytes) {
        _ = try? record.encoded()
    }
}
