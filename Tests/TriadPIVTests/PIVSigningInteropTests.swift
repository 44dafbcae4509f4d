import Foundation
import XCTest
import TriadCrypto
import TriadPCSC
@testable import TriadPIV

/// Signing with slots 9C and 9E through real pcscd and the virtual card, both ways:
/// (a) yubico-piv-tool generates the keys and imports certificates made by stock openssl;
///     Triad signs, stock openssl verifies every signature;
/// (b) Triad generates the keys and stores the certificates; yubico-piv-tool's
///     `test-signature` and OpenSC's `pkcs11-tool --sign` sign with them, and Triad and stock
///     openssl verify what they made.
final class PIVSigningInteropTests: XCTestCase {
    static let pin = SecureBytes(Array("123456".utf8))
    static let slots: [(piv: PIVSlot, yubico: String, pkcs11ID: String)] = [(.signature, "9c", "02"), (.cardAuthentication, "9e", "04")]

    /// `openssl dgst` options for a scheme.
    static func dgst(_ scheme: SignatureScheme) -> [String] {
        switch scheme {
        case .ecdsaSHA256: return ["-sha256"]
        case .ecdsaSHA384: return ["-sha384"]
        case .rsaPSSSHA256: return ["-sha256", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32", "-sigopt", "rsa_mgf1_md:sha256"]
        case .rsaPKCS1v15SHA256: return ["-sha256", "-sigopt", "rsa_padding_mode:pkcs1"]
        }
    }

    /// Stock openssl's verdict on a signature.
    static func opensslVerifies(_ signature: [UInt8], message: [UInt8], scheme: SignatureScheme, publicKeyPEM: String, in dir: URL) throws -> Bool {
        let m = dir.appendingPathComponent("message.bin"), s = dir.appendingPathComponent("signature.bin")
        try Data(message).write(to: m)
        try Data(signature).write(to: s)
        let r = try Tool.run("openssl", ["dgst"] + dgst(scheme) + ["-verify", publicKeyPEM, "-signature", s.path, m.path])
        return r.status == 0 && String(decoding: r.stdout, as: UTF8.self).contains("Verified OK")
    }

    /// A certificate for the public key in `pub`, made by stock openssl, at `name` in `dir`.
    static func certify(_ pub: String, commonName: String, as name: String, in dir: URL) throws -> String {
        let made = try PIVClientInteropTests.certify(publicKeyPEM: pub, commonName: commonName, in: dir)
        let target = dir.appendingPathComponent(name).path
        try? FileManager.default.removeItem(atPath: target)
        try FileManager.default.moveItem(atPath: made, toPath: target)
        return target
    }

    // MARK: - (a) yubico-piv-tool provisions, Triad signs, openssl verifies

    func testKeysGeneratedByYubicoPIVToolSignThroughTriad() throws {
        var verified = 0
        for (yubicoName, algorithm) in PIVClientInteropTests.algorithms {
            let card = try PIVTestCard()
            let dir = card.directory
            let R = PIVTestCard.reader
            var publicKeys: [PIVSlot: String] = [:]
            for slot in Self.slots {
                let pub = dir.appendingPathComponent("pub-\(slot.yubico).pem").path
                try Tool.ok("yubico-piv-tool", ["-r", R, "-a", "generate", "-s", slot.yubico, "-A", yubicoName, "-o", pub])
                let cert = try Self.certify(pub, commonName: "triad-sign-a-\(slot.yubico)", as: "cert-\(slot.yubico).pem", in: dir)
                try Tool.ok("yubico-piv-tool", ["-r", R, "-a", "import-certificate", "-s", slot.yubico, "-i", cert])
                publicKeys[slot.piv] = pub
            }
            for slot in Self.slots {
                var asked: [String] = []
                let askPIN: ((String, Int?) throws -> SecureBytes)? = slot.piv == .signature
                    ? { reader, tries in asked.append("\(reader): \(tries.map(String.init) ?? "-")"); return Self.pin } : nil
                // The one reader selection, by part of the reader's name.
                let key = try PIVKeyOperations.open(reader: "pcd 00 01", slot: slot.piv, askPIN: askPIN)
                XCTAssertEqual(key.algorithm, algorithm)
                XCTAssertEqual(key.publicKey, try PublicKey(pem: String(contentsOfFile: publicKeys[slot.piv]!, encoding: .utf8)))
                for scheme in SignatureScheme.allCases where scheme.isCompatible(with: key.publicKey.algorithm) {
                    let message = Array("\(yubicoName) \(slot.yubico) \(scheme.rawValue)".utf8)
                    let signature = try key.sign(message, scheme: scheme)
                    XCTAssertTrue(try Self.opensslVerifies(signature, message: message, scheme: scheme, publicKeyPEM: publicKeys[slot.piv]!, in: dir),
                                  "openssl rejects Triad's \(scheme.rawValue) signature from slot \(slot.yubico) (\(yubicoName))")
                    verified += 1
                }
                XCTAssertEqual(asked, slot.piv == .signature ? ["\(R): 3"] : [], "9C: tries shown once, with the reader; 9E: no PIN")
            }
        }
        XCTAssertEqual(verified, 12)
    }

    /// The attack: someone with the (default) management key replaces the 9C certificate with
    /// one for a key they hold, hoping Triad signs under that certificate. Triad produces no
    /// signature at all; with the genuine certificate put back, it signs again.
    func testAReplacedCertificateYieldsNoSignature() throws {
        let card = try PIVTestCard()
        let dir = card.directory
        let R = PIVTestCard.reader
        let pub = dir.appendingPathComponent("pub-9c.pem").path
        try Tool.ok("yubico-piv-tool", ["-r", R, "-a", "generate", "-s", "9c", "-A", "ECCP256", "-o", pub])
        let genuine = try Self.certify(pub, commonName: "custodian", as: "genuine.pem", in: dir)
        let attackerKey = dir.appendingPathComponent("attacker.key").path, attackerPub = dir.appendingPathComponent("attacker.pub").path
        try Tool.ok("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", attackerKey])
        try Tool.ok("openssl", ["pkey", "-in", attackerKey, "-pubout", "-out", attackerPub])
        let forged = try Self.certify(attackerPub, commonName: "custodian", as: "forged.pem", in: dir)
        try Tool.ok("yubico-piv-tool", ["-r", R, "-a", "import-certificate", "-s", "9c", "-i", forged])

        let key = try PIVKeyOperations.open(reader: R, slot: .signature) { _, _ in Self.pin }
        XCTAssertEqual(key.publicKey, try PublicKey(pem: String(contentsOfFile: attackerPub, encoding: .utf8)))
        XCTAssertThrowsError(try key.sign(Array("act 1 head".utf8))) { XCTAssertEqual($0 as? PIVError, .invalidSignature(slot: 0x9C)) }

        try Tool.ok("yubico-piv-tool", ["-r", R, "-a", "import-certificate", "-s", "9c", "-i", genuine])
        let restored = try PIVKeyOperations.open(reader: R, slot: .signature) { _, _ in Self.pin }
        let signature = try restored.sign(Array("act 1 head".utf8))
        XCTAssertTrue(try Self.opensslVerifies(signature, message: Array("act 1 head".utf8), scheme: .ecdsaSHA256, publicKeyPEM: pub, in: dir))
    }

