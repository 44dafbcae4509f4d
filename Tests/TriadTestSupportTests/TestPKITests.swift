import Foundation
import XCTest
import TriadTestSupport

/// The certificates tests are built on, read back with stock openssl: their keys, issuers,
/// dates and extensions are what was asked for.
final class TestPKITests: XCTestCase {
    static let pki: TestPKI = try! TestPKI(directory: NSTemporaryDirectory() + "triad-pki-tests-\(getpid())")

    private func text(_ cert: String) throws -> String {
        let r = try Command("openssl", ["x509", "-in", cert, "-noout", "-text"]).run()
        XCTAssertTrue(r.succeeded, "\(r)")
        return r.out
    }

    private func date(_ cert: String, _ which: String) throws -> Date {
        let r = try Command("openssl", ["x509", "-in", cert, "-noout", "-\(which)", "-dateopt", "iso_8601"]).run()
        XCTAssertTrue(r.succeeded, "\(r)")
        let value = r.out.split(separator: "=", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate, .withSpaceBetweenDateAndTime, .withTime, .withColonSeparatorInTime]
        return try XCTUnwrap(formatter.date(from: value.replacingOccurrences(of: "Z", with: "")), value)
    }

    func testEveryAlgorithmSelfSignedTheStockWay() throws {
        for (spec, expected) in [("rsa2048", "Public-Key: (2048 bit)"), ("p256", "NIST CURVE: P-256"), ("p384", "NIST CURVE: P-384")] {
            let c = try Self.pki.make("self-\(spec)", spec)
            let t = try text(c.cert)
            XCTAssertTrue(t.contains(expected), "\(spec): \(t)")
            XCTAssertTrue(t.contains("Issuer: CN = self-\(spec), O = Test Hospital"), t)
            // The key file matches the certificate.
            let fromKey = try Command("openssl", ["pkey", "-in", c.key, "-pubout"]).run().out
            let fromCert = try Command("openssl", ["x509", "-in", c.cert, "-noout", "-pubkey"]).run().out
            XCTAssertEqual(fromKey, fromCert)
            XCTAssertTrue(String(decoding: c.keyPEM, as: UTF8.self).hasPrefix("-----BEGIN PRIVATE KEY-----"))
        }
    }

    func testIssuedCertificateVerifiesAgainstItsCA() throws {
        let ca = try Self.pki.make("issuing-ca", .p384)
        let leaf = try Self.pki.make("issued-leaf", .rsa(bits: 2048), issuer: ca)
        XCTAssertTrue(try text(leaf.cert).contains("Issuer: CN = issuing-ca"))
        let verify = try Command("openssl", ["verify", "-CAfile", ca.cert, leaf.cert]).run()
        XCTAssertTrue(verify.succeeded, "\(verify)")
        let other = try Self.pki.make("other-ca", .p256)
        XCTAssertFalse(try Command("openssl", ["verify", "-CAfile", other.cert, leaf.cert]).run().succeeded)
    }

    func testExpiredAndNotYetValid() throws {
        let ca = try Self.pki.make("dates-ca", .p256)
        let expired = try Self.pki.make("expired", .p256, issuer: ca, profile: .init(validity: .expired))
        let future = try Self.pki.make("future", .p256, profile: .init(validity: .notYetValid))
        XCTAssertLessThan(try date(expired.cert, "enddate"), Date())
        XCTAssertGreaterThan(try date(future.cert, "startdate"), Date())
        let verify = try Command("openssl", ["verify", "-CAfile", ca.cert, expired.cert]).run()
        XCTAssertFalse(verify.succeeded)
        XCTAssertTrue(verify.out.contains("expired") || verify.err.contains("expired"), "\(verify)")
        let start = Date(timeIntervalSince1970: 1_700_000_000), end = Date(timeIntervalSince1970: 1_800_000_000)
        let window = try Self.pki.make("window", .p256, profile: .init(validity: .between(start, end)))
        XCTAssertEqual(try date(window.cert, "startdate").timeIntervalSince1970, start.timeIntervalSince1970, accuracy: 1)
        XCTAssertEqual(try date(window.cert, "enddate").timeIntervalSince1970, end.timeIntervalSince1970, accuracy: 1)
    }

    func testExtensions() throws {
        let ca = try Self.pki.make("ext-ca", .p256, profile: .init(keyUsage: [.keyCertSign, .cRLSign], isCA: true, pathLength: 0))
        var t = try text(ca.cert)
        XCTAssertTrue(t.contains("CA:TRUE, pathlen:0"), t)
        XCTAssertTrue(t.contains("Certificate Sign, CRL Sign"), t)
        let leaf = try Self.pki.make("ext-leaf", .p256, issuer: ca,
                                     profile: .init(subject: "/CN=Leaf/OU=Ward 3", keyUsage: [.keyAgreement], extendedKeyUsage: ["clientAuth"], isCA: false))
        t = try text(leaf.cert)
        XCTAssertTrue(t.contains("CA:FALSE"), t)
        XCTAssertTrue(t.contains("Key Usage: critical\n                Key Agreement"), t)
        XCTAssertTrue(t.contains("TLS Web Client Authentication"), t)
        XCTAssertTrue(t.contains("Subject: CN = Leaf, OU = Ward 3"), t)
        XCTAssertTrue(try Command("openssl", ["verify", "-CAfile", ca.cert, leaf.cert]).run().succeeded)
    }

    func testCertifyingAKeyHeldElsewhere() throws {
        let ca = try Self.pki.make("card-issuer", .p256)
        let dir = try TemporaryDirectory("certify")
        XCTAssertTrue(try Command("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", dir.path("k")]).run().succeeded)
        XCTAssertTrue(try Command("openssl", ["pkey", "-in", dir.path("k"), "-pubout", "-out", dir.path("pub")]).run().succeeded)
        let cert = try Self.pki.certify(publicKey: dir.path("pub"), name: "card-key", issuer: ca)
        let fromCert = try Command("openssl", ["x509", "-in", cert, "-noout", "-pubkey"]).run().out
        XCTAssertEqual(fromCert, String(decoding: try dir.read("pub"), as: UTF8.self))
    }

    func testNamesAreCachedAndConflictsRefused() throws {
        let a = try Self.pki.make("cached", .p256)
        XCTAssertEqual(try Self.pki.make("cached", "p256"), a)
        XCTAssertThrowsError(try Self.pki.make("cached", .p384))
        XCTAssertThrowsError(try Self.pki.make("bad", "dsa1024"))
    }
}
