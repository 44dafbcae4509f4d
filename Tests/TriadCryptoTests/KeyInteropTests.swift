import Foundation
import TriadCrypto
import XCTest

/// Keys and certificates made by stock `openssl`, and results checked against `openssl`.
final class KeyInteropTests: XCTestCase {
    static let specs = ["p256", "p384", "rsa2048", "rsa3072"]

    func testWrapRoundTripForEveryKeyTypeAndLabelBinding() throws {
        let dir = try Shell.temporaryDirectory()
        for spec in Self.specs {
            let made = try Shell.makeKey(spec, in: dir, name: spec)
            let key = try PrivateKey(pem: SecureBytes(Array(try Data(contentsOf: URL(fileURLWithPath: made.key)))))
            let cert = try Certificate(pem: String(contentsOfFile: made.cert, encoding: .utf8))
            XCTAssertEqual(cert.publicKey, key.publicKey, spec)
            let secret = SecureBytes.random(count: 32)
            let body = try PublicKeyWrap.wrap(secret, to: cert.publicKey, label: Array("file-1".utf8))
            XCTAssertEqual(try PublicKeyWrap.unwrap(body, with: key, label: Array("file-1".utf8)), secret, spec)
            // A wrap is bound to its label: moved elsewhere it does not open.
            XCTAssertThrowsError(try PublicKeyWrap.unwrap(body, with: key, label: Array("file-2".utf8)), spec) {
                XCTAssertEqual($0 as? CryptoError, .unwrapFailed)
            }
            // Every byte of the body, flipped (bit 0x01) on its own, is detected.
            for index in 0..<body.count {
                var tampered = body
                tampered[index] ^= 0x01
                XCTAssertThrowsError(try PublicKeyWrap.unwrap(tampered, with: key, label: Array("file-1".utf8)), "\(spec) byte \(index)")
            }
            // Another key of the same type cannot open it.
            let other = try PrivateKey.generate(key.algorithm)
            XCTAssertThrowsError(try PublicKeyWrap.unwrap(body, with: other, label: Array("file-1".utf8)), spec)
        }
    }

    /// `PublicKey` builds a named-curve SPKI itself (RFC 5480 prefix + point) instead of
    /// asking OpenSSL's encoder; it must be byte for byte what `openssl pkey` writes, for keys
    /// read from PEM, from certificates, from raw points and for generated ones. A key whose
    /// point arrives compressed takes OpenSSL's own encoder and still matches.
    func testSubjectPublicKeyInfoEqualsOpenSSLsDER() throws {
        let dir = try Shell.temporaryDirectory()
        for spec in Self.specs {
            let made = try Shell.makeKey(spec, in: dir, name: "spki-\(spec)")
            let expected = try Shell.run(["openssl", "pkey", "-in", made.key, "-pubout", "-outform", "DER"])
            let key = try PrivateKey(pem: SecureBytes(Array(try Data(contentsOf: URL(fileURLWithPath: made.key)))))
            let cert = try Certificate(pem: String(contentsOfFile: made.cert, encoding: .utf8))
            XCTAssertEqual(key.publicKey.spkiDER, expected, spec)
            XCTAssertEqual(cert.publicKey.spkiDER, expected, spec)
            XCTAssertEqual(try PublicKey(spkiDER: expected).spkiDER, expected, spec)
            if key.algorithm.isEC {
                let point = try XCTUnwrap(key.publicKey.ecPoint, "\(spec): an EC key has a point")
                XCTAssertEqual(try PublicKey(ecPoint: point, curve: key.algorithm).spkiDER, expected, spec)
            } else {
                XCTAssertNil(key.publicKey.ecPoint, spec)
            }
        }
        for algorithm in [KeyAlgorithm.ecP256, .ecP384] {
            let generated = try PrivateKey.generate(algorithm)
            let pem = dir.appendingPathComponent("generated.pem")
            try Data(generated.publicKey.pem.utf8).write(to: pem)
            let der = try Shell.run(["openssl", "pkey", "-pubin", "-in", pem.path, "-outform", "DER"])
            XCTAssertEqual(generated.publicKey.spkiDER, der, "\(algorithm)")
        }
        let compressed = dir.appendingPathComponent("compressed.der")
        let made = try Shell.makeKey("p256", in: dir, name: "compressed")
        try Shell.run(["openssl", "ec", "-in", made.key, "-pubout", "-conv_form", "compressed", "-outform", "DER", "-out", compressed.path])
        let der = Array(try Data(contentsOf: compressed))
        XCTAssertEqual(der.count, 59, "a compressed P-256 SPKI is 59 bytes")
        XCTAssertEqual(try PublicKey(spkiDER: der).spkiDER, der)
    }

