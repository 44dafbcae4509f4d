import Foundation
import XCTest
import TriadCrypto
@testable import TriadFormat

/// The run-KEM recovery slot vectors (type 0x0003, docs/format.md §3.4), appended to
/// Fixtures/format by `VectorGeneratorTests`.
extension VectorGeneratorTests {
    typealias Emit = (_ name: String, _ bytes: [UInt8], _ comment: String, _ openWith: [String], _ expect: String,
                      _ plaintext: [UInt8]?) throws -> Void

    func emitRunKEMVectors(emit: Emit, encrypt: ([UInt8], [any Recipient]) throws -> [UInt8], random: DeterministicBytes,
                           zone: ZoneSlotKey, certificates: (p256: Certificate, p384: Certificate, rsa: Certificate)) throws {
        let both = ["zone", "recovery", "recovery-any"]
        // One recipient value is one run: one encapsulation shared by the files below.
        let run = RecoveryRecipient(certificate: certificates.p256)
        let a = random.next(100), b = random.next(200)
        let fileA = try encrypt(a, [zone, run])
        let fileB = try encrypt(b, [zone, run])
        try emit("kem-p256", fileA, "run-KEM recovery slot (type 0x0003, kem 1: ECDH-ES P-256)", both, "success", a)
        try emit("kem-p256-same-run", fileB, "a second file of the same run: the same KEM ciphertext, its own nonce and sealed key",
                 both, "success", b)
        try emit("kem-p384", try encrypt(a, [zone, RecoveryRecipient(certificate: certificates.p384)]),
                 "run-KEM recovery slot, kem 2: ECDH-ES P-384", ["zone", "recovery-p384"], "success", a)
        try emit("kem-rsa", try encrypt(a, [zone, RecoveryRecipient(certificate: certificates.rsa)]),
                 "run-KEM recovery slot, kem 3: RSA-OAEP-SHA256 of a 32-byte secret to an RSA-3072 certificate",
                 ["zone", "recovery-rsa"], "success", a)
        try emit("kem-slot-only", try encrypt(b, [run]), "no zone slot: the run-KEM slot alone opens it (a third file of the run)",
                 ["recovery", "recovery-any"], "success", b)

        // Edits without the file key. The zone slot comes first (84 bytes with its type and
        // length), then the KEM slot: fingerprint 32 ‖ kem id 1 ‖ point 65 ‖ nonce 12 ‖ sealed key 48.
        let body = Layout.fixedLength + 84 + 4
        func flipped(_ offset: Int) -> [UInt8] { var c = fileA; c[body + offset] ^= 0x01; return c }
        let sealedKey = flipped(32 + 1 + 65 + 12 + 5)
        try emit("kem-flipped-sealed-key", sealedKey, "a byte of the sealed file key, opened with the recovery key",
                 ["recovery"], "slotUnwrapFailed", nil)
        try emit("kem-flipped-sealed-key-any", sealedKey, "the same file, the recovery key without a fingerprint: not mine",
                 ["recovery-any"], "noMatchingKey", nil)
        try emit("kem-flipped-sealed-key-zone", sealedKey, "the same file opened with the zone key: the slot is covered by the MAC",
                 ["zone"], "headerAuthenticationFailed", nil)
        try emit("kem-flipped-point", flipped(33 + 40), "a byte of the ephemeral point", ["recovery"], "slotUnwrapFailed", nil)
        try emit("kem-flipped-nonce", flipped(33 + 65 + 3), "a byte of the slot's nonce", ["recovery"], "slotUnwrapFailed", nil)
        try emit("kem-flipped-kem-id", flipped(32) /* 1 → 0 */, "kem id 0 (unassigned): the layout cannot be checked",
                 ["zone", "recovery"], "malformedHeader", nil)
        // File A's KEM slot put into file B of the same run: same KEM ciphertext, same length,
        // but K_file is derived from the file id, so it does not open B's slot.
        let headerA = try HeaderCodec.parse(fileA, path: "a"), headerB = try HeaderCodec.parse(fileB, path: "b")
        var block: [UInt8] = []
        block.appendBE(UInt32(headerB.slots[0].encodedLength + headerA.slots[1].encodedLength))
        block.appendBE(UInt16(2))
        for slot in [headerB.slots[0], headerA.slots[1]] { block.appendBE(slot.type); block.appendBE(UInt16(slot.body.count)); block += slot.body }
        let transplanted = headerB.core + block + headerB.mac + Array(fileB[headerB.encodedLength...])
        try emit("kem-slot-transplanted", transplanted, "file A's slot (same run, same KEM ciphertext) in file B: bound to A's file id",
                 ["recovery"], "slotUnwrapFailed", nil)
        try emit("kem-slot-transplanted-zone", transplanted, "the same file opened with the zone key", ["zone"],
                 "headerAuthenticationFailed", nil)
        try emitCraftedKEMVectors(emit: emit, random: random, certificate: certificates.p256)
    }

