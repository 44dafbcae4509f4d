import Foundation
import TriadCrypto
import XCTest

/// Every `SignatureScheme`, made by Triad and checked by stock `openssl`, and the other way
/// round; and the host-side RSA padding a card's raw RSA operation turns into a signature.
final class SignatureSchemeTests: XCTestCase {
    /// `openssl dgst` options for each scheme.
    static func opensslOptions(_ scheme: SignatureScheme) -> [String] {
        switch scheme {
        case .ecdsaSHA256: return ["-sha256"]
        case .ecdsaSHA384: return ["-sha384"]
        case .rsaPSSSHA256: return ["-sha256", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest",
                                    "-sigopt", "rsa_mgf1_md:sha256"]
        case .rsaPKCS1v15SHA256: return ["-sha256", "-sigopt", "rsa_padding_mode:pkcs1"]
        }
    }

    func testEverySchemeVerifiesBothWaysWithOpenSSL() throws {
        let dir = try Shell.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let message = Array("act 2 closed at head 4f1c…".utf8)
        let messageFile = dir.appendingPathComponent("message")
        try Data(message).write(to: messageFile)
        var checked = 0
        for spec in ["p256", "p384", "rsa2048"] {
            let made = try Shell.makeKey(spec, in: dir, name: "signer-\(spec)")
            let key = try PrivateKey(pem: SecureBytes(Array(try Data(contentsOf: URL(fileURLWithPath: made.key)))))
            for scheme in SignatureScheme.allCases {
                guard scheme.isCompatible(with: key.algorithm) else {
                    XCTAssertThrowsError(try key.sign(message, scheme: scheme), "\(spec) \(scheme)") {
                        guard case CryptoError.unsupportedAlgorithm = $0 else { return XCTFail("\($0)") }
                    }
                    continue
                }
                checked += 1
                let signature = try key.sign(message, scheme: scheme)
                XCTAssertTrue(key.publicKey.verify(signature: signature, for: message, scheme: scheme), "\(spec) \(scheme)")
                XCTAssertFalse(key.publicKey.verify(signature: signature, for: message + [0], scheme: scheme), "\(spec) \(scheme)")
                // Triad's signature, stock openssl's check.
                let sigFile = dir.appendingPathComponent("sig-\(spec)-\(scheme.rawValue)")
                try Data(signature).write(to: sigFile)
                let verified = try Shell.run(["openssl", "dgst"] + Self.opensslOptions(scheme)
                                             + ["-prverify", made.key, "-signature", sigFile.path, messageFile.path])
                XCTAssertTrue(String(decoding: verified, as: UTF8.self).contains("Verified OK"), "\(spec) \(scheme)")
                // Stock openssl's signature, Triad's check.
                try Shell.run(["openssl", "dgst"] + Self.opensslOptions(scheme) + ["-sign", made.key, "-out", sigFile.path, messageFile.path])
                let theirs = Array(try Data(contentsOf: sigFile))
                XCTAssertTrue(key.publicKey.verify(signature: theirs, for: message, scheme: scheme), "\(spec) \(scheme)")
                // A signature of one scheme is not one of another.
                for other in SignatureScheme.allCases where other != scheme {
                    XCTAssertFalse(key.publicKey.verify(signature: theirs, for: message, scheme: other), "\(spec) \(scheme) as \(other)")
                }
            }
        }
        XCTAssertEqual(checked, 6, "two ECDSA schemes on each curve, two RSA schemes")
    }

    /// The preferred scheme is what `sign(_:)` and `verify(signature:for:)` use.
    func testPreferredSchemeIsTheDefault() throws {
        let expected: [(KeyAlgorithm, SignatureScheme)] = [(.ecP256, .ecdsaSHA256), (.ecP384, .ecdsaSHA384), (.rsa(bits: 2048), .rsaPSSSHA256)]
        for (algorithm, scheme) in expected {
            let key = try PrivateKey.generate(algorithm)
            XCTAssertEqual(key.preferredScheme, scheme)
            let message = Array("default".utf8)
            XCTAssertTrue(key.publicKey.verify(signature: try key.sign(message), for: message, scheme: scheme), "\(algorithm)")
            XCTAssertTrue(key.publicKey.verify(signature: try key.sign(message, scheme: scheme), for: message), "\(algorithm)")
        }
    }

    /// The card path for RSA: the host pads the digest, the raw private operation (here the
    /// software key's, which tests elsewhere show equals a PIV card's) turns it into the
    /// signature. PKCS#1 v1.5 is deterministic, so it must equal OpenSSL's own signature
    /// byte for byte; PSS is randomised, so it must verify (also with stock openssl).
    func testRSASignatureBlockThroughTheRawOperationIsAValidSignature() throws {
        let dir = try Shell.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let made = try Shell.makeKey("rsa2048", in: dir, name: "raw-signer")
        let key = try PrivateKey(pem: SecureBytes(Array(try Data(contentsOf: URL(fileURLWithPath: made.key)))))
        let message = Array("terminal entry".utf8)
        try Data(message).write(to: dir.appendingPathComponent("message"))

        let pkcs1 = SignatureScheme.rsaPKCS1v15SHA256
        let block = try key.publicKey.rsaSignatureBlock(digest: pkcs1.digest(message), scheme: pkcs1)
        XCTAssertEqual(Array(block.prefix(2)), [0x00, 0x01], "EMSA-PKCS1-v1_5 starts 00 01")
        XCTAssertEqual(try key.rsaRawPrivate(block).bytes, try key.sign(message, scheme: pkcs1))

        let pss = SignatureScheme.rsaPSSSHA256
        let first = try key.publicKey.rsaSignatureBlock(digest: pss.digest(message), scheme: pss)
        let second = try key.publicKey.rsaSignatureBlock(digest: pss.digest(message), scheme: pss)
        XCTAssertNotEqual(first, second, "a fresh salt each time")
        XCTAssertEqual(first.last, 0xBC, "EMSA-PSS ends with BC (RFC 8017 §9.1.1 step 12)")
        let signature = try key.rsaRawPrivate(first).bytes
        XCTAssertTrue(key.publicKey.verify(signature: signature, for: message, scheme: pss))
        let sigFile = dir.appendingPathComponent("pss.sig")
        try Data(signature).write(to: sigFile)
        let verified = try Shell.run(["openssl", "dgst"] + Self.opensslOptions(pss)
                                     + ["-prverify", made.key, "-signature", sigFile.path, dir.appendingPathComponent("message").path])
        XCTAssertTrue(String(decoding: verified, as: UTF8.self).contains("Verified OK"))

        // Wrong inputs are refused, not padded.
        XCTAssertThrowsError(try key.publicKey.rsaSignatureBlock(digest: [UInt8](repeating: 1, count: 31), scheme: pss))
        XCTAssertThrowsError(try key.publicKey.rsaSignatureBlock(digest: pss.digest(message), scheme: .ecdsaSHA256))
        XCTAssertThrowsError(try PrivateKey.generate(.ecP256).publicKey.rsaSignatureBlock(digest: pss.digest(message), scheme: pss))
    }

    /// The digests are SHA-256 and SHA-384 as `openssl dgst` computes them.
    func testDigestsMatchOpenSSL() throws {
        let message = Array("abc".utf8)
        XCTAssertEqual(Hex.encode(SignatureScheme.ecdsaSHA256.digest(message)),
                       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(Hex.encode(SignatureScheme.ecdsaSHA384.digest(message)),
                       "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7")
        XCTAssertEqual(SignatureScheme.rsaPSSSHA256.digest(message), SignatureScheme.rsaPKCS1v15SHA256.digest(message))
    }
}
