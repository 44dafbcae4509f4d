import Foundation
import XCTest
import TriadCrypto
@testable import TriadFormat

final class RoundTripTests: XCTestCase {
    let sizes = [0, 1, 15, 16, 17, 65535, 65536, 65537, 131072, 200_000]

    func testRoundTripEverySizeWithZoneAndRecovery() throws {
        let scratch = ScratchDirectory()
        let recovery = RecoveryRecipient(certificate: try TestKeys.recoveryCertificate())
        for size in sizes {
            let plain = SecureRandom.bytes(count: size)
            try writeFile(scratch.file("p"), plain)
            try EncryptedFile.encrypt(OpenedFile.at(scratch.file("p")), to: FileLocation.at(scratch.file("c")), zoneID: TestKeys.zoneID,
                                      recipients: [TestKeys.zone, recovery]).commit()
            XCTAssertTrue(EncryptedFile.isEncrypted(at: scratch.file("c")))
            XCTAssertFalse(EncryptedFile.isEncrypted(at: scratch.file("p")))
            let segments = max(1, (size + 65535) / 65536)
            let header = try EncryptedFile.readHeader(at: scratch.file("c"))
            XCTAssertEqual(try readFile(scratch.file("c")).count, header.encodedLength + size + 16 * segments, "size \(size)")
            for identity in [TestKeys.zone as any Identity, try TestKeys.recoveryIdentity(), RecoveryIdentity(key: try TestKeys.recoveryKey())] {
                try EncryptedFile.decrypt(OpenedFile.at(scratch.file("c")), to: FileLocation.at(scratch.file("d")), identities: [identity]).commit()
                XCTAssertEqual(try readFile(scratch.file("d")), plain, "size \(size)")
                let piped = capturePipe { try EncryptedFile.decrypt(OpenedFile.at(scratch.file("c")), to: $0, identities: [identity]) }
                XCTAssertNil(piped.error)
                XCTAssertEqual(piped.bytes, plain, "size \(size) to a pipe")
            }
            XCTAssertEqual(Set(scratch.entries()), ["c", "d", "p"], "no temp file left")
        }
    }

    func testHeaderFieldsAndSlotInfo() throws {
        let scratch = ScratchDirectory()
        let cert = try TestKeys.recoveryCertificate()
        try writeFile(scratch.file("p"), [1, 2, 3])
        try EncryptedFile.encrypt(OpenedFile.at(scratch.file("p")), to: FileLocation.at(scratch.file("c")), zoneID: TestKeys.zoneID,
                                  recipients: [TestKeys.zone, RecoveryRecipient(certificate: cert)]).commit()
        let header = try EncryptedFile.readHeader(at: scratch.file("c"))
        XCTAssertEqual(header.version, 1)
        XCTAssertEqual(header.suite, 1)
        XCTAssertEqual(header.log2SegmentSize, 16)
        XCTAssertEqual(header.zoneID, TestKeys.zoneID)
        XCTAssertEqual(header.fileID.count, 32)
        XCTAssertEqual(header.slots.map(\.type), [SlotType.zone, SlotType.recoveryKEM])
        let zone = try ZoneSlotInfo(slot: header.slots[0])
        XCTAssertEqual(zone.zoneID, TestKeys.zoneID)
        XCTAssertEqual(zone.epoch, TestKeys.epoch)
        XCTAssertEqual(try RecoverySlotInfo(slot: header.slots[1]).certificateFingerprint, cert.fingerprint)
        XCTAssertThrowsError(try ZoneSlotInfo(slot: header.slots[1]))
        XCTAssertThrowsError(try RecoverySlotInfo(slot: header.slots[0]))
        // Two files of the same plaintext share nothing.
        try EncryptedFile.encrypt(OpenedFile.at(scratch.file("p")), to: FileLocation.at(scratch.file("c2")), zoneID: TestKeys.zoneID,
                                  recipients: [TestKeys.zone]).commit()
        XCTAssertNotEqual(try EncryptedFile.readHeader(at: scratch.file("c2")).fileID, header.fileID)
    }