    /// Built with the file key from docs/format.md §3.4 directly (the strings are written out
    /// here, not taken from the writer), so the spec and the writer are checked against each other.
    private func emitCraftedKEMVectors(emit: Emit, random: DeterministicBytes, certificate: Certificate) throws {
        let crafter = Crafter(random: random)
        let zoneSlot = try crafter.zoneSlot(random)
        let fingerprint = certificate.fingerprint
        func kemSlot(kemID: UInt8 = 1, labelFingerprint: [UInt8]? = nil, cut: Int = 0) throws -> KeySlot {
            let label = Array("triad/v1/recovery-kem".utf8) + (labelFingerprint ?? fingerprint)
            let made = try PublicKeyKEM.encapsulate(to: certificate.publicKey, label: label)
            let ciphertext = Array(made.ciphertext.dropLast(cut))
            let kek = HKDF.deriveKey(inputKey: made.secret, salt: SHA256.hash([kemID] + ciphertext),
                                     info: Array("triad/v1/recovery-kem-file".utf8) + crafter.fileID + fingerprint, outputByteCount: 32)
            let nonce = random.next(12)
            return KeySlot(type: 0x0003, body: fingerprint + [kemID] + ciphertext + nonce + (try AESGCM.seal(crafter.fileKey, key: kek, nonce: nonce)))
        }
        func file(_ slots: [KeySlot]) throws -> [UInt8] {
            var block: [UInt8] = []
            block.appendBE(UInt32(slots.reduce(0) { $0 + $1.encodedLength }))
            block.appendBE(UInt16(slots.count))
            for slot in slots { block.appendBE(slot.type); block.appendBE(UInt16(slot.body.count)); block += slot.body }
            return crafter.header(rawKeyBlock: block) + (try crafter.payload([Array("crafted".utf8)], finalFlags: [true]))
        }
        try emit("crafted-kem-control", try file([zoneSlot, try kemSlot()]), "a run-KEM slot built from the spec by hand",
                 ["zone", "recovery", "recovery-any"], "success", Array("crafted".utf8))
        try emit("kem-label-other-fingerprint", try file([zoneSlot, try kemSlot(labelFingerprint: [UInt8](repeating: 7, count: 32))]),
                 "encapsulated under another certificate's label, the slot naming this one", ["recovery"], "slotUnwrapFailed", nil)
        let bad: [(String, KeySlot, String)] = [
            ("kem-slot-unknown-kem-id", try kemSlot(kemID: 4), "kem id 4"),
            ("kem-slot-point-64-bytes", try kemSlot(cut: 1), "kem 1 with a 64-byte point"),
            ("kem-slot-kem-id-mismatch", try kemSlot(kemID: 2), "kem 2 (P-384, 97 bytes) with a 65-byte point"),
            ("kem-slot-fingerprint-only", KeySlot(type: 0x0003, body: fingerprint + [1]), "a fingerprint and a kem id, nothing else"),
        ]
        for (name, slot, comment) in bad {
            try emit(name, try file([zoneSlot, slot]), comment + ", MAC valid", ["zone", "recovery"], "malformedHeader", nil)
        }
    }
}
