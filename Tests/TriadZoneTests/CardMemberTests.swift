import Foundation
import XCTest
import TriadCrypto
import TriadTestSupport
@testable import TriadZone

/// A member whose key lives on a PIV card (`piv:READER` through `CardIdentity.open`), with the
/// project's virtual card behind real pcscd (docs/virtual-card.md) and the key generated on the
/// card by an independent client (yubico-piv-tool); the PIN comes from `--pin-fd`.
final class CardMemberTests: XCTestCase {
    /// vpcd slot 1 (port 35964, reader "Virtual PCD 00 01"); tests in one process run serially.
    static let port: UInt16 = 35964

    func testCardHoldingMemberEncryptsAndReads() throws {
        let s = Scratch()
        let card = try VirtualCardHarness(state: s.path("card.state"), port: Self.port)
        try card.insert()
        defer { card.remove() }
        let reader = card.reader

        // Key generated on the card (slot 9D); a certificate for it from a test CA, stored on the card.
        let ca = try PKI.pki.make("card-ca", .p256)
        let pub = s.path("card-pub.pem")
        var r = shell("yubico-piv-tool", ["-r", reader, "-a", "generate", "-s", "9d", "-A", "ECCP256", "-o", pub])
        XCTAssertEqual(r.status, 0, r.stderr)
        let cert = try PKI.pki.certify(publicKey: pub, name: "card-member-\(UUID().uuidString.prefix(8))", issuer: ca,
                                       profile: .init(subject: "/CN=card member"))
        r = shell("yubico-piv-tool", ["-r", reader, "-a", "import-certificate", "-s", "9d", "-i", cert])
        XCTAssertEqual(r.status, 0, r.stderr)

        let officer = PKI.make("officer-p256", "p256"), recovery = PKI.make("recovery-p384", "p384")
        var seeded = SeededGenerator(seed: 9)
        let plain = seeded.bytes(150_000)
        s.write("z/ward/f", plain)
        XCTAssertEqual(s.zone("init", s.path("z"), "--officer-cert", officer.cert, "--identity", "file:" + officer.key,
                              "--recovery-cert", recovery.cert, "--member", cert).status, 0)
        let pin: [Int32: Data] = [3: Data("123456\n".utf8)]
        r = s.zone(["encrypt", s.path("z"), "--identity", "piv:\(reader)", "--pin-fd", "3"], inputs: pin)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("PIN tries left"), "the tries left are shown before the PIN is used: \(r.stderr)")
        XCTAssertTrue(s.read("z/ward/f") != plain)
        r = s.zone(["cat", s.path("z/ward/f"), "--identity", "piv:00 01", "--pin-fd", "3"], inputs: pin)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(Array(r.stdout) == plain, "the card member reads the file")
        r = s.zone("cat", s.path("z/ward/f"), "--identity", "file:" + recovery.key)
        XCTAssertTrue(Array(r.stdout) == plain, "the recovery key reads what the card member wrote")
    }

    /// The recovery key on a card, used for a whole tree: the tree engine's workers share the
    /// card, one operation at a time (`SerializedKey`), and every file comes out right.
    func testRecoveryKeyOnACardDecryptsATreeWithWorkers() throws {
        let s = Scratch()
        let card = try VirtualCardHarness(state: s.path("card.state"), port: Self.port)
        try card.insert()
        defer { card.remove() }
        let reader = card.reader
        // The recovery key and certificate, made with stock openssl and imported into slot 9D.
        let recovery = PKI.make("card-recovery-p256", "p256")
        var r = shell("yubico-piv-tool", ["-r", reader, "-a", "import-key", "-s", "9d", "-i", recovery.key])
        XCTAssertEqual(r.status, 0, r.stderr)
        r = shell("yubico-piv-tool", ["-r", reader, "-a", "import-certificate", "-s", "9d", "-i", recovery.cert])
        XCTAssertEqual(r.status, 0, r.stderr)

        let officer = PKI.make("officer-p256", "p256")
        var rng = SeededGenerator(seed: 40)
        var originals: [String: [UInt8]] = [:]
        for i in 0..<40 {
            originals["z/d\(i % 4)/f\(i)"] = rng.bytes(1 + i * 997)
            s.write("z/d\(i % 4)/f\(i)", originals["z/d\(i % 4)/f\(i)"]!)
        }
        XCTAssertEqual(s.zone("init", s.path("z"), "--officer-cert", officer.cert, "--identity", "file:" + officer.key,
                              "--recovery-cert", recovery.cert).status, 0)
        XCTAssertEqual(s.zone("encrypt", s.path("z"), "--identity", "file:" + officer.key).status, 0)
        r = s.zone(["decrypt", s.path("z"), "--output", s.path("out"), "--identity", "piv:\(reader)", "--pin-fd", "3"],
                   inputs: [3: Data("123456\n".utf8)])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.out.contains("decrypted 40 file(s)"), r.out)
        for (path, original) in originals {
            XCTAssertTrue(s.read("out/" + path.dropFirst(2)) == original, "\(path) decrypted with the card's recovery key")
        }
    }
}