    // MARK: - (b) Triad provisions, yubico-piv-tool and pkcs11-tool sign

    func testKeysGeneratedByTriadSignThroughYubicoPIVToolAndOpenSC() throws {
        for (yubicoName, algorithm) in PIVClientInteropTests.algorithms {
            let card = try PIVTestCard()
            let dir = card.directory
            let R = PIVTestCard.reader
            let label = "triad-sign-b-\(yubicoName)-\(UInt32.random(in: 0...UInt32.max))"
            let transport = try card.connect()
            let client = PIVClient(transport: transport)
            var certificates: [PIVSlot: (path: String, pub: String, certificate: Certificate)] = [:]
            try transport.withTransaction {
                try client.select()
                try client.authenticateManagementKey(SecureBytes(PIVIdentifiers.defaultManagementKey), algorithm: .tripleDES)
                for slot in Self.slots {
                    let pub = dir.appendingPathComponent("pub-\(slot.yubico).pem").path
                    try client.generateKeyPair(slot: slot.piv, algorithm: algorithm).pem.write(toFile: pub, atomically: true, encoding: .utf8)
                    let path = try Self.certify(pub, commonName: label, as: "cert-\(slot.yubico).pem", in: dir)
                    let certificate = try Certificate(pem: String(contentsOfFile: path, encoding: .utf8))
                    try client.writeCertificate(certificate, slot: slot.piv)
                    certificates[slot.piv] = (path, pub, certificate)
                }
            }

            // yubico-piv-tool signs with the card key and checks the signature with the certificate.
            let nine = try XCTUnwrap(certificates[.signature]), nineE = try XCTUnwrap(certificates[.cardAuthentication])
            let kind = algorithm == .rsa2048 ? "RSA" : "ECDSA"
            var out = try Tool.ok("yubico-piv-tool", ["-r", R, "-a", "verify-pin", "-P", "123456", "-a", "test-signature", "-s", "9c", "-i", nine.path])
            var r = try Tool.run("yubico-piv-tool", ["-r", R, "-a", "test-signature", "-s", "9e", "-i", nineE.path])
            XCTAssertEqual(r.status, 0, "9E test-signature without a PIN: \(r.stderr)")
            out = try Tool.ok("yubico-piv-tool", ["-r", R, "-a", "verify-pin", "-P", "123456", "-a", "test-signature", "-s", "9c", "-i", nine.path])
            _ = out
            // Without VERIFY, the 9C key refuses (PIN always), while 9E still signs.
            r = try Tool.run("yubico-piv-tool", ["-r", R, "-a", "test-signature", "-s", "9c", "-i", nine.path])
            XCTAssertNotEqual(r.status, 0, "9C signed without the PIN")
            XCTAssertTrue(r.stderr.contains("\(kind)") || r.stderr.contains("ailed"), r.stderr)

            // OpenSC's PKCS#11 module signs; Triad and openssl verify.
            let message = Array("signed by pkcs11-tool \(yubicoName)".utf8)
            let m = dir.appendingPathComponent("p11-message.bin"), s = dir.appendingPathComponent("p11.sig")
            try Data(message).write(to: m)
            let mechanisms: [(String, [String], SignatureScheme)] = algorithm == .rsa2048
                ? [("SHA256-RSA-PKCS", [], .rsaPKCS1v15SHA256),
                   ("SHA256-RSA-PKCS-PSS", ["--mgf", "MGF1-SHA256", "--salt-len", "32"], .rsaPSSSHA256)]
                : [(algorithm == .eccP256 ? "ECDSA-SHA256" : "ECDSA-SHA384", ["--signature-format", "openssl"],
                    algorithm == .eccP256 ? .ecdsaSHA256 : .ecdsaSHA384)]
            for slot in Self.slots {
                let material = try XCTUnwrap(certificates[slot.piv])
                for (mechanism, options, scheme) in mechanisms {
                    try? FileManager.default.removeItem(at: s)
                    try Tool.ok("pkcs11-tool", ["--module", PIVClientInteropTests.pkcs11Module, "--token-label", label, "--login", "--pin", "123456",
                                                "--id", slot.pkcs11ID, "--sign", "-m", mechanism] + options
                                               + ["--input-file", m.path, "--output-file", s.path])
                    let signature = try [UInt8](Data(contentsOf: s))
                    XCTAssertTrue(material.certificate.publicKey.verify(signature: signature, for: message, scheme: scheme),
                                  "Triad rejects pkcs11-tool's \(mechanism) signature from slot \(slot.yubico)")
                    XCTAssertTrue(try Self.opensslVerifies(signature, message: message, scheme: scheme, publicKeyPEM: material.pub, in: dir),
                                  "openssl rejects pkcs11-tool's \(mechanism) signature from slot \(slot.yubico)")
                    XCTAssertFalse(material.certificate.publicKey.verify(signature: signature, for: message + [0], scheme: scheme))
                }
            }

            // And Triad's own signature from the same keys, checked by openssl.
            for slot in Self.slots {
                let material = try XCTUnwrap(certificates[slot.piv])
                let key = try PIVKeyOperations(transport: try card.connect(), slot: slot.piv) { _ in Self.pin }
                let signature = try key.sign(message)
                XCTAssertTrue(try Self.opensslVerifies(signature, message: message, scheme: key.preferredScheme, publicKeyPEM: material.pub, in: dir))
            }
        }
    }
}
