import TriadCrypto
import XCTest

/// Known-answer tests for the management-key block cipher (TriadCrypto/BlockCipher.swift):
/// FIPS-197 Appendix C (AES) and SP 800-67 Rev. 2 Appendix B (3TDEA, first block).
final class VirtualBlockCipherTests: XCTestCase {
    struct Vector { let cipher: BlockCipher; let key: String; let plain: String; let encrypted: String }

    static let vectors: [Vector] = [
        Vector(cipher: .aes128, key: "000102030405060708090a0b0c0d0e0f",
               plain: "00112233445566778899aabbccddeeff", encrypted: "69c4e0d86a7b0430d8cdb78070b4c55a"),
        Vector(cipher: .aes192, key: "000102030405060708090a0b0c0d0e0f1011121314151617",
               plain: "00112233445566778899aabbccddeeff", encrypted: "dda97ca4864cdfe06eaf70a0ec0d7191"),
        Vector(cipher: .aes256, key: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
               plain: "00112233445566778899aabbccddeeff", encrypted: "8ea2b7ca516745bfeafc49904b496089"),
        Vector(cipher: .tripleDES, key: "0123456789abcdef23456789abcdef01456789abcdef0123",
               plain: "5468652071756663", encrypted: "a826fd8ce53b855f"),
    ]

    func testEveryVectorEncryptsAndDecrypts() throws {
        for v in Self.vectors {
            let key = SecureBytes(Hex.decode(v.key)!)
            XCTAssertEqual(Hex.encode(try v.cipher.encryptBlock(Hex.decode(v.plain)!, key: key)), v.encrypted, "\(v.cipher)")
            XCTAssertEqual(Hex.encode(try v.cipher.decryptBlock(Hex.decode(v.encrypted)!, key: key)), v.plain, "\(v.cipher)")
        }
    }

    func testAlgorithmIdentifiersAndSizes() {
        XCTAssertEqual(BlockCipher.allCases.map(\.pivAlgorithmID), [0x03, 0x08, 0x0A, 0x0C])
        XCTAssertEqual(BlockCipher.allCases.map(\.blockSize), [8, 16, 16, 16])
        XCTAssertEqual(BlockCipher.allCases.map(\.keySize), [24, 16, 24, 32])
        for c in BlockCipher.allCases { XCTAssertEqual(BlockCipher(pivAlgorithmID: c.pivAlgorithmID), c) }
        XCTAssertNil(BlockCipher(pivAlgorithmID: 0x07))
    }

    func testWrongLengthsAreRefused() {
        let key = SecureBytes(count: 16)
        XCTAssertThrowsError(try BlockCipher.aes128.encryptBlock([UInt8](repeating: 0, count: 15), key: key)) {
            XCTAssertEqual($0 as? BlockCipherError, .badLength(what: "block", expected: 16, actual: 15))
        }
        XCTAssertThrowsError(try BlockCipher.tripleDES.encryptBlock([UInt8](repeating: 0, count: 8), key: key)) {
            XCTAssertEqual($0 as? BlockCipherError, .badLength(what: "key", expected: 24, actual: 16))
        }
    }
}
