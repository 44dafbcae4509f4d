import Foundation
import XCTest
import TriadCrypto
import TriadTestSupport
@testable import TriadFormat

/// Checks the spec, not just the code: Fixtures/format/reference-decoder.py is a second
/// reader written from docs/format.md alone (Python `cryptography`, apt python3-cryptography).
/// It must agree with TriadFormat on every vector, with every identity the vector names —
/// the plaintext of a success, and the error name of a failure — and on fresh files of every
/// recipient type.
final class ReferenceDecoderTests: XCTestCase {
    /// One decoder process per identity (Python start-up dominates); one output line per file.
    static func runDecoder(_ arguments: [String], files: [String]) throws -> [String] {
        try ReferenceDecoder.run(arguments, files: files)
    }

    /// The decoder's identity argument for a vector identity name (docs/format.md §10).
    static func identityArgument(_ name: String, manifest: VectorManifest) throws -> String {
        let key = { (file: String) in TestKeys.fixtures.appendingPathComponent(file).path }
        switch name {
        case "zone": return "zone:\(manifest.zoneID):\(manifest.epoch):\(manifest.zoneKey)"
        case "recovery": return "recovery:\(key("recovery.key.pem")):\(Hex.encode(try TestKeys.recoveryCertificate().fingerprint))"
        case "recovery-any": return "recovery:\(key("recovery.key.pem"))"
        case "recovery-rsa", "recovery-p384": return "recovery:\(key("\(name).key.pem"))"
        default: throw FormatError.invalidArgument(problem: "unknown identity \(name) in vectors.json")
        }
    }

    static func outcome(_ line: String) -> String { ReferenceDecoder.outcome(line) }

    func testReferenceDecoderAgreesOnEveryVectorAndIdentity() throws {
        let manifest = try JSONDecoder().decode(VectorManifest.self,
                                                from: Data(contentsOf: TestKeys.fixtures.appendingPathComponent("vectors.json")))
        var checked = 0
        for name in ["zone", "recovery", "recovery-any", "recovery-rsa", "recovery-p384"] {
            let vectors = manifest.vectors.filter { $0.openWith.contains(name) }
            let lines = try Self.runDecoder(["format", try Self.identityArgument(name, manifest: manifest)],
                                            files: vectors.map { TestKeys.fixtures.appendingPathComponent($0.file).path })
            for (vector, line) in zip(vectors, lines) {
                let expected = vector.expect == "success" ? "ok \(vector.plaintextLength!) \(vector.plaintextSHA256!)" : vector.expect
                XCTAssertEqual(Self.outcome(line), expected, "\(vector.name) with \(name): \(line)")
                checked += 1
            }
        }
        XCTAssertEqual(checked, manifest.vectors.reduce(0) { $0 + $1.openWith.count }, "every (vector, identity) pair")
        XCTAssertGreaterThan(checked, 90)
    }

