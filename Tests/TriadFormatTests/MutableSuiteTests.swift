import Foundation
import XCTest
import TriadCrypto
@testable import TriadFormat

/// Payload suite 2 and the write journal (docs/format.md §13–§14): the vectors in
/// Fixtures/format/mutable (64 KiB segments, every suite-2 file before 2026-12-03) and
/// Fixtures/format/mutable-4k (4 KiB segments, what new suite-2 files use, §13.1), built here
/// from the spec with deterministic randomness (zone slot only, so every byte is
/// reproducible), and run through every reader. Without
/// TRIAD_REGENERATE_VECTORS=1 the set is rebuilt in a scratch folder and must equal the
/// committed files byte for byte.
final class MutableSuiteTests: XCTestCase {
    struct Vector: Codable, Equatable {
        var name: String
        var comment: String
        var file: String
        var journal: String?
        /// The value of the file's new-file mark (docs/format.md §14.5), when it has one.
        var mark: String?
        var expect: String
        var plaintext_length: Int?
        var plaintext_sha256: String?
    }

    static let folder = TestKeys.fixtures.appendingPathComponent("mutable")
    /// Both vector sets: (folder, the segment layout its files use).
    static let sets: [(folder: URL, layout: SegmentLayout)] = [
        (folder, .mutableLarge), (TestKeys.fixtures.appendingPathComponent("mutable-4k"), .mutable),
    ]

    /// A suite-2 file built from the spec: header with one zone slot, then sealed segments.
    struct Built {
        var header: [UInt8]
        var segments: [[UInt8]]
        var fileKey: SecureBytes
        var core: [UInt8]
        var fileID: [UInt8]
        var bytes: [UInt8] { header + segments.flatMap { $0 } }
    }

    static func build(_ plain: [UInt8], rng: DeterministicBytes, layout: SegmentLayout, finalFlag: Bool = true,
                      fileKey: SecureBytes? = nil, fileID: [UInt8]? = nil) throws -> Built {
        let fk = fileKey ?? SecureBytes(rng.next(32))
        let id = fileID ?? rng.next(32)
        let core = HeaderCodec.core(fileID: id, zoneID: TestKeys.zoneID, layout: layout)
        let slot = try ZoneSlotKey(zoneID: TestKeys.zoneID, epoch: TestKeys.epoch, zoneKey: TestKeys.zoneKey, random: rng.source)
            .wrap(fk, fileID: id)
        let header = try HeaderCodec.encode(core: core, slots: [slot], fileKey: fk)
        let sealer = try MutableSegmentSealer(payloadKey: KeySchedule.payloadKey(fileKey: fk, core: core), random: rng.source)
        var segments: [[UInt8]] = []
        let s = layout.segmentSize
        let count = max(1, (plain.count + s - 1) / s)
        for i in 0..<count {
            let part = Array(plain[min(plain.count, i * s)..<min(plain.count, (i + 1) * s)])
            segments.append(try seal(part, index: UInt64(i), isFinal: i == count - 1 && finalFlag, sealer: sealer))
        }
        return Built(header: header, segments: segments, fileKey: fk, core: core, fileID: id)
    }

