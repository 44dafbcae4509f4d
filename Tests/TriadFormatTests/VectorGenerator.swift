import Foundation
import XCTest
import TriadCrypto
@testable import TriadFormat

/// The manifest of Fixtures/format (docs/format.md §10).
struct VectorManifest: Codable {
    var description: String
    var zoneID: String
    var epoch: UInt32
    var zoneKey: String
    var recoveryKey: String
    var recoveryCertificate: String
    var vectors: [Vector]

    struct Vector: Codable {
        var name: String
        var file: String
        var comment: String
        /// Each identity is tried on its own: "zone", "recovery" (with the fingerprint),
        /// "recovery-any" (no fingerprint), "recovery-rsa", "recovery-p384".
        var openWith: [String]
        /// "success" or a FormatError case name.
        var expect: String
        var plaintextLength: Int?
        var plaintextSHA256: String?
    }

    enum CodingKeys: String, CodingKey {
        case description, zoneID = "zone_id", epoch, zoneKey = "zone_key", recoveryKey = "recovery_key"
        case recoveryCertificate = "recovery_certificate", vectors
    }
}

extension VectorManifest.Vector {
    enum CodingKeys: String, CodingKey {
        case name, file, comment, openWith = "open_with", expect
        case plaintextLength = "plaintext_length", plaintextSHA256 = "plaintext_sha256"
    }
}

/// Builds files by hand from a known file key, for the cases a conforming writer never
/// produces (wrong flags, non-canonical lengths). Uses the same key schedule as the writer.
struct Crafter {
    let fileKey: SecureBytes
    let fileID: [UInt8]
    var core: [UInt8]

    init(random: DeterministicBytes) {
        fileKey = SecureBytes(random.next(32))
        fileID = random.next(32)
        core = HeaderCodec.core(fileID: fileID, zoneID: TestKeys.zoneID)
    }

    func zoneSlot(_ random: DeterministicBytes) throws -> KeySlot {
        try ZoneSlotKey(zoneID: TestKeys.zoneID, epoch: TestKeys.epoch, zoneKey: TestKeys.zoneKey, random: random.source)
            .wrap(fileKey, fileID: fileID)
    }

    /// Raw key block + MAC over whatever bytes are given (lets lengths lie).
    func header(rawKeyBlock: [UInt8]) -> [UInt8] {
        let authenticated = core + rawKeyBlock
        return authenticated + HMACSHA256.authenticate(authenticated, key: KeySchedule.headerKey(fileKey: fileKey, core: core))
    }

    /// Seals `segments` with the given final flags.
    func payload(_ segments: [[UInt8]], finalFlags: [Bool]) throws -> [UInt8] {
        let key = KeySchedule.payloadKey(fileKey: fileKey, core: core)
        var out: [UInt8] = []
        var nonce = SegmentNonce()
        for (index, segment) in segments.enumerated() {
            nonce.set(index: UInt64(index), final: finalFlags[index])
            out += try AESGCM.seal(segment, key: key, nonce: nonce.bytes)
        }
        return out
    }
}

