import Foundation
import XCTest
import TriadCrypto
@testable import TriadZone

/// Loops over every case of Fixtures/zone/vectors.json: a fixture zone made by the zone CLI,
/// edits and forgeries made by an independent encoder (Fixtures/zone/edit_policy.py, openssl
/// signatures), and the verdict docs/zone.md §3 requires for each; plus the zone-id and
/// epoch-signing-key derivations that encoder computed on its own.
final class PolicyVectorTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/zone")

    struct Vectors: Decodable {
        struct State: Decodable { var mode: String; var seen: UInt64 }
        struct Case: Decodable {
            var name: String; var actions: [[String]]; var state: State?; var trust: [String]?; var expect: String; var folder: Bool?
        }
        struct ZoneID: Decodable { var genesis_nonce: String; var officers: [String]; var recovery: [String]; var zone_id: String }
        struct EpochSigning: Decodable { var zone_id: String; var epoch: UInt32; var zone_key: String; var public_key: String }
        var cases: [Case]
        var zone_ids: [ZoneID]
        var epoch_signing: [EpochSigning]
        var first_policy_sha256: String
        var policy_sha256: [String: String]
        var zone_id: String
    }

    static func vectors() throws -> Vectors {
        try JSONDecoder().decode(Vectors.self, from: Data(contentsOf: fixtures.appendingPathComponent("vectors.json")))
    }

    func testEveryVector() throws {
        let vectors = try Self.vectors()
        XCTAssertGreaterThanOrEqual(vectors.cases.count, 45)
        let fm = FileManager.default
        let pki = Self.fixtures.appendingPathComponent("pki").path
        let edits = Self.fixtures.appendingPathComponent("edits").path
        let zoneID = Hex.decode(vectors.zone_id)!
        var accepted = 0
        for vector in vectors.cases {
            let s = Scratch()
            let z = s.path("zone"), meta = z + "/.zone"
            try fm.copyItem(atPath: Self.fixtures.appendingPathComponent("zone").path, toPath: z)
            let keyringPath = Zone.keyringPath(root: z, hash: try Zone.load(root: z).policy.keyringHash)
            for action in vector.actions {
                switch action[0] {
                case "replace":
                    try fm.removeItem(atPath: meta + "/" + action[1])
                    try fm.copyItem(atPath: edits + "/" + action[2], toPath: meta + "/" + action[1])
                case "add": try fm.copyItem(atPath: edits + "/" + action[2], toPath: meta + "/" + action[1])
                case "delete": try fm.removeItem(atPath: meta + "/" + action[1])
                case "copy":
                    try? fm.removeItem(atPath: meta + "/" + action[2])
                    try fm.copyItem(atPath: meta + "/" + action[1], toPath: meta + "/" + action[2])
                case "replace-zone":
                    try fm.removeItem(atPath: meta)
                    try fm.copyItem(atPath: edits + "/replaced", toPath: meta)
                case "sparse":
                    XCTAssertEqual(truncate(meta + "/" + action[1], 0), -1)
                    XCTAssertTrue(fm.createFile(atPath: meta + "/" + action[1], contents: nil))
                    XCTAssertEqual(truncate(meta + "/" + action[1], off_t(action[2])!), 0)
                case "fifo": XCTAssertEqual(mkfifo(meta + "/" + action[1], 0o644), 0)
                case "symlink": try fm.createSymbolicLink(atPath: meta + "/" + action[1], withDestinationPath: action[2])
                case "flip-keyring":
                    var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: keyringPath)))
                    bytes[Int(action[1])!] ^= 1
                    try Data(bytes).write(to: URL(fileURLWithPath: keyringPath))
                case "delete-keyring": try fm.removeItem(atPath: keyringPath)
                default: XCTFail("\(vector.name): unknown action \(action[0])")
                }
            }
            if let names = vector.trust {
                var text = ""
                for name in names {
                    if name.hasPrefix("pin:") {
                        let v = String(name.dropFirst(4))
                        text += "zone \(vectors.zone_id) \(v) \(vectors.policy_sha256[v]!)\n"
                    } else if name.hasPrefix("retired:") {
                        text += "retired-recovery \(PKI.certificate(pki + "/" + name.dropFirst(8) + ".crt").fingerprint.hex)\n"
                    } else {
                        text += try String(contentsOfFile: pki + "/" + name + ".crt", encoding: .utf8)
                    }
                }
                s.trust = s.path("trust.pem")
                try text.write(toFile: s.trust!, atomically: true, encoding: .utf8)
            }
            let context = s.context
            if let state = vector.state {
                let seen = vectors.policy_sha256[String(state.seen)]!
                try context.state.save(zoneID: zoneID, ZoneStateRecord(
                    mode: TrustMode(rawValue: state.mode)!, trustFile: state.mode == "trust-file" ? "/etc/triad/trust" : nil,
                    firstPolicyHash: Hex.decode(vectors.first_policy_sha256)!, highestVersion: state.seen, policyHash: Hex.decode(seen)!))
            }
            if vector.folder == true { try context.state.pin(folder: z, zoneID: zoneID) }
            do {
                let zone = try Zone.open(root: z, context: context)
                accepted += 1
                XCTAssertEqual(vector.expect, "accept", "\(vector.name): accepted version \(zone.policy.version)")
            } catch {
                if ProcessInfo.processInfo.environment["TRIAD_VECTOR_LOG"] != nil { print("VECTOR \(vector.name): \(error)") }
                XCTAssertTrue(vector.expect != "accept" && "\(error)".contains(vector.expect),
                              "\(vector.name): expected \(vector.expect), got \(error)")
            }
        }
        XCTAssertGreaterThan(accepted, 5)
    }

    /// The zone id is the one docs/zone.md §3 derives, as the independent encoder computed it;
    /// and the fixture zone's id is bound to its first policy.
    func testZoneIDDerivation() throws {
        let vectors = try Self.vectors()
        XCTAssertGreaterThanOrEqual(vectors.zone_ids.count, 3)
        for v in vectors.zone_ids {
            XCTAssertEqual(ZoneIdentity.zoneID(genesisNonce: Hex.decode(v.genesis_nonce)!,
                                               officerFingerprints: v.officers.map { Hex.decode($0)! },
                                               recoveryFingerprints: v.recovery.map { Hex.decode($0)! }).hex, v.zone_id)
        }
        let first = try SignedPolicy(fileBytes: Array(Data(contentsOf: Self.fixtures.appendingPathComponent("zone/.zone/policy.1"))), context: "policy.1")
        XCTAssertTrue(ZoneIdentity.isBound(first.policy))
        XCTAssertEqual(first.policy.zoneID.hex, vectors.zone_id)
    }

    /// The epoch signing key derivation (docs/zone.md §2) against the encoder's HKDF and openssl's d·G.
    func testEpochSigningKeyDerivation() throws {
        let vectors = try Self.vectors()
        XCTAssertGreaterThanOrEqual(vectors.epoch_signing.count, 5)
        for v in vectors.epoch_signing {
            let key = try EpochSigningKey.derive(zoneID: Hex.decode(v.zone_id)!, epoch: v.epoch, zoneKey: SecureBytes(Hex.decode(v.zone_key)!))
            XCTAssertEqual(key.publicKey.spkiDER.hex, v.public_key, "epoch \(v.epoch) of zone \(v.zone_id)")
            // The key signs, and the policy's public key verifies it.
            let message = Array("key-origin".utf8)
            XCTAssertTrue(try PublicKey(spkiDER: Hex.decode(v.public_key)!).verify(signature: key.sign(message), for: message))
        }
    }
}