    /// ECDH does not re-validate its peer (PrivateKey.ecdh) because no off-curve EC
    /// `PublicKey` can exist: the DER/PEM decoder and `PublicKey(ecPoint:curve:)` refuse one.
    /// Every change of the last coordinate byte that leaves the curve must be refused both ways.
    func testOffCurvePointsAreRefusedWhereverAKeyIsMade() throws {
        for algorithm in [KeyAlgorithm.ecP256, .ecP384] {
            let good = try PrivateKey.generate(algorithm).publicKey
            let point = try XCTUnwrap(good.ecPoint)
            for delta in UInt8(1)...8 {
                var bad = point
                bad[bad.count - 1] &+= delta
                XCTAssertThrowsError(try PublicKey(ecPoint: bad, curve: algorithm), "\(algorithm) +\(delta) from a point")
                var der = good.spkiDER
                der[der.count - 1] &+= delta
                XCTAssertThrowsError(try PublicKey(spkiDER: der), "\(algorithm) +\(delta) from DER")
                XCTAssertThrowsError(try PublicKey(pem: "-----BEGIN PUBLIC KEY-----\n\(Data(der).base64EncodedString(options: .lineLength64Characters))\n-----END PUBLIC KEY-----\n"),
                                     "\(algorithm) +\(delta) from PEM")
            }
        }
    }

    func testRSAOAEPWrapOpensWithStockOpenSSL() throws {
        let dir = try Shell.temporaryDirectory()
        let made = try Shell.makeKey("rsa3072", in: dir, name: "recovery")
        let cert = try Certificate(pem: String(contentsOfFile: made.cert, encoding: .utf8))
        let secret = SecureBytes.random(count: 32)
        let label = Array("triad test label".utf8)
        let body = try PublicKeyWrap.wrap(secret, to: cert.publicKey, label: label)
        let input = dir.appendingPathComponent("wrapped.bin")
        try Data(body).write(to: input)
        let out = try Shell.run(["openssl", "pkeyutl", "-decrypt", "-inkey", made.key, "-in", input.path,
                                 "-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:sha256",
                                 "-pkeyopt", "rsa_mgf1_md:sha256", "-pkeyopt", "rsa_oaep_label:\(Hex.encode(label))"])
        XCTAssertEqual(out, secret.bytes)
    }

    func testECDHMatchesOpenSSLDerive() throws {
        let dir = try Shell.temporaryDirectory()
        for spec in ["p256", "p384"] {
            let mine = try Shell.makeKey(spec, in: dir, name: "mine-\(spec)")
            let peer = try Shell.makeKey(spec, in: dir, name: "peer-\(spec)")
            let peerPub = dir.appendingPathComponent("peer-\(spec).pub").path
            try Shell.run(["openssl", "pkey", "-in", peer.key, "-pubout", "-out", peerPub])
            let expected = try Shell.run(["openssl", "pkeyutl", "-derive", "-inkey", mine.key, "-peerkey", peerPub])
            let key = try PrivateKey(pem: SecureBytes(Array(try Data(contentsOf: URL(fileURLWithPath: mine.key)))))
            let peerKey = try PublicKey(pem: String(contentsOfFile: peerPub, encoding: .utf8))
            XCTAssertEqual(try key.ecdh(with: peerKey).bytes, expected, spec)
            // Raw point round trip, as a PIV card hands it over (tag 86).
            let point = try XCTUnwrap(peerKey.ecPoint)
            XCTAssertEqual(try PublicKey(ecPoint: point, curve: peerKey.algorithm), peerKey)
            var offCurve = point; offCurve[point.count - 1] ^= 1
            XCTAssertThrowsError(try PublicKey(ecPoint: offCurve, curve: peerKey.algorithm), "a point off the curve is refused")
        }
    }

