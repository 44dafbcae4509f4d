import Foundation
import TriadCrypto
import XCTest

/// The virtual card behind real pcscd, driven by independent clients: OpenSC's
/// opensc-tool and pkcs11-tool, Yubico's yubico-piv-tool, with OpenSSL on the other side.
/// Reader "Virtual PCD 00 00" (vpcd port 35963).
final class VirtualCardInteropTests: XCTestCase {
    var directory: URL!
    var card: VirtualCardProcess!
    let pkcs11Module = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"

    override func setUpWithError() throws {
        directory = try PCSCHarness.temporaryDirectory("interop")
        card = try VirtualCardProcess(statePath: directory.appendingPathComponent("card.state").path, port: 35963)
    }

    override func tearDownWithError() throws {
        card?.stop()
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    @discardableResult
    func ypt(_ args: [String], expectSuccess: Bool = true, file: StaticString = #filePath, line: UInt = #line) -> PCSCHarness.Output {
        let out = PCSCHarness.run("yubico-piv-tool", ["-r", card.readerName] + args)
        if expectSuccess {
            XCTAssertTrue(out.succeeded, "yubico-piv-tool \(args.joined(separator: " ")): \(out.stderr)\(out.stdout)", file: file, line: line)
        }
        return out
    }

    @discardableResult
    func openssl(_ args: [String], file: StaticString = #filePath, line: UInt = #line) -> PCSCHarness.Output {
        let out = PCSCHarness.run("openssl", args)
        XCTAssertTrue(out.succeeded, "openssl \(args.joined(separator: " ")): \(out.stderr)", file: file, line: line)
        return out
    }

    /// Generates in 9D with yubico-piv-tool, certifies the public key with an openssl CA and
    /// imports the certificate: what an enrolment does.
    func enrol9D(_ algorithm: String, file: StaticString = #filePath, line: UInt = #line) {
        ypt(["-a", "generate", "-s", "9d", "-A", algorithm, "-o", path("pub.pem")], file: file, line: line)
        if !FileManager.default.fileExists(atPath: path("ca.key")) {
            openssl(["req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                     "-keyout", path("ca.key"), "-subj", "/CN=test CA", "-days", "30", "-out", path("ca.crt")])
        }
        openssl(["req", "-new", "-key", path("ca.key"), "-subj", "/CN=card-holder", "-out", path("req.csr")])
        openssl(["x509", "-req", "-in", path("req.csr"), "-CA", path("ca.crt"), "-CAkey", path("ca.key"),
                 "-force_pubkey", path("pub.pem"), "-days", "30", "-out", path("card.crt")])
        ypt(["-a", "import-certificate", "-s", "9d", "-i", path("card.crt")], file: file, line: line)
    }

    func testOpenSCNamesItAPIVCardAndSeesTheSoftwareATR() {
        let name = PCSCHarness.run("opensc-tool", ["-r", card.readerName, "-n"])
        XCTAssertTrue(name.succeeded, name.stderr)
        XCTAssertTrue(name.stdout.contains("Personal Identity Verification Card"), name.stdout)
        let atr = PCSCHarness.run("opensc-tool", ["-r", card.readerName, "-a"])
        XCTAssertEqual(atr.stdout.trimmingCharacters(in: .whitespacesAndNewlines).lowercased(),
                       ATRText.expected, "ATR spells Triad-SW")
    }

    func testYubicoPIVToolStatusShowsVersionSerialAndTries() {
        let status = ypt(["-a", "status"])
        XCTAssertTrue(status.stdout.contains("Version:\t5.4.3"), status.stdout)
        XCTAssertTrue(status.stdout.range(of: #"Serial Number:\t999\d{6}"#, options: .regularExpression) != nil, status.stdout)
        XCTAssertTrue(status.stdout.contains("PIN tries left:\t3"), status.stdout)
    }

    func testYubicoPIVToolGeneratesEveryAlgorithmAndImportsACertificate() {
        for (algorithm, needle) in [("RSA2048", "RSA2048"), ("ECCP256", "ECCP256"), ("ECCP384", "ECCP384")] {
            enrol9D(algorithm)
            let status = ypt(["-a", "status"])
            XCTAssertTrue(status.stdout.contains("Slot 9d:"), status.stdout)
            XCTAssertTrue(status.stdout.contains("Algorithm:\t\(needle)"), "\(algorithm): \(status.stdout)")
            XCTAssertTrue(status.stdout.contains("Subject DN:\tCN=card-holder"), status.stdout)
            // The certificate read back is the one imported.
            let read = ypt(["-a", "read-certificate", "-s", "9d"])
            let imported = (try? String(contentsOfFile: path("card.crt"), encoding: .utf8)) ?? ""
            XCTAssertEqual(read.stdout.trimmingCharacters(in: .whitespacesAndNewlines),
                           imported.trimmingCharacters(in: .whitespacesAndNewlines), algorithm)
        }
    }

    func testYubicoPIVToolPINLifecycleAndManagementKey() {
        ypt(["-a", "verify-pin", "-P", "123456"])
        ypt(["-a", "change-pin", "-P", "123456", "-N", "654321"])
        for left in [2, 1] {
            let wrong = ypt(["-a", "verify-pin", "-P", "000000"], expectSuccess: false)
            XCTAssertFalse(wrong.succeeded)
            XCTAssertTrue(wrong.stderr.contains("\(left) tries left"), wrong.stderr)
        }
        _ = ypt(["-a", "verify-pin", "-P", "000000"], expectSuccess: false)
        let blocked = ypt(["-a", "verify-pin", "-P", "654321"], expectSuccess: false)
        XCTAssertFalse(blocked.succeeded, "the right PIN does not open a blocked card")
        XCTAssertTrue(blocked.stderr.lowercased().contains("blocked"), blocked.stderr)
        ypt(["-a", "unblock-pin", "-P", "12345678", "-N", "112233"])
        ypt(["-a", "verify-pin", "-P", "112233"])
        ypt(["-a", "change-puk", "-P", "12345678", "-N", "87654321"])

        let newKey = "0a0b0c0d0e0f10111213141516171819" + "1a1b1c1d1e1f2021"
        ypt(["-a", "set-mgm-key", "-n", newKey])
        let refused = ypt(["-a", "generate", "-s", "9a", "-A", "ECCP256"], expectSuccess: false)
        XCTAssertFalse(refused.succeeded, "the default key no longer authenticates")
        ypt(["-k" + newKey, "-a", "generate", "-s", "9a", "-A", "ECCP256", "-o", path("9a.pem")])
    }

    func testPKCS11SignsECDSAWith9AAndOpenSSLVerifies() throws {
        ypt(["-a", "generate", "-s", "9a", "-A", "ECCP256", "-o", path("9a.pem")])
        openssl(["req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", path("ca.key"), "-subj", "/CN=test CA", "-days", "30", "-out", path("ca.crt")])
        openssl(["req", "-new", "-key", path("ca.key"), "-subj", "/CN=signer", "-out", path("req.csr")])
        openssl(["x509", "-req", "-in", path("req.csr"), "-CA", path("ca.crt"), "-CAkey", path("ca.key"),
                 "-force_pubkey", path("9a.pem"), "-days", "30", "-out", path("9a.crt")])
        ypt(["-a", "import-certificate", "-s", "9a", "-i", path("9a.crt")])
        try Data("sign me".utf8).write(to: URL(fileURLWithPath: path("msg.bin")))
        let sign = PCSCHarness.run("pkcs11-tool", ["--module", pkcs11Module, "--login", "--pin", "123456",
                                                   "--sign", "-m", "ECDSA-SHA256", "--id", "01", "--signature-format", "openssl",
                                                   "-i", path("msg.bin"), "-o", path("sig.der")])
        XCTAssertTrue(sign.succeeded, sign.stderr)
        let verify = PCSCHarness.run("openssl", ["dgst", "-sha256", "-verify", path("9a.pem"),
                                                 "-signature", path("sig.der"), path("msg.bin")])
        XCTAssertTrue(verify.stdout.contains("Verified OK"), verify.stdout + verify.stderr)
    }

    /// Why new cards default to 3DES: Debian 12's yubico-piv-tool 2.2.0 always
    /// authenticates with algorithm 03, so a card whose default key is AES-192 (as on a
    /// YubiKey 5.7) refuses it with 6A86 and every administrative action fails.
    func testYubicoPIVTool220CanOnlyUseA3DESManagementKey() throws {
        card.stop()
        let aesState = path("aes.state")
        let made = PCSCHarness.run(PCSCHarness.virtualCardExecutable.path,
                                   ["init", "--state", aesState, "--management-key-algorithm", "aes192"])
        XCTAssertTrue(made.succeeded, made.stderr)
        card = try VirtualCardProcess(statePath: aesState, port: 35963)
        let refused = ypt(["-v1", "-a", "generate", "-s", "9d", "-A", "ECCP256"], expectSuccess: false)
        XCTAssertFalse(refused.succeeded)
        XCTAssertTrue(refused.stderr.contains("00 87 03 9b"), "2.2.0 asks for 3DES: \(refused.stderr)")
        XCTAssertTrue(refused.stderr.contains("6a 86"), refused.stderr)
        ypt(["-a", "verify-pin", "-P", "123456"])  // PIN actions need no management key
    }

    func testBlockedCardStaysBlockedAcrossRestart() throws {
        for _ in 0..<3 { ypt(["-a", "verify-pin", "-P", "000000"], expectSuccess: false) }
        card.stop()
        XCTAssertEqual(card.exitStatus, 0, "SIGTERM ends the card cleanly")
        XCTAssertTrue(PCSCHarness.waitForCard(reader: card.readerName, present: false), "removed from the reader")
        card = try VirtualCardProcess(statePath: card.statePath, port: 35963)
        let status = ypt(["-a", "status"])
        XCTAssertTrue(status.stdout.contains("PIN tries left:\t0"), status.stdout)
        XCTAssertFalse(ypt(["-a", "verify-pin", "-P", "123456"], expectSuccess: false).succeeded)
        ypt(["-a", "unblock-pin", "-P", "12345678", "-N", "123456"])
        ypt(["-a", "verify-pin", "-P", "123456"])
    }

    func testPKCS11ListsThe9DKeyAndDecryptsRSAOAEP() throws {
        enrol9D("RSA2048")
        let objects = PCSCHarness.run("pkcs11-tool", ["--module", pkcs11Module, "--login", "--pin", "123456", "-O"])
        XCTAssertTrue(objects.succeeded, objects.stderr)
        XCTAssertTrue(objects.stdout.contains("Private Key Object; RSA"), objects.stdout)
        XCTAssertTrue(objects.stdout.contains("Certificate for Key Management"), objects.stdout)
        XCTAssertTrue(objects.stdout.contains("subject:    DN: CN=card-holder"), objects.stdout)

        let secret = SecureRandom.bytes(count: 32)
        try Data(secret).write(to: URL(fileURLWithPath: path("secret.bin")))
        openssl(["pkeyutl", "-encrypt", "-pubin", "-inkey", path("pub.pem"), "-pkeyopt", "rsa_padding_mode:oaep",
                 "-pkeyopt", "rsa_oaep_md:sha256", "-pkeyopt", "rsa_mgf1_md:sha256",
                 "-in", path("secret.bin"), "-out", path("ct.bin")])
        let decrypt = PCSCHarness.run("pkcs11-tool", ["--module", pkcs11Module, "--login", "--pin", "123456",
                                                      "--decrypt", "-m", "RSA-PKCS-OAEP", "--hash-algorithm", "SHA256",
                                                      "--mgf", "MGF1-SHA256", "--id", "03",
                                                      "-i", path("ct.bin"), "-o", path("pt.bin")])
        XCTAssertTrue(decrypt.succeeded, decrypt.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("pt.bin"))), Data(secret))
    }

    func testPKCS11DerivesECDHOnP256AndP384LikeOpenSSL() throws {
        for (algorithm, curve, size) in [("ECCP256", "P-256", 32), ("ECCP384", "P-384", 48)] {
            enrol9D(algorithm)
            openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:\(curve)", "-out", path("peer.key")])
            openssl(["pkey", "-in", path("peer.key"), "-pubout", "-outform", "DER", "-out", path("peer.der")])
            try? FileManager.default.removeItem(atPath: path("z-card.bin"))
            let derive = PCSCHarness.run("pkcs11-tool", ["--module", pkcs11Module, "--login", "--pin", "123456",
                                                         "--derive", "-m", "ECDH1-DERIVE", "--id", "03",
                                                         "-i", path("peer.der"), "-o", path("z-card.bin")])
            XCTAssertTrue(derive.succeeded, "\(curve): \(derive.stderr)")
            openssl(["pkeyutl", "-derive", "-inkey", path("peer.key"), "-peerkey", path("pub.pem"), "-out", path("z-openssl.bin")])
            let zCard = try Data(contentsOf: URL(fileURLWithPath: path("z-card.bin")))
            XCTAssertEqual(zCard.count, size, curve)
            XCTAssertEqual(zCard, try Data(contentsOf: URL(fileURLWithPath: path("z-openssl.bin"))), curve)
        }
    }

    func testYubicoPIVToolImportsAnOpenSSLKeyThatThenDecryptsAndDerives() throws {
        // RSA: import, certify, then OAEP through pkcs11-tool equals the plaintext.
        openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", path("rsa.key")])
        ypt(["-a", "import-key", "-s", "9d", "-i", path("rsa.key")])
        openssl(["req", "-new", "-x509", "-key", path("rsa.key"), "-subj", "/CN=imported", "-days", "3", "-out", path("rsa.crt")])
        ypt(["-a", "import-certificate", "-s", "9d", "-i", path("rsa.crt")])
        openssl(["pkey", "-in", path("rsa.key"), "-pubout", "-out", path("rsa.pub")])
        try Data("imported key secret".utf8).write(to: URL(fileURLWithPath: path("m.bin")))
        openssl(["pkeyutl", "-encrypt", "-pubin", "-inkey", path("rsa.pub"), "-pkeyopt", "rsa_padding_mode:oaep",
                 "-pkeyopt", "rsa_oaep_md:sha256", "-pkeyopt", "rsa_mgf1_md:sha256", "-in", path("m.bin"), "-out", path("c.bin")])
        let decrypt = PCSCHarness.run("pkcs11-tool", ["--module", pkcs11Module, "--login", "--pin", "123456",
                                                      "--decrypt", "-m", "RSA-PKCS-OAEP", "--hash-algorithm", "SHA256",
                                                      "--mgf", "MGF1-SHA256", "--id", "03", "-i", path("c.bin"), "-o", path("p.bin")])
        XCTAssertTrue(decrypt.succeeded, decrypt.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("p.bin"))), Data("imported key secret".utf8))

        // EC P-384: import, certify, derive; the card's Z equals OpenSSL's with the original key.
        openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", path("ec.key")])
        ypt(["-a", "import-key", "-s", "9d", "-i", path("ec.key")])
        openssl(["req", "-new", "-x509", "-key", path("ec.key"), "-subj", "/CN=imported-ec", "-days", "3", "-out", path("ec.crt")])
        ypt(["-a", "import-certificate", "-s", "9d", "-i", path("ec.crt")])
        openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", path("peer.key")])
        openssl(["pkey", "-in", path("peer.key"), "-pubout", "-outform", "DER", "-out", path("peer.der")])
        openssl(["pkey", "-in", path("peer.key"), "-pubout", "-out", path("peer.pem")])
        let derive = PCSCHarness.run("pkcs11-tool", ["--module", pkcs11Module, "--login", "--pin", "123456",
                                                     "--derive", "-m", "ECDH1-DERIVE", "--id", "03",
                                                     "-i", path("peer.der"), "-o", path("z-card.bin")])
        XCTAssertTrue(derive.succeeded, derive.stderr)
        openssl(["pkeyutl", "-derive", "-inkey", path("ec.key"), "-peerkey", path("peer.pem"), "-out", path("z-openssl.bin")])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("z-card.bin"))),
                       try Data(contentsOf: URL(fileURLWithPath: path("z-openssl.bin"))))
    }
}

enum ATRText {
    /// `3B 88 01 "Triad-SW" TCK` as opensc-tool prints it.
    static var expected: String {
        let bytes: [UInt8] = [0x3B, 0x88, 0x01] + Array("Triad-SW".utf8)
        let tck = bytes.dropFirst().reduce(0, ^)
        return (bytes + [tck]).map { String(format: "%02x", $0) }.joined(separator: ":")
    }
}
