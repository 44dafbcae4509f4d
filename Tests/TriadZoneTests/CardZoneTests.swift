import Foundation
import XCTest
import TriadCrypto
@testable import TriadZone

/// Issue 3: a zone whose members are two virtual cards and one key file. Each card opens the
/// files with its PIN; a wrong PIN fails with the tries left in the message; the last try is
/// refused unless --allow-last-pin-try; three wrong PINs block the card and the message says
/// how to unblock it (PUK). Cards run behind the real pcscd through vpcd, one per vpcd slot.
final class CardZoneTests: XCTestCase {
    struct Card {
        let reader: String
        let process: Process
        let certificate: String
    }

    func testTwoCardsAndAKeyFileMemberPINsAndBlocking() throws {
        let s = Scratch()
        try ensurePCSCD()
        let ca = PKI.make("card-ca", "p256")
        let a = try startCard(s, name: "a", port: "35963", reader: "Virtual PCD 00 00", algorithm: "ECCP256", ca: ca)
        defer { stop(a) }
        let b = try startCard(s, name: "b", port: "35964", reader: "Virtual PCD 00 01", algorithm: "RSA2048", ca: ca)
        defer { stop(b) }
        let alice = PKI.make("alice-rsa2048", "rsa2048")
        let officer = PKI.make("officer-p256", "p256"), recovery = PKI.make("recovery-p384", "p384")

        let plain = SeededGenerator(seed: 33).bytesCopy(200_000)
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

    private func cat(_ s: Scratch, _ file: String, _ card: Card, pin: String, extra: [String] = []) -> RunResult {
        let pinFile = s.path("pin-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: pinFile, contents: Data((pin + "\n").utf8))
        defer { unlink(pinFile) }
        let flags = extra.joined(separator: " ")
        return s.zoneShell("\"$ZONE\" cat '\(file)' --identity 'piv:\(card.reader)' --pin-fd 3 \(flags) 3<'\(pinFile)'")
    }

    private func startCard(_ s: Scratch, name: String, port: String, reader: String, algorithm: String,
                           ca: (key: String, cert: String)) throws -> Card {
        let products = (Scratch.zoneBinary as NSString).deletingLastPathComponent
        let virtualCard = products + "/virtual-card"
        let state = s.path("card-\(name).state")
        XCTAssertEqual(shell(virtualCard, ["init", "--state", state]).status, 0)
        XCTAssertTrue(waitForCard(reader, present: false), "\(reader) is held by another card")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: virtualCard)
        process.arguments = ["run", "--state", state, "--port", port]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        XCTAssertTrue(waitForCard(reader, present: true), "the virtual card did not appear in \(reader)")
        let pub = s.path("\(name)-pub.pem"), csr = s.path("\(name).csr"), cert = s.path("\(name).crt")
        var r = shell("yubico-piv-tool", ["-r", reader, "-a", "generate", "-s", "9d", "-A", algorithm, "-o", pub])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(shell("openssl", ["req", "-new", "-key", ca.key, "-subj", "/CN=card \(name)", "-out", csr]).status, 0)
        r = shell("openssl", ["x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key, "-CAcreateserial",
                              "-force_pubkey", pub, "-days", "30", "-out", cert])
        XCTAssertEqual(r.status, 0, r.stderr)
        r = shell("yubico-piv-tool", ["-r", reader, "-a", "import-certificate", "-s", "9d", "-i", cert])
        XCTAssertEqual(r.status, 0, r.stderr)
        return Card(reader: reader, process: process, certificate: cert)
    }

    private func stop(_ card: Card) {
        card.process.terminate()
        card.process.waitUntilExit()
        _ = waitForCard(card.reader, present: false)
    }

    private func ensurePCSCD() throws {
        if shell("pgrep", ["-x", "pcscd"]).status != 0 {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/sbin/pcscd")
            try p.run()
            p.waitUntilExit()
            sleep(1)
        }
        XCTAssertEqual(shell("pgrep", ["-x", "pcscd"]).status, 0, "pcscd must run (scripts/setup installs pcscd and vsmartcard-vpcd)")
    }

    private func waitForCard(_ reader: String, present: Bool) -> Bool {
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let line = shell("opensc-tool", ["-l"]).out.split(separator: "\n").first { $0.contains(reader) }
            if let line, line.contains(" Yes ") == present { return true }
            usleep(100_000)
        }
        return false
    }
}