    func testWrongKeysAreRefused() throws {
        let scratch = ScratchDirectory()
        try writeFile(scratch.file("p"), Array("secret".utf8))
        try EncryptedFile.encrypt(OpenedFile.at(scratch.file("p")), to: FileLocation.at(scratch.file("c")), zoneID: TestKeys.zoneID,
                                  recipients: [TestKeys.zone, RecoveryRecipient(certificate: try TestKeys.recoveryCertificate())]).commit()
        let otherEpoch = ZoneSlotKey(zoneID: TestKeys.zoneID, epoch: TestKeys.epoch + 1, zoneKey: TestKeys.zoneKey)
        let wrongKey = ZoneSlotKey(zoneID: TestKeys.zoneID, epoch: TestKeys.epoch, zoneKey: SecureBytes.random(count: 32))
        let stranger = RecoveryIdentity(key: try PrivateKey.generate(.ecP256))
        let strangerClaimingCert = RecoveryIdentity(key: try PrivateKey.generate(.ecP256),
                                                    certificateFingerprint: try TestKeys.recoveryCertificate().fingerprint)
        let cases: [([any Identity], String)] = [
            ([otherEpoch], "noMatchingKey"), ([stranger], "noMatchingKey"), ([], "noMatchingKey"),
            ([wrongKey], "slotUnwrapFailed"), ([strangerClaimingCert], "slotUnwrapFailed"),
        ]
        for (identities, expected) in cases {
            XCTAssertThrowsError(try EncryptedFile.decrypt(OpenedFile.at(scratch.file("c")), to: FileLocation.at(scratch.file("d")), identities: identities).commit()) {
                XCTAssertEqual(kind(of: $0), expected)
            }
            XCTAssertEqual(Set(scratch.entries()), ["c", "p"])
        }
        // A failing identity does not stop a later one that works.
        try EncryptedFile.decrypt(OpenedFile.at(scratch.file("c")), to: FileLocation.at(scratch.file("d")), identities: [wrongKey, stranger, TestKeys.zone]).commit()
        XCTAssertEqual(try readFile(scratch.file("d")), Array("secret".utf8))
        // Refusing plaintext input names the file.
        XCTAssertThrowsError(try EncryptedFile.decrypt(OpenedFile.at(scratch.file("p")), to: FileLocation.at(scratch.file("x")), identities: [TestKeys.zone]).commit()) {
            XCTAssertEqual($0 as? FormatError, .notEncrypted(path: scratch.file("p")))
            XCTAssertTrue("\($0)".contains(scratch.file("p")))
        }
    }

    func testInPlaceEncryptAndDecryptKeepModeAndLeaveNoTemp() throws {
        let scratch = ScratchDirectory()
        let path = scratch.file("record.txt")
        let plain = SecureRandom.bytes(count: 100_000)
        try writeFile(path, plain)
        chmod(path, 0o640)
        try EncryptedFile.encrypt(OpenedFile.at(path), zoneID: TestKeys.zoneID, recipients: [TestKeys.zone]).commit()
        XCTAssertTrue(EncryptedFile.isEncrypted(at: path))
        XCTAssertEqual(permissionBits(path), 0o640)
        try EncryptedFile.decrypt(OpenedFile.at(path), identities: [TestKeys.zone]).commit()
        XCTAssertEqual(try readFile(path), plain)
        XCTAssertEqual(permissionBits(path), 0o640)
        try EncryptedFile.encrypt(OpenedFile.at(path), zoneID: TestKeys.zoneID, recipients: [TestKeys.zone]).commit()
        try EncryptedFile.decrypt(OpenedFile.at(path), to: FileLocation.at(scratch.file("new")), identities: [TestKeys.zone]).commit()
        XCTAssertEqual(permissionBits(scratch.file("new")), 0o600, "a new plaintext file is private")
        XCTAssertEqual(scratch.entries(), ["new", "record.txt"])
    }

