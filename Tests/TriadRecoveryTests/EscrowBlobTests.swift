import Foundation
import XCTest
import TriadCrypto
@testable import TriadRecovery

/// A private key that counts every use, to show that a check ran *before* the card was
/// asked for anything (docs/escrow.md §3).
final class CountingKey: PrivateKeyOperations {
    let inner: PrivateKey
    private(set) var uses = 0
    init(_ inner: PrivateKey) { self.inner = inner }
    var publicKey: PublicKey { inner.publicKey }
    func ecdh(with peer: PublicKey) throws -> SecureBytes { uses += 1; return try inner.ecdh(with: peer) }
    func rsaRawPrivate(_ input: [UInt8]) throws -> SecureBytes { uses += 1; return try inner.rsaRawPrivate(input) }
}

final class EscrowBlobTests: XCTestCase {
    func fixtures() throws -> (good: [UInt8], record: EnrolmentRecord, recovery: Certificate, cards: [(PrivateKey, Certificate)]) {
        let record = try EnrolmentRecord(json: try EscrowVectors.bytes("record.json"))
        return (try EscrowVectors.bytes("good.blob"), record, try EscrowVectors.cert("recovery.cert.pem"),
                [(try EscrowVectors.key("card-p256.key.pem"), try EscrowVectors.cert("card-p256.cert.pem")),
                 (try EscrowVectors.key("card-rsa2048.key.pem"), try EscrowVectors.cert("card-rsa2048.cert.pem"))])
    }

    /// Regenerates Fixtures/escrow when TRIAD_REGENERATE_ESCROW_FIXTURES=1; otherwise checks
    /// that every tampered vector on disk is exactly its named mutation of good.blob.
    func testTamperedVectorsAreTheirNamedMutations() throws {
        if ProcessInfo.processInfo.environment["TRIAD_REGENERATE_ESCROW_FIXTURES"] == "1" { try regenerate() }
        let good = try EscrowVectors.bytes("good.blob")
        let vectors = try EscrowVectors.vectors()
        XCTAssertGreaterThanOrEqual(vectors.count, 10)
        for v in vectors {
            XCTAssertEqual(try EscrowVectors.bytes(v.file), EscrowVectors.mutate(good, v.mutation), v.name)
        }
    }

    func testGoodBlobOpensWithEitherEnrolledCard() throws {
        let f = try fixtures()
        let blob = try EscrowSeal.check(f.good, against: f.record)
        XCTAssertEqual(blob.slots.count, 2)
        let expected = try EscrowVectors.key("recovery.key.pem")
        for (key, cert) in f.cards {
            XCTAssertNotNil(f.record.card(withFingerprint: cert.fingerprint))
            let recovered = try EscrowSeal.unlock(blob, card: key, cardCertificate: cert, recoveryCertificate: f.recovery)
            XCTAssertEqual(recovered.publicKey, expected.publicKey)
            XCTAssertEqual(try recovered.pkcs8DER(), try expected.pkcs8DER())
        }
    }

    func testEveryTamperedVectorIsRefusedBeforeTheCardIsUsed() throws {
        let f = try fixtures()
        for v in try EscrowVectors.vectors() {
            let bytes = try EscrowVectors.bytes(v.file)
            let card = CountingKey(f.cards[0].0)
            XCTAssertThrowsError(try {
                let blob = try EscrowSeal.check(bytes, against: f.record)
                _ = try EscrowSeal.unlock(blob, card: card, cardCertificate: f.cards[0].1, recoveryCertificate: f.recovery)
            }(), v.name) { error in
                XCTAssertEqual(caseName(error), v.checkError, "\(v.name): \(error)")
            }
            XCTAssertEqual(card.uses, 0, "\(v.name): the card was used before the blob was refused")
        }
    }

    /// Without the record (only the blob's own checks), every vector still fails, and says
    /// where: parsing/checksum before the card, or AEAD/unwrap after it.
    func testEveryTamperedVectorFailsEvenWithoutTheRecord() throws {
        let f = try fixtures()
        for v in try EscrowVectors.vectors() {
            let bytes = try EscrowVectors.bytes(v.file)
            XCTAssertThrowsError(try {
                let blob = try EscrowBlob(parsing: bytes)
                let cardIndex = v.mutation == "slot-dropped-rechecksummed" ? 1 : 0
                _ = try EscrowSeal.unlock(blob, card: f.cards[cardIndex].0, cardCertificate: f.cards[cardIndex].1,
                                          recoveryCertificate: f.recovery)
            }(), v.name) { error in
                XCTAssertEqual(caseName(error), v.withoutRecord, "\(v.name): \(error)")
            }
        }
    }

    /// Flip bit 0x01, then bit 0x80, of every byte of good.blob (each flip on its own): the blob
    /// is refused — with the enrolment record and with the blob's own checks alone — and the
    /// card handed to the unlock is never asked for anything. The same card does get used when
    /// the blob is untouched, so a count of zero means the checks ran first.
    func testFlippingAnyByteIsDetectedBeforeTheCard() throws {
        let f = try fixtures()
        let card = CountingKey(f.cards[0].0)
        let unlock = { (blob: EscrowBlob) in
            _ = try EscrowSeal.unlock(blob, card: card, cardCertificate: f.cards[0].1, recoveryCertificate: f.recovery)
        }
        for i in 0..<f.good.count {
            for mask: UInt8 in [0x01, 0x80] {
                var b = f.good
                b[i] ^= mask
                XCTAssertThrowsError(try unlock(try EscrowSeal.check(b, against: f.record)), "byte \(i) mask \(mask)")
                XCTAssertThrowsError(try unlock(try EscrowBlob(parsing: b)), "byte \(i) mask \(mask) without record")
            }
        }
        XCTAssertEqual(card.uses, 0, "a flipped blob reached the card")
        // Control: the untouched blob opens with this card, and the card is used.
        XCTAssertNoThrow(try unlock(try EscrowSeal.check(f.good, against: f.record)))
        XCTAssertGreaterThan(card.uses, 0, "the counting card counts")
    }

