import Foundation
import XCTest
import TriadCrypto
import TriadTestSupport
@testable import TriadRecovery

/// The escrow blob through Fixtures/format/reference-decoder.py, a second reader written from
/// docs/escrow.md and docs/format.md alone (Python `cryptography`): it must open the good
/// blob with either enrolled card, refuse every tampered vector with the error Swift raises
/// (with the record and without it), and open freshly sealed blobs.
final class EscrowReferenceDecoderTests: XCTestCase {
    /// Runs `escrow CARD_KEY CARD_CERT RECOVERY_CERT RECORD|- BLOB...`; one line per blob.
    func run(card: String, record: String?, recovery: String = EscrowVectors.path("recovery.cert.pem"), _ blobs: [String]) throws -> [String] {
        try ReferenceDecoder.run(["escrow", EscrowVectors.path("\(card).key.pem"), EscrowVectors.path("\(card).cert.pem"),
                                  recovery, record ?? "-"], files: blobs)
    }

    func reason(_ line: String) -> String { ReferenceDecoder.outcome(line) }

    func testGoodBlobAndEveryTamperedVector() throws {
        let recovery = try EscrowVectors.cert("recovery.cert.pem")
        let ok = "ok \(Hex.encode(recovery.fingerprint))"
        let record = EscrowVectors.path("record.json")
        for card in ["card-p256", "card-rsa2048"] {
            XCTAssertEqual(try run(card: card, record: record, [EscrowVectors.path("good.blob")]), [ok], card)
            XCTAssertEqual(try run(card: card, record: nil, [EscrowVectors.path("good.blob")]), [ok], card)
        }
        XCTAssertEqual(try run(card: "other-card", record: nil, [EscrowVectors.path("good.blob")]).map(reason), ["cardHasNoSlotInBlob"])
        let vectors = try EscrowVectors.vectors()
        let files = vectors.map { EscrowVectors.path($0.file) }
        for (vector, line) in zip(vectors, try run(card: "card-p256", record: record, files)) {
            XCTAssertEqual(reason(line), vector.checkError, "\(vector.name) with the record: \(line)")
        }
        // Without the record, the card the Swift test uses for each vector (the second card
        // for the vector whose first slot was dropped).
        for vector in vectors {
            let card = vector.mutation == "slot-dropped-rechecksummed" ? "card-rsa2048" : "card-p256"
            XCTAssertEqual(try run(card: card, record: nil, [EscrowVectors.path(vector.file)]).map(reason), [vector.withoutRecord],
                           "\(vector.name) without the record")
        }
    }

    func testFreshBlobsOpen() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("escrow-ref-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let recoveryKey = try EscrowVectors.key("recovery.key.pem")
        let recovery = try EscrowVectors.cert("recovery.cert.pem")
        let cards = [try EscrowVectors.cert("card-p256.cert.pem"), try EscrowVectors.cert("card-rsa2048.cert.pem")]
        var blobs: [String] = []
        for index in 0..<3 {
            let blob = try EscrowSeal.create(recoveryKey: recoveryKey, recoveryCertificate: recovery, cards: cards)
            let path = scratch + "/blob\(index)"
            FileManager.default.createFile(atPath: path, contents: Data(blob.encoded))
            blobs.append(path)
        }
        for card in ["card-p256", "card-rsa2048"] {
            XCTAssertEqual(try run(card: card, record: nil, blobs), Array(repeating: "ok \(Hex.encode(recovery.fingerprint))", count: 3), card)
        }
    }
}