    func testRewrapChangesOnlyTheHeader() throws {
        let scratch = ScratchDirectory()
        let path = scratch.file("c")
        let plain = SecureRandom.bytes(count: 150_000)
        try writeFile(scratch.file("p"), plain)
        try EncryptedFile.encrypt(OpenedFile.at(scratch.file("p")), to: FileLocation.at(path), zoneID: TestKeys.zoneID, recipients: [TestKeys.zone]).commit()
        let before = try readFile(path)
        let oldHeader = try EncryptedFile.readHeader(at: path)
        let next = ZoneSlotKey(zoneID: TestKeys.zoneID, epoch: TestKeys.epoch + 1, zoneKey: SecureBytes.random(count: 32))
        let recovery = RecoveryRecipient(certificate: try TestKeys.recoveryCertificate())
        try EncryptedFile.rewrap(OpenedFile.at(path), identities: [TestKeys.zone], keep: { _ in false }, add: [next, recovery]).commit()
        let after = try readFile(path)
        let newHeader = try EncryptedFile.readHeader(at: path)
        XCTAssertEqual(Array(after[newHeader.encodedLength...]), Array(before[oldHeader.encodedLength...]), "payload copied unchanged")
        XCTAssertEqual(newHeader.fileID, oldHeader.fileID)
        XCTAssertEqual(newHeader.slots.map(\.type), [SlotType.zone, SlotType.recoveryKEM])
        XCTAssertEqual(try ZoneSlotInfo(slot: newHeader.slots[0]).epoch, TestKeys.epoch + 1)
        XCTAssertThrowsError(try EncryptedFile.decrypt(OpenedFile.at(path), to: FileLocation.at(scratch.file("d")), identities: [TestKeys.zone]).commit()) {
            XCTAssertEqual(kind(of: $0), "noMatchingKey")
        }
        for identity in [next as any Identity, try TestKeys.recoveryIdentity()] {
            try EncryptedFile.decrypt(OpenedFile.at(path), to: FileLocation.at(scratch.file("d")), identities: [identity]).commit()
            XCTAssertEqual(try readFile(scratch.file("d")), plain)
        }
        // keep: drop the recovery slot only.
        try EncryptedFile.rewrap(OpenedFile.at(path), identities: [next], keep: { !SlotType.isCertificateSlot($0.type) }, add: []).commit()
        XCTAssertEqual(try EncryptedFile.readHeader(at: path).slots.map(\.type), [SlotType.zone])
        // A rewrite that would leave no slot, or without a key, changes nothing.
        let snapshot = try readFile(path)
        XCTAssertThrowsError(try EncryptedFile.rewrap(OpenedFile.at(path), identities: [next], keep: { _ in false }, add: []).commit())
        XCTAssertThrowsError(try EncryptedFile.rewrap(OpenedFile.at(path), identities: [TestKeys.zone], keep: { _ in true }, add: [recovery]).commit())
        XCTAssertEqual(try readFile(path), snapshot)
        XCTAssertEqual(Set(scratch.entries()), ["c", "d", "p"])
    }

