import Foundation
import TriadCrypto
import XCTest

/// XAES-256-GCM against the C2SP vectors (Fixtures/crypto/xaes-256-gcm.json), every vector
/// both ways, and the failures that must happen: any changed byte of key, nonce, AAD,
/// ciphertext or tag makes `open` fail and release nothing.
final class XAESGCMTests: XCTestCase {
    struct File: Decodable {
        struct Vector: Decodable { let key, nonce_ascii, plaintext_ascii, aad_ascii, sealed: String }
        let source: String
        let vectors: [Vector]
    }

    static let file: File = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/crypto/xaes-256-gcm.json")
        return try! JSONDecoder().decode(File.self, from: Data(contentsOf: url))
    }()

    func testPublishedVectors() throws {
        XCTAssertEqual(Self.file.vectors.count, 2)
        for v in Self.file.vectors {
            let key = SecureBytes([UInt8](hex: v.key))
            let nonce = Array(v.nonce_ascii.utf8), aad = Array(v.aad_ascii.utf8), plain = Array(v.plaintext_ascii.utf8)
            let sealed = try XAESGCMSegmentCipher(key: key, encrypting: true).seal(plain, nonce: nonce, aad: aad)
            XCTAssertEqual(Hex.encode(sealed), v.sealed, Self.file.source)
            XCTAssertEqual(try XAESGCMSegmentCipher(key: key, encrypting: false).open([UInt8](hex: v.sealed), nonce: nonce, aad: aad), plain)
        }
    }

    func testEveryChangedInputFails() throws {
        let key = SecureBytes.random(count: 32)
        let nonce = SecureRandom.bytes(count: 24), aad = Array("segment 7".utf8), plain = SecureRandom.bytes(count: 1000)
        let sealer = try XAESGCMSegmentCipher(key: key, encrypting: true)
        let opener = try XAESGCMSegmentCipher(key: key, encrypting: false)
        let sealed = try sealer.seal(plain, nonce: nonce, aad: aad)
        XCTAssertEqual(try opener.open(sealed, nonce: nonce, aad: aad), plain)
        for i in [0, 500, 999, 1000, 1015] {
            var bad = sealed; bad[i] ^= 0x01
            XCTAssertThrowsError(try opener.open(bad, nonce: nonce, aad: aad), "sealed byte \(i)")
        }
        for i in [0, 11, 12, 23] {
            var bad = nonce; bad[i] ^= 0x80
            XCTAssertThrowsError(try opener.open(sealed, nonce: bad, aad: aad), "nonce byte \(i) (both halves matter)")
        }
        XCTAssertThrowsError(try opener.open(sealed, nonce: nonce, aad: Array("segment 8".utf8)))
        XCTAssertThrowsError(try XAESGCMSegmentCipher(key: SecureBytes.random(count: 32), encrypting: false).open(sealed, nonce: nonce, aad: aad))
        XCTAssertThrowsError(try opener.open(sealed, nonce: Array(nonce.prefix(12)), aad: aad), "a 96-bit nonce is refused")
    }

    /// The same key and plaintext under two random nonces give unrelated ciphertexts (the
    /// derived key differs), and one cipher object serves many nonces in a row.
    func testFreshNoncePerSeal() throws {
        let key = SecureBytes.random(count: 32)
        let sealer = try XAESGCMSegmentCipher(key: key, encrypting: true)
        let opener = try XAESGCMSegmentCipher(key: key, encrypting: false)
        let plain = [UInt8](repeating: 0x41, count: 64)
        var seen = Set<[UInt8]>()
        for _ in 0..<50 {
            let nonce = SecureRandom.bytes(count: 24)
            let sealed = try sealer.seal(plain, nonce: nonce)
            XCTAssertTrue(seen.insert(sealed).inserted)
            XCTAssertEqual(try opener.open(sealed, nonce: nonce), plain)
        }
    }
}
