import Foundation
import XCTest
import TriadCrypto
@testable import TriadZone

/// Loops over every case of Fixtures/zone/vectors.json: a fixture zone made by the zone CLI,
/// edits made by an independent encoder (Fixtures/zone/edit_policy.py, openssl signatures),
/// and the verdict docs/zone.md §3 requires for each.
final class PolicyVectorTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/zone")

    struct Vectors: Decodable {
        struct Case: Decodable { var name: String; var actions: [[String]]; var seen: Int; var expect: String }
        var cases: [Case]
    }

    func testEveryVector() throws {
        let data = try Data(contentsOf: Self.fixtures.appendingPathComponent("vectors.json"))
        let vectors = try JSONDecoder().decode(Vectors.self, from: data)
        XCTAssertGreaterThanOrEqual(vectors.cases.count, 15)
        let fm = FileManager.default
        let officer = PKI.certificate(Self.fixtures.appendingPathComponent("pki/officer.crt").path)
        for vector in vectors.cases {
            let s = Scratch()
            let z = s.path("zone"), meta = z + "/.zone", edits = Self.fixtures.appendingPathComponent("edits").path
            try fm.copyItem(atPath: Self.fixtures.appendingPathComponent("zone").path, toPath: z)
            let genuine = try Zone.load(root: z)
            let keyringPath = Zone.keyringPath(root: z, hash: genuine.policy.keyringHash)
            for action in vector.actions {
                switch action[0] {
                case "replace":
                    try fm.removeItem(atPath: meta + "/" + action[1])
                    try fm.copyItem(atPath: edits + "/" + action[2], toPath: meta + "/" + action[1])
                case "add": try fm.copyItem(atPath: edits + "/" + action[1], toPath: meta + "/" + action[1])
                case "delete": try fm.removeItem(atPath: meta + "/" + action[1])
                case "copy":
                    try? fm.removeItem(atPath: meta + "/" + action[2])
                    try fm.copyItem(atPath: meta + "/" + action[1], toPath: meta + "/" + action[2])
                case "flip-keyring":
                    var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: keyringPath)))
                    bytes[Int(action[1])!] ^= 1
                    try Data(bytes).write(to: URL(fileURLWithPath: keyringPath))
                case "delete-keyring": try fm.removeItem(atPath: keyringPath)
                default: XCTFail("\(vector.name): unknown action \(action[0])")
                }
            }
            let context = s.context
            if vector.seen > 0 {
                let seenBytes = try Array(Data(contentsOf: Self.fixtures.appendingPathComponent("zone/.zone/policy.\(vector.seen)")))
                try context.state.save(zoneID: genuine.policy.zoneID, ZoneStateRecord(
                    highestVersion: UInt64(vector.seen), policyHash: SHA256.hash(seenBytes), pinnedOfficers: [officer.fingerprint]))
            }
            do {
                let zone = try Zone.open(root: z, context: context)
                XCTAssertEqual(vector.expect, "accept", "\(vector.name): accepted version \(zone.policy.version)")
            } catch {
                XCTAssertTrue(vector.expect != "accept" && "\(error)".contains(vector.expect),
                              "\(vector.name): expected \(vector.expect), got \(error)")
            }
        }
    }
}
