import Foundation
import XCTest
import TriadCrypto
import TriadFormat
@testable import TriadZone

/// Tree commands keep going (docs/zone.md §7): a damaged or oddly named file is named on
/// stderr and every other file is processed; the command exits 1 at the end with the counts.
/// The attacks run through the `zone` binary as IT (write access to the folder, no key) would.
final class KeepGoingTests: XCTestCase {
    /// The Triad magic alone: a file every reader sees as "encrypted" whose header is missing.
    static let magicOnly: [UInt8] = [0x89, 0x54, 0x52, 0x44, 0x0D, 0x0A, 0x1A, 0x0A]

    func makeZone(_ s: Scratch, members: [(key: String, cert: String)] = []) -> (officer: (key: String, cert: String), root: String) {
        let officer = PKI.make("officer-p256", "p256"), recovery = PKI.make("recovery-p256", "p256")
        let z = s.path("z")
        s.write("z/.keep", [])
        var args = ["init", z, "--officer-cert", officer.cert, "--identity", "file:" + officer.key, "--recovery-cert", recovery.cert]
        for m in members { args += ["--member", m.cert] }
        let r = s.zone(args)
        XCTAssertEqual(r.status, 0, r.stderr)
        unlink(s.path("z/.keep"))
        return (officer, z)
    }

    /// IT plants a file holding only the magic (first in the walk's order) and a file with a
    /// 240-byte name: `zone encrypt` names the planted file, encrypts every other file, exits 1.
    func testPlantedFilesDoNotStopEncrypt() throws {
        let s = Scratch()
        let (officer, z) = makeZone(s)
        var originals: [String: [UInt8]] = [:]
        for i in 0..<20 {
            let p = "z/ward/f\(String(format: "%02d", i))"
            originals[p] = Array("record \(i)".utf8)
            s.write(p, originals[p]!)
        }
        s.write("z/ward/000-planted", Self.magicOnly)
        let longName = "z/ward/" + String(repeating: "n", count: 240)
        s.write(longName, Array("long name".utf8))

        let r = s.zone("encrypt", z, "--identity", "file:" + officer.key)
        XCTAssertEqual(r.status, 1, "a file that could not be processed makes the command fail at the end")
        XCTAssertTrue(r.stderr.contains(s.path("z/ward/000-planted")), "the planted file is named: \(r.stderr)")
        XCTAssertTrue(r.stderr.contains("could not be processed"), r.stderr)
        for (path, original) in originals {
            XCTAssertTrue(EncryptedFile.isEncrypted(at: s.path(path)), "\(path) was processed after the planted file")
            XCTAssertEqual(s.zone("cat", s.path(path), "--identity", "file:" + officer.key).out, String(decoding: original, as: UTF8.self))
        }
        XCTAssertEqual(s.read("z/ward/000-planted"), Self.magicOnly, "the planted file is left as it is")
        // The long name is either encrypted or named as a failure; it never stops the others.
        if !EncryptedFile.isEncrypted(at: s.path(longName)) {
            XCTAssertTrue(r.stderr.contains(String(repeating: "n", count: 240)), "the long name is named: \(r.stderr)")
        }
        XCTAssertTrue(r.out.contains("encrypted \(originals.count + (EncryptedFile.isEncrypted(at: s.path(longName)) ? 1 : 0)) file(s)"), r.out)
        XCTAssertTrue(r.out.contains("failed"), "stdout carries the counts: \(r.out)")
        XCTAssertEqual(s.files("z")["damaged"], 1, "status counts the planted file as damaged")

        // Decrypt keeps going too: every other file comes out, the planted one is named.
        let d = s.zone("decrypt", z, "--identity", "file:" + officer.key, "--output", s.path("out"))
        XCTAssertEqual(d.status, 1)
        XCTAssertTrue(d.stderr.contains("000-planted"), d.stderr)
        for (path, original) in originals {
            XCTAssertEqual(s.read("out/" + path.dropFirst(2)), original, path)
        }
    }