    static func seal(_ part: [UInt8], index: UInt64, isFinal: Bool, sealer: MutableSegmentSealer) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: part.count + 40)
        try part.withUnsafeBytes { p in try out.withUnsafeMutableBytes { try sealer.seal(p, index: index, isFinal: isFinal, into: $0) } }
        return out
    }

    /// A journal record written from docs/format.md §14.1 alone.
    static func journal(for built: Built, entries: [(offset: Int, bytes: [UInt8])], newSize: Int, rng: DeterministicBytes) -> [UInt8] {
        var out = Array("TRIADWJ1".utf8) + rng.next(16) + built.fileID + SHA256.hash(built.header)
        out += withUnsafeBytes(of: UInt64(newSize).bigEndian, Array.init)
        out += withUnsafeBytes(of: UInt32(entries.count).bigEndian, Array.init)
        for e in entries {
            out += withUnsafeBytes(of: UInt64(e.offset).bigEndian, Array.init)
            out += withUnsafeBytes(of: UInt32(e.bytes.count).bigEndian, Array.init)
            out += e.bytes
        }
        let key = HKDF.deriveKey(inputKey: built.fileKey, salt: built.fileID, info: Array("triad/v1/write-journal".utf8) + built.core,
                                 outputByteCount: 32)
        return out + HMACSHA256.authenticate(SHA256.hash(out), key: key)
    }

    /// A new-file mark written from docs/format.md §14.5 alone.
    static func mark(for built: Built) -> [UInt8] {
        let key = HKDF.deriveKey(inputKey: built.fileKey, salt: built.fileID, info: Array("triad/v1/new-file".utf8) + built.core,
                                 outputByteCount: 32)
        return Array("TRIADNF1".utf8) + HMACSHA256.authenticate(SHA256.hash(built.header), key: key)
    }

    /// Gives the file at `path` the mark in `value` (an extended attribute).
    static func setMark(_ path: String, _ value: [UInt8]) {
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        let set = LinuxCalls.setAttribute(fd, NewFileMark.attributeName, value)
        precondition(set, "user extended attributes are needed where the tests write: \(String(cString: strerror(errno)))")
    }

    static func generate(into dir: String, layout: SegmentLayout) throws -> [Vector] {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let rng = DeterministicBytes(seed: layout == .mutableLarge ? "triad mutable suite vectors v1" : "triad mutable suite vectors v1, 4 KiB")
        // Sizes in segments of this layout: S, 2S, 3S; "three" is a file of three segments.
        let S = layout.segmentSize
        let three = layout == .mutableLarge ? 150_000 : 10_000
        func build(_ plain: [UInt8], rng: DeterministicBytes, finalFlag: Bool = true,
                   fileKey: SecureBytes? = nil, fileID: [UInt8]? = nil) throws -> Built {
            try Self.build(plain, rng: rng, layout: layout, finalFlag: finalFlag, fileKey: fileKey, fileID: fileID)
        }
        var vectors: [Vector] = []
        func emit(_ name: String, _ bytes: [UInt8], _ comment: String, expect: String, plain: [UInt8]? = nil, journal: [UInt8]? = nil,
                  mark: [UInt8]? = nil) throws {
            try writeFile(dir + "/\(name).triad", bytes)
            if let journal { try writeFile(dir + "/\(name).journal", journal) }
            if let mark { try writeFile(dir + "/\(name).mark", mark) }
            vectors.append(Vector(name: name, comment: comment, file: "\(name).triad", journal: journal == nil ? nil : "\(name).journal",
                                  mark: mark == nil ? nil : "\(name).mark", expect: expect, plaintext_length: plain?.count, plaintext_sha256: plain.map { Hex.encode(SHA256.hash($0)) }))
        }
        func pattern(_ n: Int, _ salt: UInt8) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(salt)) } }
        for (name, size) in [("empty", 0), ("one-byte", 1), ("one-segment", S), ("one-segment-plus-one", S + 1), ("three-segments", three)] {
            let plain = pattern(size, UInt8(size & 0xFF))
            try emit(name, try build(plain, rng: rng).bytes, "\(size) bytes", expect: "success", plain: plain)
        }
        let plain = pattern(three, 7)
        let base = try build(plain, rng: rng)
        var b = base
        b.segments.swapAt(0, 1)
        try emit("swapped-segments", b.bytes, "segments 0 and 1 swapped", expect: "segmentAuthenticationFailed")
        b = base; b.segments[0][3] ^= 1
        try emit("flipped-nonce", b.bytes, "a byte of segment 0's nonce", expect: "segmentAuthenticationFailed")
        b = base; b.segments[1][b.segments[1].count - 1] ^= 1
        try emit("flipped-tag", b.bytes, "the last byte of segment 1's tag", expect: "segmentAuthenticationFailed")
        b = base; b.segments.removeLast()
        try emit("truncated-at-boundary", b.bytes, "the final segment dropped", expect: "truncated")
        try emit("final-flag-missing", try build(plain, rng: rng, finalFlag: false).bytes, "the last segment sealed as non-final",
                 expect: "truncated")
        var full = try build(pattern(S, 3), rng: rng)
        full.segments.append(full.segments[0])
        try emit("appended-segment", full.bytes, "a full final segment repeated after itself", expect: "trailingData")
        let other = try build(pattern(three, 9), rng: rng)
        b = base; b.segments[1] = other.segments[1]
        try emit("segment-from-another-file", b.bytes, "segment 1 of another file at the same index", expect: "segmentAuthenticationFailed")
        // The documented limit (§13.5): an older sealing of the same segment of the same file opens.
        let newer = try build(pattern(three, 11), rng: rng, fileKey: base.fileKey, fileID: base.fileID)
        b = newer; b.segments[1] = base.segments[1]
        let mixed = Array(pattern(three, 11)[0..<S]) + Array(plain[S..<(2 * S)]) + Array(pattern(three, 11)[(2 * S)...])
        try emit("rolled-back-segment", b.bytes, "segment 1 put back from an older version of the same file: NOT detected (§13.5)",
                 expect: "success", plain: mixed)

        // Journals (§14): a commit that rewrites segment 1 and grows the file by one segment.
        let sealer = try MutableSegmentSealer(payloadKey: KeySchedule.payloadKey(fileKey: base.fileKey, core: base.core), random: rng.source)
        let grown = Array(plain[0..<S]) + pattern(S, 13) + Array(plain[(2 * S)...]) + [UInt8](repeating: 0, count: S - (three - 2 * S)) + pattern(1000, 17)
        let seg1 = try seal(Array(grown[S..<(2 * S)]), index: 1, isFinal: false, sealer: sealer)
        let seg2 = try seal(Array(grown[(2 * S)..<(3 * S)]), index: 2, isFinal: false, sealer: sealer)
        let seg3 = try seal(Array(grown[(3 * S)...]), index: 3, isFinal: true, sealer: sealer)
        let h = base.header.count, step = S + 40
        let entries = [(h + step, seg1), (h + 2 * step, seg2), (h + 3 * step, seg3)]
        let newSize = h + 3 * step + seg3.count
        let valid = journal(for: base, entries: entries, newSize: newSize, rng: rng)
        try emit("journal-replayed", base.bytes, "a complete journal beside the file: replayed, the file becomes the new content",
                 expect: "success", plain: grown, journal: valid)
        // A half-applied commit: the journal is durable, segment 1 reached the file, the rest not.
        var half = base
        half.segments[1] = seg1
        try emit("journal-replayed-half-applied", half.bytes, "the commit stopped after the first in-place write: the journal completes it",
                 expect: "success", plain: grown, journal: valid)
        try emit("journal-torn", base.bytes, "a journal cut 10 bytes short: discarded, the old content stays",
                 expect: "success", plain: plain, journal: Array(valid.dropLast(10)))
        var badMAC = valid; badMAC[200] ^= 1   // inside the first entry's sealed bytes
        try emit("journal-bad-mac", base.bytes, "a journal with one byte of an entry changed: its MAC fails, discarded", expect: "success", plain: plain, journal: badMAC)
        let rewrapped = try build(plain, rng: rng, fileKey: base.fileKey, fileID: base.fileID)
        let stale = journal(for: rewrapped, entries: entries, newSize: newSize, rng: rng)
        try emit("journal-other-header", base.bytes, "a journal made for another header of the same file id (before a rewrap): discarded",
                 expect: "success", plain: plain, journal: stale)

        // New-file marks (§14.5): a first commit of `three` bytes written in place under the mark.
        let fresh = try build(pattern(three, 19), rng: rng)
        let freshMark = mark(for: fresh)
        let freshSealer = try MutableSegmentSealer(payloadKey: KeySchedule.payloadKey(fileKey: fresh.fileKey, core: fresh.core), random: rng.source)
        var empty = fresh
        empty.segments = [try seal([], index: 0, isFinal: true, sealer: freshSealer)]
        try emit("mark-on-empty", empty.bytes, "the empty file under its mark: kept", expect: "success", plain: [], mark: freshMark)
        try emit("mark-first-commit-whole", fresh.bytes, "a whole first commit under its mark: verified, the mark removed",
                 expect: "success", plain: pattern(three, 19), mark: freshMark)
        var tornCommit = fresh; tornCommit.segments[1][tornCommit.segments[1].count - 1] ^= 1
        try emit("mark-first-commit-torn", tornCommit.bytes, "a first commit with segment 1 torn, under its mark: reset, the empty file",
                 expect: "success", plain: [], mark: freshMark)
        var cut = fresh; cut.segments.removeLast()
        try emit("mark-first-commit-cut", cut.bytes, "a first commit whose final segment never reached the file, under its mark: reset",
                 expect: "success", plain: [], mark: freshMark)
        var flipped = freshMark; flipped[20] ^= 1
        try emit("mark-bad-mac", tornCommit.bytes, "the torn first commit under a mark with one bit changed: ignored, refused",
                 expect: "segmentAuthenticationFailed", mark: flipped)
        let otherHeader = try build([], rng: rng, fileKey: fresh.fileKey, fileID: fresh.fileID)
        try emit("mark-other-header", tornCommit.bytes, "the torn first commit under the mark of another header of the same file id: ignored, refused",
                 expect: "segmentAuthenticationFailed", mark: mark(for: otherHeader))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(vectors).write(to: URL(fileURLWithPath: dir + "/vectors.json"))
        return vectors
    }

    func testVectorsAreReproducible() throws {
        for (folder, layout) in Self.sets {
            if ProcessInfo.processInfo.environment["TRIAD_REGENERATE_VECTORS"] == "1" {
                _ = try Self.generate(into: folder.path, layout: layout)
            }
            let scratch = ScratchDirectory()
            let fresh = try Self.generate(into: scratch.path, layout: layout)
            let committed = try JSONDecoder().decode([Vector].self, from: Data(contentsOf: folder.appendingPathComponent("vectors.json")))
            XCTAssertEqual(fresh, committed, folder.lastPathComponent)
            for v in committed {
                XCTAssertEqual(try readFile(scratch.file(v.file)), try readFile(folder.appendingPathComponent(v.file).path), v.name)
                if let j = v.journal { XCTAssertEqual(try readFile(scratch.file(j)), try readFile(folder.appendingPathComponent(j).path), j) }
                if let m = v.mark { XCTAssertEqual(try readFile(scratch.file(m)), try readFile(folder.appendingPathComponent(m).path), m) }
            }
        }
    }

    /// Every vector through the stream decryptor (to a file and to a pipe-like descriptor) and
    /// the random-access reader; a journal is placed beside the file under its real name.
    func testEveryVector() throws {
        for (folder, _) in Self.sets {
            let vectors = try JSONDecoder().decode([Vector].self, from: Data(contentsOf: folder.appendingPathComponent("vectors.json")))
            XCTAssertEqual(vectors.count, 24)
            for v in vectors {
                for reader in ["file", "fd", "random-access"] {
                    let scratch = ScratchDirectory()
                    let bytes = try readFile(folder.appendingPathComponent(v.file).path)
                    try writeFile(scratch.file("f"), bytes)
                    if let j = v.journal {
                        let fileID = Array(bytes[12..<44])
                        try writeFile(scratch.file(WriteJournal.name(fileID: fileID)), try readFile(folder.appendingPathComponent(j).path))
                    }
                    if let m = v.mark { Self.setMark(scratch.file("f"), try readFile(folder.appendingPathComponent(m).path)) }
                    var plain: [UInt8]?
                    var failure: String?
                    do {
                        switch reader {
                        case "file":
                            try EncryptedFile.decrypt(OpenedFile.at(scratch.file("f")), to: FileLocation.at(scratch.file("out")), identities: [TestKeys.zone]).commit()
                            plain = try readFile(scratch.file("out"))
                        case "fd":
                            let fd = open(scratch.file("out"), O_WRONLY | O_CREAT | O_TRUNC, 0o600)
                            defer { close(fd) }
                            try EncryptedFile.decrypt(OpenedFile.at(scratch.file("f")), to: fd, identities: [TestKeys.zone])
                            plain = try readFile(scratch.file("out"))
                        default:
                            let r = try EncryptedFileReader(path: scratch.file("f"), identities: [TestKeys.zone])
                            plain = try r.read(offset: 0, count: Int(r.plaintextLength) + 1)
                        }
                    } catch let error as FormatError {
                        failure = Mirror(reflecting: error).children.first?.label ?? "\(error)"
                    }
                    if v.expect == "success" {
                        XCTAssertNil(failure, "\(v.name) via \(reader)")
                        XCTAssertEqual(plain?.count, v.plaintext_length, "\(v.name) via \(reader)")
                        XCTAssertEqual(plain.map { Hex.encode(SHA256.hash($0)) }, v.plaintext_sha256, "\(v.name) via \(reader)")
                        XCTAssertFalse(scratch.entries().contains { $0.hasPrefix(".triad-journal-") }, "\(v.name): the journal is gone")
                    } else if reader == "random-access" && v.expect == "trailingData" {
                        // Random access opens the last segment at its own index: a copy sealed for
                        // another index fails as damage there (§6.3), before any extension is seen.
                        XCTAssertEqual(failure, "segmentAuthenticationFailed", "\(v.name) via \(reader)")
                    } else {
                        XCTAssertEqual(failure, v.expect, "\(v.name) via \(reader)")
                    }
                }
            }
        }
    }

    /// MutableFile against a model: many commits with writes anywhere, growth and shrinking;
    /// after each, an independent reader decrypts exactly the model.
    func testCommitsMatchAModel() throws {
        let scratch = try ScratchMutableFile()
        let (path, fd, dir, file) = (scratch.path, scratch.fd, scratch.folder, scratch.file)
        var model: [UInt8] = []
        var generator = SystemRandomNumberGenerator()
        for step in 0..<60 {
            var overlays: [UInt64: SegmentOverlay] = [:]
            var truncate: UInt64?
            if step % 7 == 6 {
                let n = Int.random(in: 0...(model.count + 70_000), using: &generator)
                truncate = UInt64(n)
                model = n <= model.count ? Array(model.prefix(n)) : model + [UInt8](repeating: 0, count: n - model.count)
            } else {
                for _ in 0..<Int.random(in: 1...4, using: &generator) {
                    let offset = Int.random(in: 0...(model.count + 100_000), using: &generator)
                    let data = SecureRandom.bytes(count: [1, 100, 65536, 90_000].randomElement(using: &generator)!)
                    if model.count < offset + data.count { model += [UInt8](repeating: 0, count: offset + data.count - model.count) }
                    model.replaceSubrange(offset..<(offset + data.count), with: data)
                    var position = offset
                    while position < offset + data.count {
                        let index = UInt64(position / file.segmentSize), within = position % file.segmentSize
                        let n = min(offset + data.count - position, file.segmentSize - within)
                        data.withUnsafeBytes { d in
                            overlays[index, default: SegmentOverlay(segmentSize: file.segmentSize)].write(UnsafeRawBufferPointer(rebasing: d[(position - offset)..<(position - offset + n)]), at: within)
                        }
                        position += n
                    }
                }
            }
            try CommitLock.withExclusive(fd: fd, path: path) {
                try file.refresh()
                try file.commit(overlays, truncate: truncate, journal: step % 2 == 0 ? JournalTarget(directoryFD: dir) : nil)
            }
            XCTAssertEqual(file.plaintextSize, UInt64(model.count), "step \(step)")
            let reader = try EncryptedFileReader(path: path, identities: [TestKeys.zone])
            XCTAssertEqual(try reader.read(offset: 0, count: model.count + 1), model, "step \(step)")
        }
        try file.checkpoint(JournalTarget(directoryFD: dir))
        XCTAssertEqual(scratch.scratch.entries(), ["f"], "the checkpoint removed the journal")
    }
}

