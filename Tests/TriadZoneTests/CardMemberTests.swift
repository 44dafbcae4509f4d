import Foundation
import XCTest
import TriadCrypto
@testable import TriadZone

/// A member whose key lives on a PIV card (`piv:READER` through `CardIdentity.open`), with the
/// project's virtual card behind real pcscd (DESIGN §5) and the key generated on the card by
/// an independent client (yubico-piv-tool); the PIN comes from `--pin-fd`.
final class CardMemberTests: XCTestCase {
    /// vpcd slot 1 (port 35964, reader "Virtual PCD 00 01"); tests in one process run serially.
    static let port = "35964"
    static let reader = "Virtual PCD 00 01"

    func testCardHoldingMemberEncryptsAndReads() throws {
        let s = Scratch()
        let products = (Scratch.zoneBinary as NSString).deletingLastPathComponent
        let virtualCard = products + "/virtual-card"
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: virtualCard), "virtual-card is built beside zone")
        try ensurePCSCD()
        let state = s.path("card.state")
        XCTAssertEqual(shell(virtualCard, ["init", "--state", state]).status, 0)
        let card = Process()
        card.executableURL = URL(fileURLWithPath: virtualCard)
        card.arguments = ["run", "--state", state, "--port", Self.port]
        card.standardOutput = FileHandle.nullDevice
        card.standardError = FileHandle.nullDevice
        try card.run()
        defer {
            card.terminate()
            card.waitUntilExit()
            _ = waitForCard(present: false)
        }
        XCTAssertTrue(waitForCard(present: true), "the virtual card did not appear in \(Self.reader)")

        // Key generated on the card (slot 9D); a certificate for it from a test CA, stored on the card.
        let ca = PKI.make("card-ca", "p256")
        let pub = s.path("card-pub.pem"), csr = s.path("card.csr"), cert = s.path("card.crt")
        var r = shell("yubico-piv-tool", ["-r", Self.reader, "-a", "generate", "-s", "9d", "-A", "ECCP256", "-o", pub])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(shell("openssl", ["req", "-new", "-key", ca.key, "-subj", "/CN=card member", "-out", csr]).status, 0)
        r = shell("openssl", ["x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key, "-CAcreateserial",
                              "-force_pubkey", pub, "-days", "30", "-out", cert])
        XCTAssertEqual(r.status, 0, r.stderr)
        r = shell("yubico-piv-tool", ["-r", Self.reader, "-a", "import-certificate", "-s", "9d", "-i", cert])
        XCTAssertEqual(r.status, 0, r.stderr)

        let officer = PKI.make("officer-p256", "p256"), recovery = PKI.make("recovery-p384", "p384")
        let plain = SeededGenerator(seed: 9).bytesCopy(150_000)
        s.write("z/ward/f", plain)
        XCTAssertEqual(s.zone("init", s.path("z"), "--officer-cert", officer.cert, "--identity", "file:" + officer.key,
                              "--recovery-cert", recovery.cert, "--member", cert).status, 0)
        let pin = s.path("pin")
        XCTAssertTrue(FileManager.default.createFile(atPath: pin, contents: Data("123456\n".utf8)))
        r = s.zoneShell("\"$ZONE\" encrypt '\(s.path("z"))' --identity 'piv:\(Self.reader)' --pin-fd 3 3<'\(pin)'")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("PIN tries left"), "the tries left are shown before the PIN is used: \(r.stderr)")
        XCTAssertTrue(s.read("z/ward/f") != plain)
        r = s.zoneShell("\"$ZONE\" cat '\(s.path("z/ward/f"))' --identity 'piv:00 01' --pin-fd 3 3<'\(pin)'")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(Array(r.stdout) == plain, "the card member reads the file")
        r = s.zone("cat", s.path("z/ward/f"), "--identity", "file:" + recovery.key)
        XCTAssertTrue(Array(r.stdout) == plain, "the recovery key reads what the card member wrote")
    }

    /// The recovery key on a card, used for a whole tree: the tree engine's workers share the
    /// card, one operation at a time (`SerializedKey`), and every file comes out right.
    func testRecoveryKeyOnACardDecryptsATreeWithWorkers() throws {
        let s = Scratch()
        let products = (Scratch.zoneBinary as NSString).deletingLastPathComponent
        let virtualCard = products + "/virtual-card"
        try ensurePCSCD()
        let state = s.path("card.state")
        XCTAssertEqual(shell(virtualCard, ["init", "--state", state]).status, 0)
        let card = Process()
        card.executableURL = URL(fileURLWithPath: virtualCard)
        card.arguments = ["run", "--state", state, "--port", Self.port]
        card.standardOutput = FileHandle.nullDevice
        card.standardError = FileHandle.nullDevice
        try card.run()
        defer {
            card.terminate()
            card.waitUntilExit()
            _ = waitForCard(present: false)
        }
        XCTAssertTrue(waitForCard(present: true), "the virtual card did not appear in \(Self.reader)")
        // The recovery key and certificate, made with stock openssl and imported into slot 9D.
        let recovery = PKI.make("card-recovery-p256", "p256")
        var r = shell("yubico-piv-tool", ["-r", Self.reader, "-a", "import-key", "-s", "9d", "-i", recovery.key])
        XCTAssertEqual(r.status, 0, r.stderr)
        r = shell("yubico-piv-tool", ["-r", Self.reader, "-a", "import-certificate", "-s", "9d", "-i", recovery.cert])
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
        let pin = s.path("pin")
        XCTAssertTrue(FileManager.default.createFile(atPath: pin, contents: Data("123456\n".utf8)))
        r = s.zoneShell("\"$ZONE\" decrypt '\(s.path("z"))' --output '\(s.path("out"))' --identity 'piv:\(Self.reader)' --pin-fd 3 3<'\(pin)'")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.out.contains("decrypted 40 file(s)"), r.out)
        for (path, original) in originals {
            XCTAssertTrue(s.read("out/" + path.dropFirst(2)) == original, "\(path) decrypted with the card's recovery key")
        }
    }

    private func ensurePCSCD() throws {
        if shell("pgrep", ["-x", "pcscd"]).status != 0 {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/sbin/pcscd")
            p.arguments = []
            try p.run()
            p.waitUntilExit()
            sleep(1)
        }
        XCTAssertEqual(shell("pgrep", ["-x", "pcscd"]).status, 0, "pcscd must run (scripts/setup installs pcscd and vsmartcard-vpcd)")
    }

    private func waitForCard(present: Bool) -> Bool {
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            let line = shell("opensc-tool", ["-l"]).out.split(separator: "\n").first { $0.contains(Self.reader) }
            if let line, line.contains(" Yes ") == present { return true }
            usleep(100_000)
        }
        return false
    }
}