    func testReencryptChangesKeyFileIDAndPayload() throws {
        let scratch = ScratchDirectory()
        let path = scratch.file("c")
        let plain = SecureRandom.bytes(count: 140_000)
        try writeFile(scratch.file("p"), plain)
        try EncryptedFile.encrypt(OpenedFile.at(scratch.file("p")), to: FileLocation.at(path), zoneID: TestKeys.zoneID, recipients: [TestKeys.zone]).commit()
        let before = try readFile(path)
        let oldHeader = try EncryptedFile.readHeader(at: path)
        let next = ZoneSlotKey(zoneID: TestKeys.zoneID, epoch: 9, zoneKey: SecureBytes.random(count: 32))
        try EncryptedFile.reencrypt(OpenedFile.at(path), identities: [TestKeys.zone], zoneID: TestKeys.zoneID, recipients: [next]).commit()
        let after = try readFile(path)
        let newHeader = try EncryptedFile.readHeader(at: path)
        XCTAssertNotEqual(newHeader.fileID, oldHeader.fileID)
        XCTAssertEqual(after.count - newHeader.encodedLength, before.count - oldHeader.encodedLength)
        XCTAssertNotEqual(Array(after[newHeader.encodedLength..<newHeader.encodedLength + 64]),
                          Array(before[oldHeader.encodedLength..<oldHeader.encodedLength + 64]))
        try EncryptedFile.decrypt(OpenedFile.at(path), to: FileLocation.at(scratch.file("d")), identities: [next]).commit()
        XCTAssertEqual(try readFile(scratch.file("d")), plain)
        // A damaged file is not re-encrypted: the original stays as it was.
        var damaged = after
        damaged[damaged.count - 3] ^= 1
        try writeFile(path, damaged)
        XCTAssertThrowsError(try EncryptedFile.reencrypt(OpenedFile.at(path), identities: [next], zoneID: TestKeys.zoneID, recipients: [TestKeys.zone]).commit())
        XCTAssertEqual(try readFile(path), damaged)
        XCTAssertEqual(Set(scratch.entries()), ["c", "d", "p"])
    }

    func testRandomAccessMatchesPlaintext() throws {
        let scratch = ScratchDirectory()
        let plain = SecureRandom.bytes(count: 5 * 65536 + 1234)
        try writeFile(scratch.file("p"), plain)
        try EncryptedFile.encrypt(OpenedFile.at(scratch.file("p")), to: FileLocation.at(scratch.file("c")), zoneID: TestKeys.zoneID, recipients: [TestKeys.zone]).commit()
        let reader = try EncryptedFileReader(path: scratch.file("c"), identities: [TestKeys.zone])
        XCTAssertEqual(reader.segmentCount, 6)
        XCTAssertEqual(reader.plaintextLength, UInt64(plain.count))
        for index in [5, 0, 3, 3, 1, 4, 2] as [UInt64] {
            let start = Int(index) * 65536
            XCTAssertEqual(try reader.readSegment(index), Array(plain[start..<min(plain.count, start + 65536)]))
        }
        for (offset, count) in [(0, 1), (65535, 2), (100_000, 200_000), (plain.count - 5, 100), (7, 0)] {
            let end = min(plain.count, offset + count)
            XCTAssertEqual(try reader.read(offset: UInt64(offset), count: count), Array(plain[offset..<end]), "\(offset)+\(count)")
        }
        XCTAssertThrowsError(try reader.readSegment(6))
    }

