import Foundation
import TriadCrypto
import XCTest

/// Published test vectors (RFC 5869, RFC 4231, FIPS 180-2, the GCM specification), kept in
/// Fixtures/crypto/vectors.json; every vector runs.
final class VectorTests: XCTestCase {
    struct Vectors: Decodable {
        struct HKDFVector: Decodable { let source, ikm, salt, info, okm: String; let length: Int }
        struct HMACVector: Decodable { let source, key, data, mac: String }
        struct DigestVector: Decodable { let source, data, digest: String }
        struct GCMVector: Decodable { let source, key, nonce, plaintext, aad, sealed: String }
        let hkdf_sha256: [HKDFVector]
        let hmac_sha256: [HMACVector]
        let sha256: [DigestVector]
        let aes256gcm: [GCMVector]
    }

    static let vectors: Vectors = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/crypto/vectors.json")
        return try! JSONDecoder().decode(Vectors.self, from: Data(contentsOf: url))
    }()

    func testHKDF() {
        XCTAssertEqual(Self.vectors.hkdf_sha256.count, 3)
        for v in Self.vectors.hkdf_sha256 {
            let okm = HKDF.deriveKey(inputKey: SecureBytes([UInt8](hex: v.ikm)), salt: [UInt8](hex: v.salt), info: [UInt8](hex: v.info), outputByteCount: v.length)
            XCTAssertEqual(Hex.encode(okm.bytes), v.okm, v.source)
        }
    }

    func testHMAC() {
        XCTAssertEqual(Self.vectors.hmac_sha256.count, 3)
        for v in Self.vectors.hmac_sha256 {
            let key = SecureBytes([UInt8](hex: v.key))
            XCTAssertEqual(Hex.encode(HMACSHA256.authenticate([UInt8](hex: v.data), key: key)), v.mac, v.source)
            XCTAssertTrue(HMACSHA256.isValid([UInt8](hex: v.mac), for: [UInt8](hex: v.data), key: key))
            var wrong = [UInt8](hex: v.mac); wrong[0] ^= 1
            XCTAssertFalse(HMACSHA256.isValid(wrong, for: [UInt8](hex: v.data), key: key))
            // A truncated or empty MAC is no MAC: a prefix of the right one does not verify.
            for length in [0, 1, 16, 31] {
                XCTAssertFalse(HMACSHA256.isValid(Array([UInt8](hex: v.mac).prefix(length)), for: [UInt8](hex: v.data), key: key),
                               "\(v.source): the first \(length) bytes of the MAC")
            }
            XCTAssertFalse(HMACSHA256.isValid([UInt8](hex: v.mac) + [0], for: [UInt8](hex: v.data), key: key), "MAC with a byte appended")
        }
        XCTAssertFalse(constantTimeEquals([1, 2, 3], [1, 2]))
        XCTAssertFalse(constantTimeEquals([], [1]))
        XCTAssertTrue(constantTimeEquals([], []))
        XCTAssertTrue(constantTimeEquals([7, 8], [7, 8]))
    }

    func testSHA256() {
        XCTAssertEqual(Self.vectors.sha256.count, 2)
        for v in Self.vectors.sha256 {
            XCTAssertEqual(Hex.encode(SHA256.hash([UInt8](hex: v.data))), v.digest, v.source)
            let hasher = SHA256Hasher()
            for byte in [UInt8](hex: v.data) { hasher.update([byte]) }
            XCTAssertEqual(Hex.encode(hasher.finalize()), v.digest, v.source)
        }
    }

    func testAESGCMVectorsAndEveryTamperedByte() throws {
        XCTAssertEqual(Self.vectors.aes256gcm.count, 3)
        for v in Self.vectors.aes256gcm {
            let key = SecureBytes([UInt8](hex: v.key))
            let sealed = try AESGCM.seal([UInt8](hex: v.plaintext), key: key, nonce: [UInt8](hex: v.nonce), aad: [UInt8](hex: v.aad))
            XCTAssertEqual(Hex.encode(sealed), v.sealed, v.source)
            let opened = try AESGCM.open(sealed, key: key, nonce: [UInt8](hex: v.nonce), aad: [UInt8](hex: v.aad))
            XCTAssertEqual(Hex.encode(opened.bytes), v.plaintext, v.source)
            for index in sealed.indices {
                var tampered = sealed
                tampered[index] ^= 0x80
                XCTAssertThrowsError(try AESGCM.open(tampered, key: key, nonce: [UInt8](hex: v.nonce), aad: [UInt8](hex: v.aad)), "\(v.source) byte \(index)") {
                    XCTAssertEqual($0 as? CryptoError, .authenticationFailed)
                }
            }
            XCTAssertThrowsError(try AESGCM.open(sealed, key: key, nonce: [UInt8](hex: v.nonce), aad: [UInt8](hex: v.aad) + [1]))
            // Shorter than a tag: refused as unauthenticated, never read out of bounds.
            for length in 0..<16 {
                XCTAssertThrowsError(try AESGCM.open(Array(sealed.prefix(length)), key: key, nonce: [UInt8](hex: v.nonce), aad: [UInt8](hex: v.aad)),
                                     "\(v.source): \(length) bytes") {
                    XCTAssertEqual($0 as? CryptoError, .authenticationFailed)
                }
            }
        }
    }

    func testHexRoundTripAndRejects() {
        XCTAssertEqual(Hex.decode("00ffA0"), [0, 255, 160])
        XCTAssertNil(Hex.decode("0"))
        XCTAssertNil(Hex.decode("zz"))
        XCTAssertEqual(Hex.encode([0, 255, 160]), "00ffa0")
    }

    func testSecureBytesDoesNotPrintItsContent() {
        let secret = SecureBytes([0x41, 0x42, 0x43])
        // Neither as text, nor in hex, nor as decimal byte values, nor through debugging output.
        for shown in ["\(secret)", String(describing: secret), String(reflecting: secret)] {
            for leak in ["ABC", "414243", "41, 42", "0x41", "65, 66"] {
                XCTAssertFalse(shown.contains(leak), "\(shown) shows \(leak)")
            }
        }
        XCTAssertEqual(secret, SecureBytes([0x41, 0x42, 0x43]))
        XCTAssertNotEqual(secret, SecureBytes([0x41, 0x42, 0x44]))
        var copy = secret
        copy.withUnsafeMutableBytes { $0[0] = 0 }
        XCTAssertEqual(secret.bytes, [0x41, 0x42, 0x43], "copy-on-write keeps the original")
    }
}
