import Foundation
import TriadCrypto
import XCTest
@testable import TriadJournal

/// The signed-entry rule and the checkpoint note of docs/ceremony.md §7, on entries built by
/// hand: what is signed, that nothing else verifies, and the note's exact text.
final class SealTests: XCTestCase {
    func signed(_ key: PrivateKey, _ entry: JournalEntry) throws -> JournalEntry {
        var payload = entry.payload.objectValue!
        payload[Seal.signatureField] = .string(Hex.encode(try key.sign(Seal.message(entry), scheme: .ecdsaSHA256)).lowercased())
        return JournalEntry(ceremony: entry.ceremony, seq: entry.seq, time: entry.time, act: entry.act, step: entry.step,
                            role: entry.role, event: entry.event, payload: .object(payload), prevHash: entry.prevHash)
    }

    func testEveryFieldIsSignedAndTheSignatureFieldIsNot() throws {
        let key = try PrivateKey.generate(.ecP256)
        let entry = JournalEntry(ceremony: "c-1", seq: 7, time: "2026-12-01T00:00:00.000Z", act: "a", step: "", role: "",
                                 event: EventType.actEnd, payload: ["title": "Act"], prevHash: String(repeating: "ab", count: 32))
        let good = try signed(key, entry)
        XCTAssertNoThrow(try Seal.verify(good, key: key.publicKey).get())
        XCTAssertEqual(Seal.message(good), Seal.message(entry), "the signature must not be part of what it signs")
        XCTAssertTrue(Seal.message(entry).starts(with: Array("triad-ceremony-seal-v1\n".utf8)))
        var changes: [JournalEntry] = []
        for edit in 0..<6 {
            var e = good
            switch edit {
            case 0: e.seq = 8
            case 1: e.prevHash = String(repeating: "cd", count: 32)
            case 2: e.event = EventType.closed
            case 3: e.time = "2026-12-01T00:00:00.001Z"
            case 4: e.ceremony = "c-2"
            default: var p = e.payload.objectValue!; p["title"] = "Other"; e.payload = .object(p)
            }
            changes.append(e)
        }
        for (i, e) in changes.enumerated() { XCTAssertEqual(Seal.verify(e, key: key.publicKey).failure, .badSignature, "edit \(i)") }
        XCTAssertEqual(Seal.verify(entry, key: key.publicKey).failure, .unsigned)
        XCTAssertEqual(Seal.verify(good, key: try PrivateKey.generate(.ecP256).publicKey).failure, .badSignature)
    }

    func testCheckpointNoteTextAndKeyID() throws {
        let key = try PrivateKey.generate(.ecP256)
        let head = String(repeating: "01", count: 32)
        let body = Checkpoint.body(ceremony: "test-20261201T000000Z-0a0b0c0d", size: 41, headHash: head)
        XCTAssertEqual(body, "triad-ceremony/test-20261201T000000Z-0a0b0c0d\n41\nAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n")
        let note = try Checkpoint.signedNote(body: body, ceremony: "test-20261201T000000Z-0a0b0c0d", key: key)
        XCTAssertTrue(note.hasPrefix(body + "\n\u{2014} triad-ceremony/test-20261201T000000Z-0a0b0c0d "))
        XCTAssertEqual(Checkpoint.keyID(key.publicKey), Array(SHA256.hash(key.publicKey.spkiDER).prefix(4)))
        XCTAssertNil(Checkpoint.problem(note: note, ceremony: "test-20261201T000000Z-0a0b0c0d", size: 41, headHash: head, key: key.publicKey))
        XCTAssertNotNil(Checkpoint.problem(note: note, ceremony: "test-20261201T000000Z-0a0b0c0d", size: 40, headHash: head, key: key.publicKey))
        XCTAssertNotNil(Checkpoint.problem(note: note, ceremony: "test-20261201T000000Z-0a0b0c0d", size: 41, headHash: head,
                                           key: try PrivateKey.generate(.ecP256).publicKey))
        XCTAssertNotNil(Checkpoint.problem(note: note + "\u{2014} other/key AAAA\n", ceremony: "test-20261201T000000Z-0a0b0c0d", size: 41,
                                           headHash: head, key: key.publicKey))
    }
}

extension Result {
    var failure: Failure? { if case .failure(let e) = self { return e }; return nil }
}