/// Regenerates Fixtures/format when TRIAD_REGENERATE_VECTORS=1. Otherwise it generates the
/// same set into a scratch folder and checks that it matches the committed manifest case for
/// case (names, what opens them, expected outcome and plaintext), so the generator and the
/// committed vectors cannot drift apart. Bytes are not compared: recovery slots use fresh
/// ephemeral keys on every run.
final class VectorGeneratorTests: XCTestCase {
    func testRegenerateVectors() throws {
        let mode = ProcessInfo.processInfo.environment["TRIAD_REGENERATE_VECTORS"]
        let scratch = ScratchDirectory()
        let dir = scratch.file("vectors")
        if mode == "1" || mode == "all" {
            try generate(into: dir, keys: TestKeys.fixtures.path, makeMissingKeys: true)
            try install(from: dir, replacingExisting: mode == "all")
            return
        }
        try generate(into: dir, keys: TestKeys.fixtures.path, makeMissingKeys: false)
        let decoder = JSONDecoder()
        let fresh = try decoder.decode(VectorManifest.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/vectors.json")))
        let committed = try decoder.decode(VectorManifest.self, from: Data(contentsOf: TestKeys.fixtures.appendingPathComponent("vectors.json")))
        XCTAssertGreaterThan(committed.vectors.count, 40)
        XCTAssertEqual(fresh.vectors.map(\.name), committed.vectors.map(\.name))
        for (a, b) in zip(fresh.vectors, committed.vectors) {
            XCTAssertEqual(a.expect, b.expect, a.name)
            XCTAssertEqual(a.openWith, b.openWith, a.name)
            XCTAssertEqual(a.plaintextSHA256, b.plaintextSHA256, a.name)
        }
    }

    /// Copies the generated vectors into Fixtures/format. Recovery slots are not reproducible
    /// (fresh ephemeral keys), so by default a vector file already committed is kept as it is
    /// and only new ones are added; `replacingExisting` rewrites every file.
    private func install(from dir: String, replacingExisting: Bool) throws {
        let fm = FileManager.default
        let target = TestKeys.fixtures.path
        let fresh = Set(try fm.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".triad") })
        for old in try fm.contentsOfDirectory(atPath: target) where old.hasSuffix(".triad") && !fresh.contains(old) {
            try fm.removeItem(atPath: target + "/" + old)
        }
        for name in fresh.sorted() + ["vectors.json"] {
            let destination = target + "/" + name
            if fm.fileExists(atPath: destination) {
                guard replacingExisting || name == "vectors.json" else { continue }
                try fm.removeItem(atPath: destination)
            }
            try fm.copyItem(atPath: dir + "/" + name, toPath: destination)
        }
    }

    private func generate(into dir: String, keys: String, makeMissingKeys: Bool) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for (name, algorithm) in [("recovery", KeyAlgorithm.ecP256), ("recovery-rsa", KeyAlgorithm.rsa(bits: 3072)),
                                  ("recovery-p384", KeyAlgorithm.ecP384)] {
            if makeMissingKeys && !FileManager.default.fileExists(atPath: keys + "/\(name).key.pem") {
                let key = try PrivateKey.generate(algorithm)
                let cert = try Certificate.selfSigned(subject: "CN=Triad format test \(name)", key: key, days: 36500)
                try writeFile(keys + "/\(name).key.pem", try key.pkcs8PEM().bytes)
                try writeFile(keys + "/\(name).crt.pem", Array(cert.pem.utf8))
            }
        }
        var vectors: [VectorManifest.Vector] = []
        let random = DeterministicBytes(seed: "triad format vectors v1")
        let scratch = ScratchDirectory()
        // The vectors made before the run KEM keep the per-file layout (type 0x0002): they are
        // what keeps the reader of that layout tested. The run-KEM vectors follow at the end.
        let recovery = PerFileRecoveryRecipient(certificate: try TestKeys.recoveryCertificate())
        let rsaCert = try Certificate(pem: String(contentsOfFile: keys + "/recovery-rsa.crt.pem", encoding: .utf8))
        let p384Cert = try Certificate(pem: String(contentsOfFile: keys + "/recovery-p384.crt.pem", encoding: .utf8))
        let zone = ZoneSlotKey(zoneID: TestKeys.zoneID, epoch: TestKeys.epoch, zoneKey: TestKeys.zoneKey, random: random.source)

        func emit(_ name: String, _ bytes: [UInt8], _ comment: String, openWith: [String] = ["zone"], expect: String,
                  plaintext: [UInt8]? = nil) throws {
            try writeFile(dir + "/\(name).triad", bytes)
            vectors.append(.init(name: name, file: "\(name).triad", comment: comment, openWith: openWith, expect: expect,
                                 plaintextLength: plaintext?.count, plaintextSHA256: plaintext.map { Hex.encode(SHA256.hash($0)) }))
        }
        func encrypt(_ plaintext: [UInt8], recipients: [any Recipient]) throws -> [UInt8] {
            try writeFile(scratch.file("in"), plaintext)
            try EncryptedFile.encrypt(OpenedFile.at(scratch.file("in")), to: FileLocation.at(scratch.file("out")), zoneID: TestKeys.zoneID,
                                      recipients: recipients, random: random.source).commit()
            return try readFile(scratch.file("out"))
        }
        let both = ["zone", "recovery", "recovery-any"]
        let S = 65536
        // Successes.
        var files: [String: (bytes: [UInt8], plain: [UInt8])] = [:]
        for (name, length, comment) in [("empty", 0, "empty plaintext: one empty final segment"),
                                        ("one-byte", 1, "one byte"),
                                        ("one-segment", S, "exactly one full segment, flagged final"),
                                        ("one-segment-plus-one", S + 1, "a full segment and a 1-byte final segment"),
                                        ("two-segments-exact", 2 * S, "exact multiple: the final segment is full, never an empty one"),
                                        ("several-segments", 2 * S + 100, "three segments, the last 100 bytes")] {
            let plain = random.next(length)
            let bytes = try encrypt(plain, recipients: [zone, recovery])
            files[name] = (bytes, plain)
            try emit(name, bytes, comment, openWith: both, expect: "success", plaintext: plain)
        }
        let grease = KeySlotRecipient(slot: KeySlot(type: 0x7F3A, body: Array("unknown slot types are skipped".utf8)))
        let plain100 = random.next(100)
        let withUnknown = try encrypt(plain100, recipients: [grease, zone, recovery])
        try emit("unknown-slot-type", withUnknown, "an unknown slot type 0x7f3a first: skipped, but covered by the MAC",
                 openWith: both, expect: "success", plaintext: plain100)
        let rsa = try encrypt(plain100, recipients: [zone, PerFileRecoveryRecipient(certificate: rsaCert)])
        try emit("rsa-recovery", rsa, "recovery slot wrapped with RSA-OAEP-SHA256 to an RSA-3072 certificate",
                 openWith: ["zone", "recovery-rsa"], expect: "success", plaintext: plain100)
        let recoveryOnly = try encrypt(plain100, recipients: [recovery])
        try emit("recovery-slot-only", recoveryOnly, "no zone slot: the recovery key opens it", openWith: ["recovery", "recovery-any"],
                 expect: "success", plaintext: plain100)
        try emit("recovery-slot-only-zone-key", recoveryOnly, "no zone slot: the zone key has nothing to open",
                 expect: "noMatchingKey")

        // Header failures, made from the one-byte file.
        let base = files["one-byte"]!.bytes
        let header = try HeaderCodec.parse(base, path: "base")
        let slotStart = Layout.fixedLength
        func flipped(_ bytes: [UInt8], _ offset: Int, _ value: UInt8 = 0x01) -> [UInt8] { var b = bytes; b[offset] ^= value; return b }
        try emit("bad-magic", flipped(base, 1), "magic byte 1 changed", expect: "notEncrypted")
        try emit("unknown-version", flipped(base, 9, 0x03), "format version 2", expect: "unsupportedVersion")
        try emit("unknown-suite", flipped(base, 10, 0x7E), "cipher suite 0x7F (unassigned; 0x02 is the mutable suite, §13)", expect: "unsupportedSuite")
        try emit("segment-size-17", flipped(base, 11, 0x01), "log2 segment size 17 (the core is bound into every key anyway)",
                 expect: "unsupportedSegmentSize")
        try emit("flipped-mac", flipped(base, header.encodedLength - 1), "last byte of the header MAC", expect: "headerAuthenticationFailed")
        try emit("flipped-core-zone-id", flipped(base, 50), "a byte of the zone id in the core", expect: "headerAuthenticationFailed")
        try emit("flipped-core-file-id", flipped(base, 20), "a byte of the file id in the core: the zone slot KEK changes",
                 expect: "slotUnwrapFailed")
        try emit("flipped-zone-slot-ciphertext", flipped(base, slotStart + 4 + 40), "a byte of the wrapped file key in the zone slot",
                 expect: "slotUnwrapFailed")
        try emit("flipped-zone-slot-epoch", flipped(base, slotStart + 4 + 19), "the epoch of the zone slot: no slot for this epoch",
                 expect: "noMatchingKey")
        let recoveryOffset = slotStart + 4 + 80 + 4
        try emit("flipped-recovery-slot", flipped(base, recoveryOffset + 3), "a fingerprint byte of the recovery slot, opened with the zone key",
                 expect: "headerAuthenticationFailed")
        let unknownHeader = try HeaderCodec.parse(withUnknown, path: "u")
        _ = unknownHeader
        try emit("flipped-unknown-slot", flipped(withUnknown, slotStart + 4 + 5), "a byte of the unknown slot's body",
                 openWith: both, expect: "headerAuthenticationFailed")
        // Slot-block edits by someone without the file key (e.g. storage admins): lengths fixed up, MAC left alone.
        func rebuilt(_ slots: [KeySlot]) -> [UInt8] {
            var block: [UInt8] = []
            block.appendBE(UInt32(slots.reduce(0) { $0 + $1.encodedLength }))
            block.appendBE(UInt16(slots.count))
            for slot in slots { block.appendBE(slot.type); block.appendBE(UInt16(slot.body.count)); block += slot.body }
            return header.core + block + header.mac + Array(base[header.encodedLength...])
        }
        try emit("slots-reordered", rebuilt(header.slots.reversed()), "recovery slot moved before the zone slot, lengths valid",
                 openWith: both, expect: "headerAuthenticationFailed")
        try emit("recovery-slot-stripped", rebuilt([header.slots[0]]), "the recovery slot removed and the lengths fixed up",
                 expect: "headerAuthenticationFailed")
        try emit("unknown-slot-injected", rebuilt(header.slots + [KeySlot(type: 0x7F01, body: [0xEE])]),
                 "an unknown slot added without the file key", openWith: both, expect: "headerAuthenticationFailed")
        for (name, length) in [("truncated-in-magic", 4), ("truncated-in-core", 30), ("truncated-in-slot-count", 65),
                               ("truncated-in-slots", slotStart + 50), ("truncated-in-mac", header.encodedLength - 10),
                               ("truncated-after-header", header.encodedLength), ("truncated-in-tag", header.encodedLength + 10)] {
            try emit(name, Array(base.prefix(length)), "the one-byte file cut at offset \(length)", expect: "truncated")
        }

        // Payload failures, made from the three-segment file.
        let several = files["several-segments"]!.bytes
        let start = try HeaderCodec.parse(several, path: "s").encodedLength
        let sealed = S + 16
        let seg = { (i: Int) in Array(several[(start + i * sealed)..<min(several.count, start + (i + 1) * sealed)]) }
        try emit("truncated-at-boundary-1", Array(several.prefix(start + sealed)), "only segment 0 left (a non-final segment)",
                 expect: "truncated")
        try emit("truncated-at-boundary-2", Array(several.prefix(start + 2 * sealed)), "segments 0 and 1 left", expect: "truncated")
        try emit("truncated-in-segment-1", Array(several.prefix(start + sealed + 1000)), "cut inside segment 1",
                 expect: "segmentAuthenticationFailed")
        try emit("truncated-in-final-tag", Array(several.prefix(several.count - 1)), "last tag byte missing",
                 expect: "segmentAuthenticationFailed")
        try emit("swapped-segments", Array(several.prefix(start)) + seg(1) + seg(0) + seg(2), "segments 0 and 1 swapped",
                 expect: "segmentAuthenticationFailed")
        try emit("flipped-payload", flipped(several, start + sealed + 5), "one ciphertext byte of segment 1",
                 expect: "segmentAuthenticationFailed")
        try emit("appended-byte", several + [0], "one byte after the final segment", expect: "segmentAuthenticationFailed")
        let exact = files["two-segments-exact"]!.bytes
        try emit("appended-after-full-final", exact + [0], "one byte after a full final segment: it opens as final one place early",
                 expect: "trailingData")
        try emit("appended-segment-copy", several + seg(2), "the final segment repeated", expect: "segmentAuthenticationFailed")
        let twoHeader = try HeaderCodec.parse(exact, path: "x").encodedLength
        try emit("appended-full-segment", exact + Array(exact[twoHeader..<twoHeader + sealed]), "segment 0 appended after the final segment",
                 expect: "trailingData")

        // Crafted with the file key: what a conforming writer never produces.
        var crafter = Crafter(random: random)
        let zoneSlot = try crafter.zoneSlot(random)
        func keyBlock(_ slots: [KeySlot], areaDelta: Int = 0, countDelta: Int = 0, extra: [UInt8] = []) -> [UInt8] {
            var out: [UInt8] = []
            let area = slots.reduce(0) { $0 + $1.encodedLength } + extra.count
            out.appendBE(UInt32(area + areaDelta))
            out.appendBE(UInt16(slots.count + countDelta))
            for slot in slots { out.appendBE(slot.type); out.appendBE(UInt16(slot.body.count)); out += slot.body }
            return out + extra
        }
        let p1 = random.next(S), p2 = random.next(10)
        let good = try crafter.payload([p1, p2], finalFlags: [false, true])
        try emit("crafted-control", crafter.header(rawKeyBlock: keyBlock([zoneSlot])) + good, "hand-built with the writer's key schedule",
                 expect: "success", plaintext: p1 + p2)
        try emit("final-flag-missing", crafter.header(rawKeyBlock: keyBlock([zoneSlot])) + (try crafter.payload([p1, p2], finalFlags: [false, false])),
                 "the last segment is flagged non-final", expect: "truncated")
        try emit("final-flag-early", crafter.header(rawKeyBlock: keyBlock([zoneSlot])) + (try crafter.payload([p1, p2], finalFlags: [true, true])),
                 "segment 0 is flagged final", expect: "trailingData")
        try emit("empty-final-after-full", crafter.header(rawKeyBlock: keyBlock([zoneSlot])) + (try crafter.payload([p1, []], finalFlags: [false, true])),
                 "an empty final segment after a full one (writers end with the full segment)", expect: "malformedPayload")
        let small = try crafter.payload([p2], finalFlags: [true])
        try emit("slot-area-length-long", crafter.header(rawKeyBlock: keyBlock([zoneSlot], areaDelta: 1, extra: [0])) + small,
                 "slot area length counts a stray byte after the last slot", expect: "malformedHeader")
        try emit("slot-count-high", crafter.header(rawKeyBlock: keyBlock([zoneSlot], countDelta: 1)) + small,
                 "slot count 2 with one slot", expect: "malformedHeader")
        try emit("no-slots", crafter.header(rawKeyBlock: keyBlock([])) + small, "slot count 0", expect: "malformedHeader")
        try emit("zone-slot-81-bytes", crafter.header(rawKeyBlock: keyBlock([KeySlot(type: SlotType.zone, body: zoneSlot.body + [0])])) + small,
                 "a zone slot body one byte long, MAC valid", expect: "malformedHeader")
        try emit("recovery-slot-too-short", crafter.header(rawKeyBlock: keyBlock([zoneSlot, KeySlot(type: SlotType.recovery, body: Array(repeating: 1, count: 32))])) + small,
                 "a recovery slot with a fingerprint and nothing else", expect: "malformedHeader")
        try emit("reserved-slot-type", crafter.header(rawKeyBlock: keyBlock([KeySlot(type: 0, body: [1, 2]), zoneSlot])) + small,
                 "slot type 0x0000", expect: "malformedHeader")
        var huge: [UInt8] = []
        huge.appendBE(UInt32(Layout.maxSlotAreaLength + 4)); huge.appendBE(UInt16(1))
        try emit("slot-area-over-limit", crafter.core + huge, "slot area length just over 1 MiB", expect: "malformedHeader")
        crafter.core[11] = 16  // unchanged, keeps the crafter honest

        try emitRunKEMVectors(emit: emit, encrypt: encrypt, random: random, zone: zone, certificates: (try TestKeys.recoveryCertificate(), p384Cert, rsaCert))
        let manifest = VectorManifest(
            description: "Triad encrypted-file vectors (docs/format.md). Regenerate: TRIAD_REGENERATE_VECTORS=1 swift test --filter VectorGeneratorTests",
            zoneID: Hex.encode(TestKeys.zoneID), epoch: TestKeys.epoch, zoneKey: Hex.encode(TestKeys.zoneKey.bytes),
            recoveryKey: "recovery.key.pem", recoveryCertificate: "recovery.crt.pem", vectors: vectors)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(manifest).write(to: URL(fileURLWithPath: dir + "/vectors.json"))
    }
}

/// A recipient that emits a fixed slot (an unknown type, for grease and vectors).
struct KeySlotRecipient: Recipient {
    let slot: KeySlot
    func wrap(_ fileKey: SecureBytes, fileID: [UInt8]) throws -> KeySlot { slot }
}
