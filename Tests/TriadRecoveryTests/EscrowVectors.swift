import Foundation
import TriadCrypto
@testable import TriadRecovery

/// The escrow fixtures (Fixtures/escrow/, docs/escrow.md §5): a good blob for two cards
/// (P-256 and RSA-2048 software keys standing in for 9D keys), its record, and tampered
/// blobs each derived from the good one by a named mutation, so a test can check that the
/// file on disk is what its name says.
enum EscrowVectors {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/escrow")

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
    static func bytes(_ name: String) throws -> [UInt8] {
        guard let d = FileManager.default.contents(atPath: path(name)) else { throw RecoveryError.io(path: path(name), reason: "missing fixture") }
        return Array(d)
    }
    static func key(_ name: String) throws -> PrivateKey { try PrivateKey(pem: SecureBytes(try bytes(name))) }
    static func cert(_ name: String) throws -> Certificate { try Certificate(pem: String(decoding: try bytes(name), as: UTF8.self)) }

    struct Vector: Codable {
        var name: String
        var file: String
        var mutation: String
        /// The error `EscrowSeal.check` (no card) must raise, by case name.
        var checkError: String
        /// What happens if the blob is opened *without* the record (checksum recomputed by
        /// an attacker): the error `EscrowBlob(parsing:)` or `unlock` raises.
        var withoutRecord: String
    }

    static func vectors() throws -> [Vector] { try JSONDecoder().decode([Vector].self, from: Data(try bytes("vectors.json"))) }

    /// Recomputes the trailing checksum, as an attacker who knows the format would.
    static func rechecksum(_ b: [UInt8]) -> [UInt8] {
        let body = Array(b[0..<(b.count - 32)])
        return body + SHA256.hash(body)
    }

    static func mutate(_ good: [UInt8], _ mutation: String) -> [UInt8] {
        var b = good
        switch mutation {
        case "bad-magic": b[0] ^= 0x01
        case "version-2": b[9] = 2; b = rechecksum(b)
        case "truncated": b.removeLast(40)
        case "trailing-byte": b.append(0)
        case "checksum-flip": b[b.count - 1] ^= 0x80
        case "blob-id-rechecksummed": b[12] ^= 0x01; b = rechecksum(b)
        case "certificate-fingerprint-rechecksummed": b[28] ^= 0x01; b = rechecksum(b)
        case "sealed-key-rechecksummed": b[b.count - 40] ^= 0x01; b = rechecksum(b)
        case "slot-dropped-rechecksummed":
            let blob = try! EscrowBlob(parsing: good)
            var shorter = blob
            shorter.slots.removeLast()
            b = shorter.encoded
        case "slot-body-rechecksummed":
            let blob = try! EscrowBlob(parsing: good)
            var changed = blob
            changed.slots[0].body[changed.slots[0].body.count - 1] ^= 0x01
            b = changed.encoded
        default: fatalError("unknown mutation \(mutation)")
        }
        return b
    }
}