    /// Random access reports a file cut short after it was opened as `truncated` (docs/format.md
    /// §6.3): the reader authenticated the final segment at open, so a later short read must not
    /// open whatever the segment buffer still holds from an earlier read. Cut within the final
    /// segment (its full bytes are in the buffer since open) and within a middle segment that
    /// was read just before the cut: a reader that opened the buffer anyway would return the
    /// segment as if the file were whole.
    func testRandomAccessReportsAFileCutAfterOpening() throws {
        let scratch = ScratchDirectory()
        let plain = SecureRandom.bytes(count: 5 * 65536 + 1234)
        try writeFile(scratch.file("p"), plain)
        try EncryptedFile.encrypt(OpenedFile.at(scratch.file("p")), to: FileLocation.at(scratch.file("c")), zoneID: TestKeys.zoneID, recipients: [TestKeys.zone]).commit()
        let whole = try readFile(scratch.file("c"))
        let headerLength = try EncryptedFile.readHeader(at: scratch.file("c")).encodedLength

        // Within the final segment (1234 + 16 bytes): 100 bytes go.
        var path = scratch.file("c")
        var reader = try EncryptedFileReader(path: path, identities: [TestKeys.zone])
        XCTAssertEqual(truncate(path, off_t(whole.count - 100)), 0)
        XCTAssertThrowsError(try reader.readSegment(5)) { XCTAssertEqual($0 as? FormatError, .truncated(path: path)) }
        XCTAssertThrowsError(try reader.read(offset: UInt64(plain.count - 5), count: 5)) {
            XCTAssertEqual($0 as? FormatError, .truncated(path: path))
        }
        XCTAssertEqual(try reader.readSegment(4), Array(plain[4 * 65536..<5 * 65536]), "the segments before the cut still read")

        // Within a middle segment, just read in full: segment 2 keeps 1000 of its bytes.
        path = scratch.file("c2")
        try writeFile(path, whole)
        reader = try EncryptedFileReader(path: path, identities: [TestKeys.zone])
        XCTAssertEqual(try reader.readSegment(2), Array(plain[2 * 65536..<3 * 65536]))
        XCTAssertEqual(truncate(path, off_t(headerLength + 2 * (65536 + 16) + 1000)), 0)
        XCTAssertThrowsError(try reader.readSegment(2)) { XCTAssertEqual($0 as? FormatError, .truncated(path: path)) }
        XCTAssertEqual(try reader.readSegment(1), Array(plain[65536..<2 * 65536]))
        XCTAssertThrowsError(try reader.read(offset: 65536 + 10, count: 65536)) {
            XCTAssertEqual($0 as? FormatError, .truncated(path: path))
        }
    }

    /// A zone identity considers only the zone slots of its own zone and epoch (docs/format.md
    /// §3.2, "not mine" otherwise). The identity of another zone holding the very same key bytes
    /// and epoch — only the zone id differs — finds no slot in this zone's file: `noMatchingKey`,
    /// not a `slotUnwrapFailed` that would call this zone's intact slot damaged.
    func testAnotherZonesIdentityFindsNoSlot() throws {
        let scratch = ScratchDirectory()
        try writeFile(scratch.file("p"), Array("secret".utf8))
        try EncryptedFile.encrypt(OpenedFile.at(scratch.file("p")), to: FileLocation.at(scratch.file("c")), zoneID: TestKeys.zoneID, recipients: [TestKeys.zone]).commit()
        let otherZone = ZoneSlotKey(zoneID: Array(0x60..<0x70), epoch: TestKeys.epoch, zoneKey: TestKeys.zoneKey)
        let header = try EncryptedFile.readHeader(at: scratch.file("c"))
        XCTAssertNil(try otherZone.unwrap(header.slots, fileID: header.fileID), "another zone's slot is not mine")
        XCTAssertThrowsError(try EncryptedFile.decrypt(OpenedFile.at(scratch.file("c")), to: FileLocation.at(scratch.file("d")), identities: [otherZone]).commit()) {
            XCTAssertEqual($0 as? FormatError, .noMatchingKey(path: scratch.file("c")))
        }
        XCTAssertEqual(Set(scratch.entries()), ["c", "p"])
    }

    /// A file that does not start with the magic is not an encrypted file, whatever its length
    /// (docs/format.md §2): a short plaintext note is `notEncrypted` — not a `truncated` file,
    /// nor one of an unsupported version — through every reader, and nothing is written. Only a
    /// proper prefix of the magic itself counts as a file cut inside its first bytes.
    func testAFileWithoutTheMagicIsNotEncryptedWhateverItsLength() throws {
        let scratch = ScratchDirectory()
        for length in [1, 7, 8, 16, 65, 66, 98, 70_000] {
            let path = scratch.file("plain-\(length)")
            try writeFile(path, Array(repeating: UInt8(ascii: "n"), count: length))
            XCTAssertThrowsError(try EncryptedFile.readHeader(at: path), "\(length) bytes") {
                XCTAssertEqual($0 as? FormatError, .notEncrypted(path: path), "\(length) bytes")
            }
            XCTAssertThrowsError(try EncryptedFile.decrypt(OpenedFile.at(path), to: FileLocation.at(scratch.file("out")), identities: [TestKeys.zone]).commit()) {
                XCTAssertEqual($0 as? FormatError, .notEncrypted(path: path), "\(length) bytes")
            }
            XCTAssertThrowsError(try EncryptedFileReader(path: path, identities: [TestKeys.zone])) {
                XCTAssertEqual($0 as? FormatError, .notEncrypted(path: path), "\(length) bytes")
            }
        }
        XCTAssertFalse(scratch.entries().contains("out"))
        // Control: the magic's own first four bytes are a file cut inside the magic.
        try writeFile(scratch.file("cut"), [0x89, 0x54, 0x52, 0x44])
        XCTAssertThrowsError(try EncryptedFile.readHeader(at: scratch.file("cut"))) {
            XCTAssertEqual($0 as? FormatError, .truncated(path: scratch.file("cut")))
        }
    }