    func testCardThatIsNotEnrolledHasNoSlotAndIsNeverAsked() throws {
        let f = try fixtures()
        let blob = try EscrowSeal.check(f.good, against: f.record)
        let other = CountingKey(try EscrowVectors.key("other-card.key.pem"))
        let otherCert = try EscrowVectors.cert("other-card.cert.pem")
        XCTAssertNil(f.record.card(withFingerprint: otherCert.fingerprint))
        XCTAssertThrowsError(try EscrowSeal.unlock(blob, card: other, cardCertificate: otherCert, recoveryCertificate: f.recovery)) {
            XCTAssertEqual(caseName($0), "cardHasNoSlotInBlob")
        }
        XCTAssertEqual(other.uses, 0)
    }

    /// A card presenting another card's certificate (its key does not match) is refused.
    func testCardKeyMustMatchItsCertificate() throws {
        let f = try fixtures()
        let blob = try EscrowSeal.check(f.good, against: f.record)
        let impostor = CountingKey(try EscrowVectors.key("other-card.key.pem"))
        XCTAssertThrowsError(try EscrowSeal.unlock(blob, card: impostor, cardCertificate: f.cards[0].1, recoveryCertificate: f.recovery))
        XCTAssertEqual(impostor.uses, 0)
    }

    func testFreshBlobsDifferAndRoundTrip() throws {
        let f = try fixtures()
        let key = try EscrowVectors.key("recovery.key.pem")
        let a = try EscrowSeal.create(recoveryKey: key, recoveryCertificate: f.recovery, cards: f.cards.map { $0.1 })
        let b = try EscrowSeal.create(recoveryKey: key, recoveryCertificate: f.recovery, cards: f.cards.map { $0.1 })
        XCTAssertNotEqual(a.blobID, b.blobID)
        XCTAssertNotEqual(a.sealedKey, b.sealedKey)
        XCTAssertEqual(try EscrowBlob(parsing: a.encoded), a)
        // The PKCS#8 bytes never appear in the blob.
        let pkcs8 = try key.pkcs8DER().bytes
        XCTAssertFalse(contains(a.encoded, pkcs8.suffix(40)))
    }

    func testCreateRefusesAKeyThatIsNotTheCertificates() throws {
        let f = try fixtures()
        XCTAssertThrowsError(try EscrowSeal.create(recoveryKey: try PrivateKey.generate(.ecP256), recoveryCertificate: f.recovery,
                                                   cards: [f.cards[0].1]))
    }

    // MARK: fixture generation

    private func regenerate() throws {
        let dir = EscrowVectors.directory.path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        func write(_ name: String, _ bytes: [UInt8]) throws { try Data(bytes).write(to: URL(fileURLWithPath: EscrowVectors.path(name))) }
        let recoveryKey = try PrivateKey.generate(.ecP256)
        let recovery = try Certificate.selfSigned(subject: "CN=Triad fixture recovery key", key: recoveryKey, days: 36500)
        let c1 = try PrivateKey.generate(.ecP256), c2 = try PrivateKey.generate(.rsa(bits: 2048)), other = try PrivateKey.generate(.ecP256)
        let cert1 = try Certificate.selfSigned(subject: "CN=Triad fixture recovery card 1", key: c1, days: 36500)
        let cert2 = try Certificate.selfSigned(subject: "CN=Triad fixture recovery card 2", key: c2, days: 36500)
        let certO = try Certificate.selfSigned(subject: "CN=Triad fixture other card", key: other, days: 36500)
        try write("recovery.key.pem", try recoveryKey.pkcs8PEM().bytes); try write("recovery.cert.pem", Array(recovery.pem.utf8))
        try write("card-p256.key.pem", try c1.pkcs8PEM().bytes); try write("card-p256.cert.pem", Array(cert1.pem.utf8))
        try write("card-rsa2048.key.pem", try c2.pkcs8PEM().bytes); try write("card-rsa2048.cert.pem", Array(cert2.pem.utf8))
        try write("other-card.key.pem", try other.pkcs8PEM().bytes); try write("other-card.cert.pem", Array(certO.pem.utf8))
        let blob = try EscrowSeal.create(recoveryKey: recoveryKey, recoveryCertificate: recovery, cards: [cert1, cert2])
        let good = blob.encoded
        try write("good.blob", good)
        let record = EnrolmentRecord(recoveryCertificate: recovery, blob: good, parsed: blob,
                                     cards: [.init(serial: 1001, certificate: cert1), .init(serial: 1002, certificate: cert2)])
        try write("record.json", try record.encoded())
        for v in try EscrowVectors.vectors() { try write(v.file, EscrowVectors.mutate(good, v.mutation)) }
    }
}

func caseName(_ error: Error) -> String {
    if let e = error as? RecoveryError { return e.code }
    return "\(type(of: error)).\(error)"
}

func contains(_ haystack: [UInt8], _ needle: ArraySlice<UInt8>) -> Bool {
    let n = Array(needle)
    guard !n.isEmpty, haystack.count >= n.count else { return false }
    for i in 0...(haystack.count - n.count) where haystack[i] == n[0] && Array(haystack[i..<i + n.count]) == n { return true }
    return false
}
