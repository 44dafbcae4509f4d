import Foundation
import XCTest
import TriadCrypto
import TriadFormat
@testable import TriadZone

/// docs/format.md §11: per-file public-key work never grows with the number of members — only the
/// keyring does. A file written in a 60-member zone has the same slots and header size as one
/// written in a 1-member zone.
final class PerFileCostTests: XCTestCase {
    func testHeaderDoesNotGrowWithMembers() throws {
        let officerKey = try PrivateKey.generate(.ecP256)
        let officer = try Certificate.selfSigned(subject: "CN=officer", key: officerKey, days: 30, keyUsage: "critical,digitalSignature,keyAgreement")
        let recoveryKey = try PrivateKey.generate(.rsa(bits: 2048))
        let recovery = try Certificate.selfSigned(subject: "CN=recovery", key: recoveryKey, days: 30)
        var members: [Certificate] = []
        for i in 0..<59 {
            members.append(try Certificate.selfSigned(subject: "CN=member\(i)", key: PrivateKey.generate(.ecP256), days: 30))
        }
        var headers: [FileHeader] = []
        var keyringSizes: [Int] = []
        for memberList in [[], members] {
            let s = Scratch()
            s.write("z/f", [UInt8](repeating: 1, count: 1000))
            let zone = try Zone.create(root: s.path("z"), officer: officer, key: officerKey, recovery: [recovery],
                                       members: memberList, context: s.context)
            XCTAssertEqual(zone.policy.members.count, memberList.count + 1)
            let access = try ZoneAccess(zone: zone, key: officerKey, identityName: "officer")
            _ = try ZoneFiles(access: access).encrypt([s.path("z")])
            headers.append(try EncryptedFile.readHeader(at: s.path("z/f")))
            keyringSizes.append(zone.keyring.entries.count)
        }
        XCTAssertEqual(headers[0].slots.map(\.type), headers[1].slots.map(\.type))
        XCTAssertEqual(headers[0].slots.map(\.type).sorted(), [SlotType.zone, SlotType.recoveryKEM, KeyOriginMarker.slotType].sorted())
        XCTAssertEqual(headers[0].encodedLength, headers[1].encodedLength)
        XCTAssertEqual(keyringSizes, [1, 60], "only the keyring grows: one entry per member per epoch")
    }

    /// The canonical encoding round-trips and rejects any other form of the same policy.
    func testPolicyEncodingIsCanonical() throws {
        let key = try PrivateKey.generate(.ecP384)
        let cert = try Certificate.selfSigned(subject: "CN=o", key: key, days: 30)
        let zoneID = [UInt8](repeating: 7, count: 16)
        let policy = ZonePolicy(zoneID: zoneID, version: 3, previousPolicyHash: [UInt8](repeating: 1, count: 32),
                                genesisNonce: [UInt8](repeating: 5, count: 32),
                                createdAt: 1_700_000_000, officers: [cert], members: [cert], recoveryCertificates: [cert],
                                currentEpoch: 2, epochs: [try EpochCommitment(epoch: 1, zoneID: zoneID, zoneKey: SecureBytes([UInt8](repeating: 2, count: 32))),
                                                          try EpochCommitment(epoch: 2, zoneID: zoneID, zoneKey: SecureBytes([UInt8](repeating: 3, count: 32)))],
                                keyringHash: [UInt8](repeating: 4, count: 32))
        let bytes = policy.encoded()
        XCTAssertEqual(try ZonePolicy(decoding: bytes, context: "p").encoded(), bytes)
        XCTAssertThrowsError(try ZonePolicy(decoding: bytes + [0], context: "p"), "trailing byte")
        XCTAssertThrowsError(try ZonePolicy(decoding: Array(bytes.dropLast()), context: "p"), "truncated")
        var wrongEpoch = policy
        wrongEpoch.currentEpoch = 9
        XCTAssertThrowsError(try ZonePolicy(decoding: wrongEpoch.encoded(), context: "p"), "current epoch without commitment")
        let signed = try SignedPolicy.sign(policy, officer: cert, key: key)
        XCTAssertTrue(try SignedPolicy(fileBytes: signed.fileBytes, context: "p").signatureIsValid)
        // Every byte of the signed file, flipped (bit 0x01) on its own, is rejected: at parse, or
        // at verify for the changes that still parse (and there are many of those, so the
        // signature check is what refuses them, not the parser).
        var parsedButRefused = 0
        for offset in 0..<signed.fileBytes.count {
            var edited = signed.fileBytes
            edited[offset] ^= 0x01
            if let parsed = try? SignedPolicy(fileBytes: edited, context: "p") {
                XCTAssertFalse(parsed.signatureIsValid, "byte \(offset) changed but the policy still verifies")
                parsedButRefused += 1
            }
        }
        XCTAssertGreaterThan(parsedButRefused, signed.fileBytes.count / 2, "most single-byte changes parse and are refused by the signature")
    }
}
