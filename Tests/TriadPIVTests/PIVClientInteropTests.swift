import Foundation
import XCTest
import TriadCrypto
import TriadPCSC
@testable import TriadPIV

/// Interoperability through real pcscd and the virtual card, both directions separately:
/// (a) a card provisioned by yubico-piv-tool + openssl is used by Triad's client;
/// (b) a card provisioned by Triad's client is used by yubico-piv-tool and OpenSC's pkcs11-tool.
/// Every key result is compared with what OpenSSL computes from the public key.
final class PIVClientInteropTests: XCTestCase {
    static let pkcs11Module = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"
    static let defaultPIN = SecureBytes(Array("123456".utf8))

    /// yubico-piv-tool algorithm names and ours.
    static let algorithms: [(yubico: String, piv: PIVAlgorithm)] = [("ECCP256", .eccP256), ("ECCP384", .eccP384), ("RSA2048", .rsa2048)]

    // MARK: - (a) yubico-piv-tool provisions, Triad uses

    func testCardProvisionedByYubicoPIVToolWorksWithTriad() throws {
        for (yubicoName, algorithm) in Self.algorithms {
            let card = try PIVTestCard()
            let dir = card.directory
            let pub = dir.appendingPathComponent("pub.pem").path
            let R = PIVTestCard.reader
            try Tool.ok("yubico-piv-tool", ["-r", R, "-a", "generate", "-s", "9d", "-A", yubicoName, "-o", pub])
            let cert = try Self.certify(publicKeyPEM: pub, commonName: "triad-a-\(yubicoName)", in: dir)
            try Tool.ok("yubico-piv-tool", ["-r", R, "-a", "import-certificate", "-s", "9d", "-i", cert])

            var asked: [Int?] = []
            let ops = try PIVKeyOperations(transport: try card.connect()) { tries in asked.append(tries); return Self.defaultPIN }
            XCTAssertEqual(ops.algorithm, algorithm)
            XCTAssertEqual(ops.publicKey, try PublicKey(pem: String(contentsOfFile: pub, encoding: .utf8)))
            try Self.checkKeyOperations(ops, publicKeyPEM: pub, in: dir)
            XCTAssertEqual(asked, [3], "the PIN is asked once per run, after showing the tries left")
        }
    }

    // MARK: - (b) Triad provisions, yubico-piv-tool and pkcs11-tool use

    func testCardProvisionedByTriadWorksWithYubicoPIVToolAndOpenSC() throws {
        for (yubicoName, algorithm) in Self.algorithms {
            let card = try PIVTestCard()
            let dir = card.directory
            let R = PIVTestCard.reader
            let label = "triad-b-\(yubicoName)-\(UInt32.random(in: 0...UInt32.max))"
            let newManagementKey = SecureBytes(SecureRandom.bytes(count: 24))
            let transport = try card.connect()
            let client = PIVClient(transport: transport)
            let pub = dir.appendingPathComponent("pub.pem").path
            let certificate: Certificate = try transport.withTransaction {
                try client.select()
                try client.authenticateManagementKey(SecureBytes(PIVIdentifiers.defaultManagementKey), algorithm: .tripleDES)
                let key = try client.generateKeyPair(slot: .keyManagement, algorithm: algorithm)
                try key.pem.write(toFile: pub, atomically: true, encoding: .utf8)
                let certificate = try Certificate(pem: String(contentsOfFile: Self.certify(publicKeyPEM: pub, commonName: label, in: dir), encoding: .utf8))
                try client.writeCertificate(certificate)
                try client.changePIN(old: Self.defaultPIN, new: SecureBytes(Array("654321".utf8)))
                try client.changePUK(old: SecureBytes(Array("12345678".utf8)), new: SecureBytes(Array("87654321".utf8)))
                try client.setManagementKey(newManagementKey, algorithm: .tripleDES)
                XCTAssertEqual(try client.readCertificate(), certificate)
                return certificate
            }
            XCTAssertEqual(certificate.publicKey.algorithm, ops(algorithm))

            // yubico-piv-tool: the new PIN, the certificate, the new management key.
            try Tool.ok("yubico-piv-tool", ["-r", R, "-a", "verify-pin", "-P", "654321"])
            XCTAssertNotEqual(try Tool.run("yubico-piv-tool", ["-r", R, "-a", "verify-pin", "-P", "123456"]).status, 0, "the old PIN still works")
            let read = try Tool.ok("yubico-piv-tool", ["-r", R, "-a", "read-certificate", "-s", "9d"])
            XCTAssertEqual(try Certificate(pem: String(decoding: read, as: UTF8.self)), certificate)
            try Tool.ok("yubico-piv-tool", ["-r", R, "--key=" + Hex.encode(newManagementKey.bytes), "-a", "set-chuid"])
            XCTAssertNotEqual(try Tool.run("yubico-piv-tool", ["-r", R, "-a", "set-chuid"]).status, 0, "the default management key still works")
            // The PUK changed: unblocking with the new one works (and sets the PIN back).
            try Tool.ok("yubico-piv-tool", ["-r", R, "-a", "unblock-pin", "-P", "87654321", "-N", "654321"])

            // OpenSC pkcs11-tool with the card key, compared with OpenSSL.
            let p11 = ["--module", Self.pkcs11Module, "--token-label", label, "--login", "--pin", "654321", "--id", "03"]
            if algorithm == .rsa2048 {
                let (message, ciphertext) = try Self.rawRSAEncrypt(publicKeyPEM: pub, in: dir)
                let out = dir.appendingPathComponent("p11.out").path
                try Tool.ok("pkcs11-tool", p11 + ["--decrypt", "-m", "RSA-X-509", "--input-file", ciphertext, "--output-file", out])
                let decrypted = try [UInt8](Data(contentsOf: URL(fileURLWithPath: out)))
                XCTAssertEqual(Array(decrypted.drop(while: { $0 == 0 })), Array(message.drop(while: { $0 == 0 })), "pkcs11-tool RSA-X-509 differs from OpenSSL")
            } else {
                let (peerDER, z) = try Self.opensslECDH(publicKeyPEM: pub, curve: algorithm == .eccP256 ? "P-256" : "P-384", in: dir)
                let out = dir.appendingPathComponent("p11.out").path
                try Tool.ok("pkcs11-tool", p11 + ["--derive", "-m", "ECDH1-DERIVE", "--input-file", peerDER, "--output-file", out])
                XCTAssertEqual(try [UInt8](Data(contentsOf: URL(fileURLWithPath: out))), z, "pkcs11-tool ECDH differs from OpenSSL")
            }
        }
    }