extension MutableSuiteTests {
    /// docs/format.md §2 and §13.1: suite 1 takes 64 KiB segments only, suite 2 takes 64 KiB or
    /// 4 KiB; any other pair is refused before a key is tried, and switching an allowed suite-2
    /// size for the other fails the header MAC (the log2 byte is in the core every key is bound to).
    func testSegmentSizeAllowedPerSuite() throws {
        func failure(_ bytes: [UInt8]) -> String? {
            let scratch = ScratchDirectory()
            do {
                try writeFile(scratch.file("f"), bytes)
                _ = try EncryptedFileReader(path: scratch.file("f"), identities: [TestKeys.zone])
                return nil
            } catch let error as FormatError {
                return Mirror(reflecting: error).children.first?.label ?? "\(error)"
            } catch { return "\(error)" }
        }
        for (folder, layout) in Self.sets {
            let bytes = try readFile(folder.appendingPathComponent("one-byte.triad").path)
            XCTAssertEqual(bytes[10], 2)
            XCTAssertEqual(bytes[11], layout.log2SegmentSize)
            XCTAssertNil(failure(bytes), folder.lastPathComponent)
            for log2: UInt8 in [0, 11, 13, 15, 17, 255] {
                var b = bytes; b[11] = log2
                XCTAssertEqual(failure(b), "unsupportedSegmentSize", "suite 2, log2 \(log2)")
            }
            var other = bytes; other[11] = layout == .mutable ? 16 : 12
            XCTAssertEqual(failure(other), "headerAuthenticationFailed", "suite 2, the other allowed size")
        }
        let stream = try readFile(TestKeys.fixtures.appendingPathComponent("one-byte.triad").path)
        XCTAssertEqual(Array(stream[10...11]), [1, 16])
        var small = stream; small[11] = 12
        XCTAssertEqual(failure(small), "unsupportedSegmentSize", "suite 1 with 4 KiB segments")
        XCTAssertNil(SegmentLayout(suite: .stream, log2SegmentSize: 12))
        XCTAssertEqual(SegmentLayout(suite: .mutable, log2SegmentSize: 12), .mutable)
    }
}
