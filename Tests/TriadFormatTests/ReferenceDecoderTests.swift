import Foundation
import XCTest
import TriadCrypto
@testable import TriadFormat

/// Checks the spec, not just the code: Fixtures/format/reference-decoder.py is a second
/// reader written from docs/format.md alone (Python `cryptography`, apt python3-cryptography).
/// It must agree with TriadFormat on every vector a zone key opens, and on fresh files.
final class ReferenceDecoderTests: XCTestCase {
    /// One decoder process for many files (Python start-up dominates); one output line per file.
    func runDecoder(_ paths: [String], zoneID: [UInt8], epoch: UInt32, zoneKey: [UInt8]) throws -> [String] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [TestKeys.fixtures.appendingPathComponent("reference-decoder.py").path,
                             Hex.encode(zoneID), String(epoch), Hex.encode(zoneKey)] + paths
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "the reference decoder crashed (is python3-cryptography installed?)")
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, paths.count)
        return lines
    }

    func testReferenceDecoderAgreesOnEveryZoneVector() throws {
        let manifest = try JSONDecoder().decode(VectorManifest.self,
                                                from: Data(contentsOf: TestKeys.fixtures.appendingPathComponent("vectors.json")))
        let vectors = manifest.vectors.filter { $0.openWith.contains("zone") }
        let lines = try runDecoder(vectors.map { TestKeys.fixtures.appendingPathComponent($0.file).path },
                                   zoneID: Hex.decode(manifest.zoneID)!, epoch: manifest.epoch, zoneKey: Hex.decode(manifest.zoneKey)!)
        for (vector, line) in zip(vectors, lines) {
            if vector.expect == "success" {
                XCTAssertEqual(line, "ok \(vector.plaintextLength!) \(vector.plaintextSHA256!)", vector.name)
            } else {
                XCTAssertTrue(line.hasPrefix("fail "), "\(vector.name): the reference decoder accepted a vector that must fail: \(line)")
            }
        }
        XCTAssertGreaterThan(vectors.count, 40)
    }

    func testReferenceDecoderReadsFreshFiles() throws {
        let scratch = ScratchDirectory()
        let sizes = [0, 1, 65536, 65537, 300_000]
        var expected: [String] = []
        for size in sizes {
            let plain = SecureRandom.bytes(count: size)
            try writeFile(scratch.file("p"), plain)
            try EncryptedFile.encrypt(inputPath: scratch.file("p"), outputPath: scratch.file("c\(size)"), zoneID: TestKeys.zoneID,
                                      recipients: [RecoveryRecipient(certificate: try TestKeys.recoveryCertificate()), TestKeys.zone])
            expected.append("ok \(size) \(Hex.encode(SHA256.hash(plain)))")
        }
        let lines = try runDecoder(sizes.map { scratch.file("c\($0)") }, zoneID: TestKeys.zoneID, epoch: TestKeys.epoch,
                                   zoneKey: TestKeys.zoneKey.bytes)
        XCTAssertEqual(lines, expected)
    }
}