    /// Suite 2 and the write journal (docs/format.md §13, §14): every vector of
    /// Fixtures/format/mutable, with its journal beside the file under its real name, decodes in
    /// Python to the content the vector states, and the decoder says what it did with the journal
    /// and why — replayed, or discarded as torn, tampered or made for another header.
    func testReferenceDecoderAgreesOnEverySuite2VectorAndJournal() throws {
        for (folder, _) in MutableSuiteTests.sets {
            let vectors = try JSONDecoder().decode([MutableSuiteTests.Vector].self,
                                                   from: Data(contentsOf: folder.appendingPathComponent("vectors.json")))
            let journalOutcome = ["journal-replayed": "journal:replayed", "journal-replayed-half-applied": "journal:replayed",
                                  "journal-torn": "journal:discarded:short", "journal-bad-mac": "journal:discarded:bad-MAC",
                                  "journal-other-header": "journal:discarded:another-header"]
            XCTAssertEqual(Set(vectors.compactMap { $0.journal == nil ? nil : $0.name }), Set(journalOutcome.keys), "every journal vector has its expected outcome here")
            // New-file marks (§14.5); a refused file prints its failure only.
            let markOutcome = ["mark-on-empty": "mark:kept", "mark-first-commit-whole": "mark:verified",
                               "mark-first-commit-torn": "mark:reset", "mark-first-commit-cut": "mark:reset"]
            XCTAssertEqual(Set(vectors.compactMap { $0.mark == nil || $0.expect != "success" ? nil : $0.name }), Set(markOutcome.keys),
                           "every mark vector that opens has its expected outcome here")
            var paths: [String] = []
            var scratches: [ScratchDirectory] = []
            for v in vectors {
                let scratch = ScratchDirectory()
                scratches.append(scratch)
                let bytes = try readFile(folder.appendingPathComponent(v.file).path)
                try writeFile(scratch.file(v.file), bytes)
                if let j = v.journal {
                    try writeFile(scratch.file(WriteJournal.name(fileID: Array(bytes[12..<44]))),
                                  try readFile(folder.appendingPathComponent(j).path))
                }
                if let m = v.mark { MutableSuiteTests.setMark(scratch.file(v.file), try readFile(folder.appendingPathComponent(m).path)) }
                paths.append(scratch.file(v.file))
            }
            let zone = "zone:\(Hex.encode(TestKeys.zoneID)):\(TestKeys.epoch):\(Hex.encode(TestKeys.zoneKey.bytes))"
            let lines = try Self.runDecoder(["format", zone], files: paths)
            for (v, line) in zip(vectors, lines) {
                var expected = v.expect == "success" ? "ok \(v.plaintext_length!) \(v.plaintext_sha256!)" : v.expect
                if let outcome = journalOutcome[v.name] ?? markOutcome[v.name] { expected += " " + outcome }
                XCTAssertEqual(Self.outcome(line), expected, "\(v.name): \(line)")
            }
            XCTAssertEqual(lines.count, 24)
        }
    }

    /// Fresh files of every recipient type: the zone slot, run-KEM slots to P-256, P-384 and
    /// RSA-3072 certificates (several files of one run), and per-file slots to P-256 and RSA.
    func testReferenceDecoderReadsFreshFilesOfEveryRecipientType() throws {
        let manifest = try JSONDecoder().decode(VectorManifest.self,
                                                from: Data(contentsOf: TestKeys.fixtures.appendingPathComponent("vectors.json")))
        let scratch = ScratchDirectory()
        let certificate = { (name: String) in
            try Certificate(pem: String(contentsOf: TestKeys.fixtures.appendingPathComponent("\(name).crt.pem"), encoding: .utf8))
        }
        let recipients: [(identity: String, recipient: any Recipient)] = [
            ("recovery", RecoveryRecipient(certificate: try certificate("recovery"))),
            ("recovery-p384", RecoveryRecipient(certificate: try certificate("recovery-p384"))),
            ("recovery-rsa", RecoveryRecipient(certificate: try certificate("recovery-rsa"))),
            ("recovery-any", PerFileRecoveryRecipient(certificate: try certificate("recovery"))),
            ("recovery-rsa", PerFileRecoveryRecipient(certificate: try certificate("recovery-rsa"))),
        ]
        let sizes = [0, 1, 65536, 65537, 300_000]
        for (index, (identity, recipient)) in recipients.enumerated() {
            var files: [String] = [], expected: [String] = []
            for size in sizes {
                let plain = SecureRandom.bytes(count: size)
                let path = scratch.file("c\(index)-\(size)")
                try writeFile(scratch.file("p"), plain)
                try EncryptedFile.encrypt(OpenedFile.at(scratch.file("p")), to: FileLocation.at(path), zoneID: TestKeys.zoneID,
                                          recipients: [recipient, TestKeys.zone]).commit()
                files.append(path)
                expected.append("ok \(size) \(Hex.encode(SHA256.hash(plain)))")
            }
            for who in ["zone", identity] {
                let lines = try Self.runDecoder(["format", try Self.identityArgument(who, manifest: manifest)], files: files)
                XCTAssertEqual(lines, expected, "\(who), recipient \(index)")
            }
        }
    }
}