    func testStreamEncryptFromAPipe() throws {
        let scratch = ScratchDirectory()
        let plain = SecureRandom.bytes(count: 3 * 65536)   // exact multiple through a pipe: the read-ahead decides the flag
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        let writeEnd = fds[1]
        let writer = Thread {
            plain.withUnsafeBytes { var off = 0; while off < $0.count { let n = write(writeEnd, $0.baseAddress! + off, min(4096, $0.count - off)); if n <= 0 { break }; off += n } }
            close(writeEnd)
        }
        writer.start()
        let out = open(scratch.file("c"), O_WRONLY | O_CREAT, 0o600)
        try EncryptedFile.encrypt(readingFrom: fds[0], writingTo: out, zoneID: TestKeys.zoneID, recipients: [TestKeys.zone])
        close(out); close(fds[0])
        let reader = try EncryptedFileReader(path: scratch.file("c"), identities: [TestKeys.zone])
        XCTAssertEqual(reader.segmentCount, 3)
        XCTAssertEqual(try reader.read(offset: 0, count: plain.count), plain)
    }

    func testFailedEncryptLeavesNothingBehind() throws {
        struct Refusing: Recipient {
            func wrap(_ fileKey: SecureBytes, fileID: [UInt8]) throws -> KeySlot { throw FormatError.invalidArgument(problem: "refused") }
        }
        let scratch = ScratchDirectory()
        try writeFile(scratch.file("p"), [1, 2, 3])
        XCTAssertThrowsError(try EncryptedFile.encrypt(OpenedFile.at(scratch.file("p")), to: FileLocation.at(scratch.file("c")), zoneID: TestKeys.zoneID,
                                                       recipients: [TestKeys.zone, Refusing()]).commit())
        XCTAssertThrowsError(try EncryptedFile.encrypt(OpenedFile.at(scratch.file("p")), to: FileLocation.at(scratch.file("c")), zoneID: [1, 2],
                                                       recipients: [TestKeys.zone]).commit())
        XCTAssertThrowsError(try EncryptedFile.encrypt(OpenedFile.at(scratch.file("p")), to: FileLocation.at(scratch.file("c")), zoneID: TestKeys.zoneID,
                                                       recipients: []).commit())
        XCTAssertThrowsError(try EncryptedFile.encrypt(OpenedFile.at(scratch.file("missing")), to: FileLocation.at(scratch.file("c")), zoneID: TestKeys.zoneID,
                                                       recipients: [TestKeys.zone]).commit()) {
            XCTAssertTrue("\($0)".contains(scratch.file("missing")), "the error names the file: \($0)")
        }
        XCTAssertEqual(scratch.entries(), ["p"])
        XCTAssertEqual(try readFile(scratch.file("p")), [1, 2, 3])
    }
}

/// The permission bits of the file at `path`, or nil.
func permissionBits(_ path: String) -> mode_t? {
    var st = stat()
    return stat(path, &st) == 0 ? st.st_mode & 0o7777 : nil
}
