import TriadCrypto
@testable import TriadRecovery

/// Harness `escrow`: the escrow blob (docs/escrow.md): structure and checksum, the checks
/// against the committed enrolment record, then the unwrap with the fixture card key, so an
/// input mutated from Fixtures/escrow/good.blob reaches the key-encryption key and the seal.
private let record = try! EnrolmentRecord(json: Array(FuzzFixtures.text("escrow/record.json").utf8))
private let cardKey = try! PrivateKey(pem: SecureBytes(Array(FuzzFixtures.text("escrow/card-p256.key.pem").utf8)))
private let cardCertificate = try! Certificate(pem: FuzzFixtures.text("escrow/card-p256.cert.pem"))
private let recoveryCertificate = try! Certificate(pem: FuzzFixtures.text("escrow/recovery.cert.pem"))

func fuzzEscrow(_ bytes: [UInt8]) {
    _ = try? EscrowSeal.check(bytes, against: record)
    if let blob = try? EscrowBlob(parsing: bytes) {
        _ = try? EscrowSeal.unlock(blob, card: cardKey, cardCertificate: cardCertificate,
                                   recoveryCertificate: recoveryCertificate)
    }
}