    /// The attack of a planted file after a revocation: IT plants a magic-only file so that
    /// `zone rekey --reencrypt` would stop at it and leave every later file under its old file
    /// key, which the revoked member kept. Now every other file is re-encrypted (new file id,
    /// new file key, origin = the new epoch) and nothing the revoked member kept opens it.
    func testPlantedFileCannotKeepARevokedMemberReading() throws {
        let s = Scratch()
        let bob = PKI.make("bob-p384", "p384")
        let (officer, z) = makeZone(s, members: [bob])
        var originals: [String: [UInt8]] = [:]
        for i in 0..<12 {
            let p = "z/d\(i % 2)/f\(i)"
            originals[p] = Array("patient \(i)".utf8)
            s.write(p, originals[p]!)
        }
        XCTAssertEqual(s.zone("encrypt", z, "--identity", "file:" + officer.key).status, 0)

        // Bob keeps his epoch-1 zone key and every file key he could open while a member.
        let before = try Zone.open(root: z, context: s.context)
        let bobKeys = try before.zoneKeys(for: PKI.privateKey(bob.key), name: "bob")
        let bobEpoch1 = ZoneSlotKey(zoneID: before.policy.zoneID, epoch: 1, zoneKey: bobKeys[1]!)
        var kept: [String: (fileID: [UInt8], key: SecureBytes)] = [:]
        for path in originals.keys {
            let header = try EncryptedFile.readHeader(at: s.path(path))
            kept[path] = (header.fileID, try XCTUnwrap(bobEpoch1.unwrap(header.slots, fileID: header.fileID)))
        }

        XCTAssertEqual(s.zone("revoke", z, "--cert", bob.cert, "--identity", "file:" + officer.key).status, 0)
        // IT plants the stopper where the walk meets it first, in every folder.
        s.write("z/0-planted", Self.magicOnly)
        s.write("z/d0/0-planted", Self.magicOnly)

        let r = s.zone("rekey", z, "--reencrypt", "--identity", "file:" + officer.key)
        XCTAssertEqual(r.status, 1, "the planted files are failures")
        XCTAssertTrue(r.stderr.contains(s.path("z/0-planted")) && r.stderr.contains(s.path("z/d0/0-planted")), r.stderr)
        XCTAssertTrue(r.out.contains("re-encrypted or re-wrapped \(originals.count) file(s)"), r.out)
        let epoch = try Zone.open(root: z, context: s.context).policy.currentEpoch
        for (path, original) in originals {
            let header = try EncryptedFile.readHeader(at: s.path(path))
            XCTAssertNotEqual(header.fileID, kept[path]!.fileID, "\(path) has a new file id")
            XCTAssertEqual(KeyOriginMarker.claim(in: header.slots)?.epoch, epoch, "\(path) has a file key of the new epoch")
            XCTAssertThrowsError(try EncryptedFile.decrypt(OpenedFile.at(s.path(path)), to: FileLocation.at(s.path("leak")), identities: [bobEpoch1]).commit(),
                                 "bob's epoch-1 zone key opens nothing")
            XCTAssertThrowsError(try EncryptedFile.decrypt(OpenedFile.at(s.path(path)), to: FileLocation.at(s.path("leak")),
                                                           identities: [KnownFileKey(fileKey: kept[path]!.key)]).commit(),
                                 "the file key bob kept opens nothing")
            XCTAssertEqual(s.zone("cat", s.path(path), "--identity", "file:" + officer.key).out, String(decoding: original, as: UTF8.self))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: s.path("leak")))
        let files = s.files("z")
        XCTAssertEqual(files["stale_key_origin"], 0)
        XCTAssertEqual(files["damaged"], 2)
    }

    /// A zone planted inside a zone (IT makes `z/sub` a zone of its own, with itself as officer):
    /// the outer zone's walks do not enter it and name it; file commands refuse paths in it, so
    /// a member's new file there is never encrypted for IT's zone.
    func testNestedZoneIsNotEnteredAndIsRefused() throws {
        let s = Scratch()
        let (officer, z) = makeZone(s)
        let it = PKI.make("it-admin-p256", "p256"), itRecovery = PKI.make("it-recovery-p256", "p256")
        s.write("z/ward/notes", Array("outer zone file".utf8))
        s.write("z/sub/new.txt", Array("a member's new file".utf8))
        var r = s.zone("init", s.path("z/sub"), "--officer-cert", it.cert, "--identity", "file:" + it.key,
                       "--recovery-cert", itRecovery.cert)
        XCTAssertEqual(r.status, 0, r.stderr)

        r = s.zone("encrypt", z, "--identity", "file:" + officer.key)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains(s.path("z/sub")) && r.stderr.contains("not entered"), r.stderr)
        XCTAssertTrue(EncryptedFile.isEncrypted(at: s.path("z/ward/notes")))
        XCTAssertEqual(s.read("z/sub/new.txt"), Array("a member's new file".utf8), "not entered by the outer walk")

        // Naming the file, or the nested folder, is refused the same way: nothing for IT's zone.
        for target in [s.path("z/sub/new.txt"), s.path("z/sub")] {
            r = s.zone("encrypt", target, "--identity", "file:" + officer.key)
            XCTAssertEqual(r.status, 1, target)
            XCTAssertTrue(r.stderr.contains("inside the zone \(z)"), r.stderr)
            XCTAssertEqual(s.read("z/sub/new.txt"), Array("a member's new file".utf8))
        }
        r = s.zone("status", s.path("z/sub"), "--json")
        XCTAssertEqual(r.status, 1, "status of the nested zone is refused too")
        XCTAssertEqual(s.files("z")["nested_zones"], 1)
    }

    /// Every name the filesystem accepts can be processed: the temporary's name has a fixed
    /// length (`.triad-tmp-<16 hex>`), so names of 228 to 255 bytes (NAME_MAX) are encrypted,
    /// re-encrypted after a revocation and decrypted like any other.
    func testNamesUpToNameMaxAreProcessed() throws {
        let s = Scratch()
        let bob = PKI.make("bob-p384", "p384")
        let (officer, z) = makeZone(s, members: [bob])
        let names = [228, 240, 255].map { "z/ward/" + String(repeating: "n", count: $0 - 3) + "\($0)" }
        for name in names { s.write(name, Array(name.utf8)) }

        var r = s.zone("encrypt", z, "--identity", "file:" + officer.key)
        XCTAssertEqual(r.status, 0, r.stderr)
        for name in names { XCTAssertTrue(EncryptedFile.isEncrypted(at: s.path(name)), name) }
        XCTAssertEqual(s.zone("revoke", z, "--cert", bob.cert, "--identity", "file:" + officer.key).status, 0)
        r = s.zone("rekey", z, "--reencrypt", "--identity", "file:" + officer.key)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.out.contains("re-encrypted or re-wrapped \(names.count) file(s)"), r.out)
        r = s.zone("decrypt", z, "--identity", "file:" + officer.key)
        XCTAssertEqual(r.status, 0, r.stderr)
        for name in names { XCTAssertEqual(s.read(name), Array(name.utf8), name) }
    }
}
