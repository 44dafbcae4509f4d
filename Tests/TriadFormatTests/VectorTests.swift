import Foundation
import XCTest
import TriadCrypto
@testable import TriadFormat

/// Runs every vector in Fixtures/format/vectors.json through every reader: decrypt to a
/// file, decrypt to a pipe, and the random-access reader.
final class VectorTests: XCTestCase {
    func loadManifest() throws -> VectorManifest {
        let data = try Data(contentsOf: TestKeys.fixtures.appendingPathComponent("vectors.json"))
        return try JSONDecoder().decode(VectorManifest.self, from: data)
    }

    func identity(_ name: String, manifest: VectorManifest) throws -> any Identity {
        switch name {
        case "zone":
            return ZoneSlotKey(zoneID: Hex.decode(manifest.zoneID)!, epoch: manifest.epoch,
                               zoneKey: SecureBytes(Hex.decode(manifest.zoneKey)!))
        case "recovery": return try TestKeys.recoveryIdentity()
        case "recovery-any": return RecoveryIdentity(key: try TestKeys.recoveryKey())
        case "recovery-rsa", "recovery-p384":
            let pem = try String(contentsOf: TestKeys.fixtures.appendingPathComponent("\(name).key.pem"), encoding: .utf8)
            return RecoveryIdentity(key: try PrivateKey(pem: SecureBytes(Array(pem.utf8))))
        default: throw FormatError.invalidArgument(problem: "unknown identity \(name) in vectors.json")
        }
    }

    func testManifestCoversTheRequiredCases() throws {
        let manifest = try loadManifest()
        let names = Set(manifest.vectors.map(\.name))
        for required in ["empty", "one-byte", "one-segment", "one-segment-plus-one", "several-segments", "unknown-slot-type",
                         "bad-magic", "unknown-version", "flipped-mac", "flipped-core-zone-id", "flipped-zone-slot-ciphertext",
                         "truncated-at-boundary-1", "swapped-segments", "appended-byte", "final-flag-missing", "final-flag-early",
                         "slot-area-length-long", "slot-count-high", "kem-p256", "kem-p384", "kem-rsa", "kem-slot-transplanted",
                         "crafted-kem-control", "kem-slot-unknown-kem-id"] {
            XCTAssertTrue(names.contains(required), "vectors.json lacks \(required)")
        }
        XCTAssertGreaterThan(manifest.vectors.count, 45)
    }

    func testEveryVector() throws {
        let manifest = try loadManifest()
        for vector in manifest.vectors {
            let path = TestKeys.fixtures.appendingPathComponent(vector.file).path
            for name in vector.openWith {
                let who = try identity(name, manifest: manifest)
                let label = "\(vector.name) with \(name)"
                let scratch = ScratchDirectory()
                let out = scratch.file("plain")

                // 1. Decrypt to a file.
                do {
                    try EncryptedFile.decrypt(OpenedFile.at(path), to: FileLocation.at(out), identities: [who]).commit()
                    XCTAssertEqual(vector.expect, "success", "\(label): decrypted but expected \(vector.expect)")
                    let plain = try readFile(out)
                    XCTAssertEqual(plain.count, vector.plaintextLength, label)
                    XCTAssertEqual(Hex.encode(SHA256.hash(plain)), vector.plaintextSHA256, label)
                } catch {
                    XCTAssertEqual(kind(of: error), vector.expect, "\(label): \(error)")
                    XCTAssertEqual(scratch.entries(), [], "\(label): something was left behind")
                }

                // 2. Decrypt to a pipe: nothing may be written for a failing file.
                let (bytes, error) = capturePipe { fd in try EncryptedFile.decrypt(OpenedFile.at(path), to: fd, identities: [who]) }
                if let error {
                    XCTAssertEqual(kind(of: error), vector.expect, "\(label) to a pipe: \(error)")
                    XCTAssertEqual(bytes.count, 0, "\(label): plaintext reached the pipe")
                } else {
                    XCTAssertEqual(vector.expect, "success", label)
                    XCTAssertEqual(Hex.encode(SHA256.hash(bytes)), vector.plaintextSHA256, label)
                }

                // 3. Random access: open checks the final segment; every segment must then read.
                do {
                    let reader = try EncryptedFileReader(path: path, identities: [who])
                    var all: [UInt8] = []
                    for index in 0..<reader.segmentCount { all += try reader.readSegment(index) }
                    XCTAssertEqual(vector.expect, "success", "\(label): the reader read a failing vector")
                    XCTAssertEqual(Hex.encode(SHA256.hash(all)), vector.plaintextSHA256, label)
                    XCTAssertEqual(Int(reader.plaintextLength), vector.plaintextLength, label)
                } catch {
                    XCTAssertNotEqual(vector.expect, "success", "\(label): reader failed: \(error)")
                }
            }
        }
    }

    /// Parse → re-encode is byte-identical for every vector whose header parses (canonical form).
    func testHeaderReencodesByteForByte() throws {
        let manifest = try loadManifest()
        for vector in manifest.vectors where vector.expect == "success" {
            let bytes = try readFile(TestKeys.fixtures.appendingPathComponent(vector.file).path)
            let header = try HeaderCodec.parse(bytes, path: vector.name)
            var block: [UInt8] = []
            block.appendBE(UInt32(header.slots.reduce(0) { $0 + $1.encodedLength }))
            block.appendBE(UInt16(header.slots.count))
            for slot in header.slots { block.appendBE(slot.type); block.appendBE(UInt16(slot.body.count)); block += slot.body }
            XCTAssertEqual(header.core + block + header.mac, Array(bytes.prefix(header.encodedLength)), vector.name)
        }
    }
}