    func testRawRSAMatchesOpenSSLNoPadding() throws {
        let dir = try Shell.temporaryDirectory()
        let made = try Shell.makeKey("rsa2048", in: dir, name: "raw")
        let key = try PrivateKey(pem: SecureBytes(Array(try Data(contentsOf: URL(fileURLWithPath: made.key)))))
        var block = SecureRandom.bytes(count: 256); block[0] = 0
        let input = dir.appendingPathComponent("block.bin")
        try Data(block).write(to: input)
        let expected = try Shell.run(["openssl", "pkeyutl", "-decrypt", "-inkey", made.key, "-in", input.path, "-pkeyopt", "rsa_padding_mode:none"])
        XCTAssertEqual(try key.rsaRawPrivate(block).bytes, expected)
        let modulus = try XCTUnwrap(key.publicKey.rsaModulus), exponent = try XCTUnwrap(key.publicKey.rsaExponent)
        XCTAssertEqual(modulus.count, 256)
        XCTAssertEqual(try PublicKey(rsaModulus: modulus, exponent: exponent), key.publicKey)
    }

    func testSignaturesVerifyBothWaysWithOpenSSL() throws {
        let dir = try Shell.temporaryDirectory()
        let message = Array("policy version 7".utf8)
        let messageFile = dir.appendingPathComponent("message")
        try Data(message).write(to: messageFile)
        for spec in Self.specs {
            let made = try Shell.makeKey(spec, in: dir, name: "signer-\(spec)")
            let key = try PrivateKey(pem: SecureBytes(Array(try Data(contentsOf: URL(fileURLWithPath: made.key)))))
            let signature = try key.sign(message)
            XCTAssertTrue(key.publicKey.verify(signature: signature, for: message), spec)
            XCTAssertFalse(key.publicKey.verify(signature: signature, for: message + [0]), spec)
            let sigFile = dir.appendingPathComponent("sig-\(spec)")
            try Data(signature).write(to: sigFile)
            let digest = spec == "p384" ? "-sha384" : "-sha256"
            var verifyArgs = ["openssl", "dgst", digest, "-prverify", made.key, "-signature", sigFile.path]
            if spec.hasPrefix("rsa") { verifyArgs += ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest"] }
            let verified = try Shell.run(verifyArgs + [messageFile.path])
            XCTAssertTrue(String(decoding: verified, as: UTF8.self).contains("Verified OK"), spec)
            var signArgs = ["openssl", "dgst", digest, "-sign", made.key, "-out", sigFile.path]
            if spec.hasPrefix("rsa") { signArgs += ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest"] }
            try Shell.run(signArgs + [messageFile.path])
            XCTAssertTrue(key.publicKey.verify(signature: Array(try Data(contentsOf: sigFile)), for: message), spec)
        }
    }

    func testCertificatesFingerprintsAndChains() throws {
        let dir = try Shell.temporaryDirectory()
        let ca = try Shell.makeKey("p256", in: dir, name: "ca")
        let officerKey = dir.appendingPathComponent("officer.key").path
        let officerCert = dir.appendingPathComponent("officer.crt").path
        try Shell.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", officerKey])
        let csr = try Shell.run(["openssl", "req", "-new", "-key", officerKey, "-subj", "/CN=officer"])
        try Shell.run(["openssl", "x509", "-req", "-CA", ca.cert, "-CAkey", ca.key, "-days", "10", "-out", officerCert], stdin: csr)
        let caCert = try Certificate(pem: String(contentsOfFile: ca.cert, encoding: .utf8))
        let officer = try Certificate(pem: String(contentsOfFile: officerCert, encoding: .utf8))
        let expected = String(decoding: try Shell.run(["openssl", "x509", "-in", officerCert, "-noout", "-fingerprint", "-sha256"]), as: UTF8.self)
            .split(separator: "=").last!.replacingOccurrences(of: ":", with: "").trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        XCTAssertEqual(Hex.encode(officer.fingerprint), expected)
        XCTAssertEqual(officer.commonName, "officer")
        XCTAssertTrue(officer.isSigned(by: caCert.publicKey))
        XCTAssertTrue(officer.isValid())
        XCTAssertNoThrow(try CertificateChain.verify(officer, anchors: [caCert]))
        XCTAssertNoThrow(try CertificateChain.verify(officer, anchors: [officer]), "a pinned leaf is its own anchor")
        let stranger = try Shell.makeKey("p256", in: dir, name: "stranger")
        let strangerCert = try Certificate(pem: String(contentsOfFile: stranger.cert, encoding: .utf8))
        XCTAssertThrowsError(try CertificateChain.verify(officer, anchors: [strangerCert]))
        XCTAssertThrowsError(try CertificateChain.verify(officer, anchors: [caCert], at: Date().addingTimeInterval(86_400 * 30)), "expired")
        XCTAssertEqual(try Certificate.all(pem: caCert.pem + officer.pem), [caCert, officer])
    }

    func testGeneratedKeysSelfSignedCertificatesAndPKCS8() throws {
        for algorithm in [KeyAlgorithm.ecP256, .ecP384, .rsa(bits: 3072)] {
            let key = try PrivateKey.generate(algorithm)
            let cert = try Certificate.selfSigned(subject: "CN=Triad recovery,O=Test Hospital", key: key, days: 3650)
            XCTAssertEqual(cert.publicKey, key.publicKey)
            XCTAssertTrue(cert.isSigned(by: key.publicKey))
            XCTAssertEqual(cert.commonName, "Triad recovery")
            let reloaded = try PrivateKey(pkcs8DER: key.pkcs8DER())
            XCTAssertEqual(reloaded.publicKey, key.publicKey)
            let fromPEM = try PrivateKey(pem: key.pkcs8PEM())
            XCTAssertEqual(fromPEM.publicKey, key.publicKey)
            let dir = try Shell.temporaryDirectory()
            let certFile = dir.appendingPathComponent("c.pem")
            try cert.pem.write(to: certFile, atomically: true, encoding: .utf8)
            let text = String(decoding: try Shell.run(["openssl", "x509", "-in", certFile.path, "-noout", "-subject"]), as: UTF8.self)
            XCTAssertTrue(text.contains("Triad recovery"), text)
            let csr = try Certificate.signingRequestPEM(subject: "CN=Triad recovery", key: key)
            let verified = try Shell.run(["openssl", "req", "-verify", "-noout"], stdin: Array(csr.utf8))
            _ = verified
        }
    }

    func testEncryptedPEMNeedsThePassphrase() throws {
        let dir = try Shell.temporaryDirectory()
        let plain = try Shell.makeKey("p256", in: dir, name: "plain")
        let encrypted = dir.appendingPathComponent("enc.key").path
        let passFile = dir.appendingPathComponent("pass")
        try "correct horse".write(to: passFile, atomically: true, encoding: .utf8)
        try Shell.run(["openssl", "pkcs8", "-topk8", "-in", plain.key, "-out", encrypted, "-passout", "file:\(passFile.path)"])
        let pem = SecureBytes(Array(try Data(contentsOf: URL(fileURLWithPath: encrypted))))
        XCTAssertThrowsError(try PrivateKey(pem: pem, passphrase: SecureBytes(Array("wrong".utf8)))) { XCTAssertEqual($0 as? CryptoError, .wrongPassphrase) }
        let key = try PrivateKey(pem: pem, passphrase: SecureBytes(Array("correct horse".utf8)))
        let original = try PrivateKey(pem: SecureBytes(Array(try Data(contentsOf: URL(fileURLWithPath: plain.key)))))
        XCTAssertEqual(key.publicKey, original.publicKey)
    }
}