    func ops(_ a: PIVAlgorithm) -> KeyAlgorithm {
        switch a {
        case .rsa2048: return .rsa(bits: 2048)
        case .eccP256: return .ecP256
        case .eccP384: return .ecP384
        }
    }

    // MARK: - Shared checks

    /// ECDH / raw RSA through the card equal OpenSSL's, and the one wrap primitive opens.
    static func checkKeyOperations(_ ops: PIVKeyOperations, publicKeyPEM pub: String, in dir: URL) throws {
        switch ops.algorithm {
        case .rsa2048:
            let (message, ciphertext) = try rawRSAEncrypt(publicKeyPEM: pub, in: dir)
            let result = try ops.rsaRawPrivate([UInt8](Data(contentsOf: URL(fileURLWithPath: ciphertext))))
            XCTAssertEqual(result.bytes, message, "card RSA differs from OpenSSL")
        case .eccP256, .eccP384:
            let (peerDER, z) = try opensslECDH(publicKeyPEM: pub, curve: ops.algorithm == .eccP256 ? "P-256" : "P-384", in: dir)
            let peer = try PublicKey(spkiDER: [UInt8](Data(contentsOf: URL(fileURLWithPath: peerDER))))
            XCTAssertEqual(try ops.ecdh(with: peer).bytes, z, "card ECDH differs from OpenSSL")
        }
        let fileKey = SecureBytes.random(count: 32)
        let wrapped = try PublicKeyWrap.wrap(fileKey, to: ops.publicKey, label: Array("triad-test".utf8))
        XCTAssertTrue(try PublicKeyWrap.unwrap(wrapped, with: ops, label: Array("triad-test".utf8)) == fileKey)
    }

    /// A certificate for `publicKeyPEM`, signed by a throwaway key with stock openssl.
    static func certify(publicKeyPEM pub: String, commonName: String, in dir: URL) throws -> String {
        let ca = dir.appendingPathComponent("ca.key").path, csr = dir.appendingPathComponent("ca.csr").path
        let out = dir.appendingPathComponent("card.crt").path
        try Tool.ok("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", ca])
        try Tool.ok("openssl", ["req", "-new", "-key", ca, "-subj", "/CN=\(commonName)", "-out", csr])
        try Tool.ok("openssl", ["x509", "-req", "-in", csr, "-signkey", ca, "-force_pubkey", pub, "-days", "30", "-out", out])
        return out
    }

    /// OpenSSL's ECDH between a fresh key and the card's public key; returns the fresh
    /// public key (DER SPKI file) and Z.
    static func opensslECDH(publicKeyPEM pub: String, curve: String, in dir: URL) throws -> (String, [UInt8]) {
        let key = dir.appendingPathComponent("peer.key").path, der = dir.appendingPathComponent("peer.der").path
        let z = dir.appendingPathComponent("z.bin").path
        try Tool.ok("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:\(curve)", "-out", key])
        try Tool.ok("openssl", ["pkey", "-in", key, "-pubout", "-outform", "DER", "-out", der])
        try Tool.ok("openssl", ["pkeyutl", "-derive", "-inkey", key, "-peerkey", pub, "-out", z])
        return (der, try [UInt8](Data(contentsOf: URL(fileURLWithPath: z))))
    }

    /// A random 256-byte block below the modulus, raw-RSA-encrypted by OpenSSL.
    static func rawRSAEncrypt(publicKeyPEM pub: String, in dir: URL) throws -> ([UInt8], String) {
        let message: [UInt8] = [0x00, 0x02] + SecureRandom.bytes(count: 254)
        let m = dir.appendingPathComponent("m.bin"), c = dir.appendingPathComponent("c.bin").path
        try Data(message).write(to: m)
        try Tool.ok("openssl", ["pkeyutl", "-encrypt", "-pubin", "-inkey", pub, "-pkeyopt", "rsa_padding_mode:none", "-in", m.path, "-out", c])
        return (message, c)
    }
}
