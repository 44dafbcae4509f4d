import Foundation
import XCTest
import TriadCrypto
import TriadTestSupport
@testable import TriadZone

/// docs/piv-client.md "PIN policy": a zone whose members are two virtual cards and one key file. Each card opens the
/// files with its PIN; a wrong PIN fails with the tries left in the message; the last try is
/// refused unless --allow-last-pin-try; three wrong PINs block the card and the message says
/// how to unblock it (PUK). Cards run behind the real pcscd through vpcd, one per vpcd slot.
final class CardZoneTests: XCTestCase {
    struct Card {
        let reader: String
        let harness: VirtualCardHarness
        let certificate: String
    }

    func testTwoCardsAndAKeyFileMemberPINsAndBlocking() throws {
        let s = Scratch()
        let ca = try PKI.pki.make("card-ca", .p256)
        let a = try startCard(s, name: "a", port: 35963, algorithm: "ECCP256", ca: ca)
        defer { a.harness.remove() }
        let b = try startCard(s, name: "b", port: 35964, algorithm: "RSA2048", ca: ca)
        defer { b.harness.remove() }
        let alice = PKI.make("alice-rsa2048", "rsa2048")
        let officer = PKI.make("officer-p256", "p256"), recovery = PKI.make("recovery-p384", "p384")

        var seeded = SeededGenerator(seed: 33)
        let plain = seeded.bytes(200_000)
        s.write("z/ward/record", plain)
        var r = s.zone("init", s.path("z"), "--officer-cert", officer.cert, "--identity", "file:" + officer.key,
                       "--recovery-cert", recovery.cert, "--member", a.certificate, "--member", b.certificate, "--member", alice.cert)
        XCTAssertEqual(r.status, 0, r.stderr)
        r = s.zone("encrypt", s.path("z"), "--identity", "file:" + alice.key)
        XCTAssertEqual(r.status, 0, r.stderr)
        let file = s.path("z/ward/record")

        // Each card, and the key file, opens the file.
        for card in [a, b] {
            r = cat(s, file, card, pin: "123456")
            XCTAssertEqual(r.status, 0, "\(card.reader): \(r.stderr)")
            XCTAssertTrue(Array(r.stdout) == plain, "\(card.reader) reads the file")
            XCTAssertTrue(r.stderr.contains("PIN tries left"), "tries shown before asking: \(r.stderr)")
        }
        XCTAssertTrue(Array(s.zone("cat", file, "--identity", "file:" + alice.key).stdout) == plain)

        // Wrong PINs on card A: each failure names the tries left; nothing reaches stdout.
        r = cat(s, file, a, pin: "000000")
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stdout.isEmpty, "no output on a wrong PIN")
        XCTAssertTrue(r.stderr.contains("2 tries left"), r.stderr)
        r = cat(s, file, a, pin: "000000")
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("1 try left"), r.stderr)
        // The last try is refused without --allow-last-pin-try, even with the right PIN.
        r = cat(s, file, a, pin: "123456")
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("--allow-last-pin-try"), r.stderr)
        r = cat(s, file, a, pin: "000000", extra: ["--allow-last-pin-try"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stdout.isEmpty)
        // Blocked now: the right PIN no longer opens it, and the message says how to unblock.
        r = cat(s, file, a, pin: "123456", extra: ["--allow-last-pin-try"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("blocked") && r.stderr.contains("PUK"), r.stderr)
        XCTAssertTrue(r.stdout.isEmpty)

        // Card B and the key file are unaffected.
        r = cat(s, file, b, pin: "123456")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(Array(r.stdout) == plain)

        // The PUK unblocks card A (independent client), and its PIN works again.
        let puk = shell("yubico-piv-tool", ["-r", a.reader, "-a", "unblock-pin", "-P", "12345678", "-N", "123456"])
        XCTAssertEqual(puk.status, 0, puk.stderr)
        r = cat(s, file, a, pin: "123456")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(Array(r.stdout) == plain)
    }

    /// `zone cat` with the card's PIN on descriptor 3 (never in argv, the environment or a file).
    private func cat(_ s: Scratch, _ file: String, _ card: Card, pin: String, extra: [String] = []) -> RunResult {
        s.zone(["cat", file, "--identity", "piv:\(card.reader)", "--pin-fd", "3"] + extra, inputs: [3: Data((pin + "\n").utf8)])
    }

    /// A fresh virtual card on `port` with a key generated on it by yubico-piv-tool (slot 9D) and
    /// a certificate for that key from the test CA, stored on the card.
    private func startCard(_ s: Scratch, name: String, port: UInt16, algorithm: String, ca: TestPKI.Credential) throws -> Card {
        let harness = try VirtualCardHarness(state: s.path("card-\(name).state"), port: port)
        try harness.insert()
        let reader = harness.reader
        let pub = s.path("\(name)-pub.pem")
        var r = shell("yubico-piv-tool", ["-r", reader, "-a", "generate", "-s", "9d", "-A", algorithm, "-o", pub])
        XCTAssertEqual(r.status, 0, r.stderr)
        let cert = try PKI.pki.certify(publicKey: pub, name: "card-\(name)-\(UUID().uuidString.prefix(8))", issuer: ca,
                                       profile: .init(subject: "/CN=card \(name)"))
        r = shell("yubico-piv-tool", ["-r", reader, "-a", "import-certificate", "-s", "9d", "-i", cert])
        XCTAssertEqual(r.status, 0, r.stderr)
        return Card(reader: reader, harness: harness, certificate: cert)
    }
}
