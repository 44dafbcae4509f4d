import Foundation
import XCTest
import TriadCrypto
@testable import TriadZone

/// Finding 8 and docs/zone.md §2a through the real `zone` binary: expired, not-yet-valid,
/// sign-only and CA certificates as member, officer and recovery certificate, made with stock
/// openssl; and that stock `openssl req -x509` certificates (CA:TRUE, no keyUsage) keep working.
final class CertificatePolicyTests: XCTestCase {
    var s: Scratch!
    var officer: (key: String, cert: String)!
    var alice: (key: String, cert: String)!
    var recovery: (key: String, cert: String)!
    var z: String { s.path("z") }

    override func setUp() {
        s = Scratch()
        officer = PKI.make("officer-p256", "p256")
        alice = PKI.make("alice-rsa2048", "rsa2048")
        recovery = PKI.make("recovery-p384", "p384")
        s.write("z/f", Array("record".utf8))
    }

    func openssl(_ args: [String], line: UInt = #line) {
        let r = shell("openssl", args)
        XCTAssertEqual(r.status, 0, "openssl \(args.joined(separator: " ")): \(r.stderr)", line: line)
    }

    /// A key and a certificate made by stock openssl: `kind` p256 or rsa2048; `ext` extra
    /// `-addext` values for `req -x509`; `days` -1 makes it expired.
    func cert(_ name: String, _ kind: String = "p256", ext: [String] = [], days: Int = 30) -> (key: String, cert: String) {
        let key = s.path(name + ".key"), crt = s.path(name + ".crt")
        openssl(kind == "p256" ? ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key]
                               : ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key])
        if days < 0 {
            openssl(["req", "-new", "-key", key, "-subj", "/CN=\(name)", "-out", key + ".csr"])
            openssl(["x509", "-req", "-in", key + ".csr", "-signkey", key, "-days", "\(days)", "-out", crt])
        } else {
            openssl(["req", "-x509", "-new", "-key", key, "-subj", "/CN=\(name)", "-days", "\(days)", "-out", crt] + ext.flatMap { ["-addext", $0] })
        }
        return (key, crt)
    }

    /// A certificate valid from 2030 only (`openssl ca -startdate`), or from `start` for a year.
    func futureCert(_ name: String, start: Date? = nil) -> (key: String, cert: String) {
        let key = s.path(name + ".key"), crt = s.path(name + ".crt"), ca = s.path("ca-" + name)
        try! FileManager.default.createDirectory(atPath: ca, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: ca + "/index.txt", contents: nil)
        try! "01\n".write(toFile: ca + "/serial", atomically: true, encoding: .utf8)
        try! """
        [ca]
        default_ca = d
        [d]
        database = \(ca)/index.txt
        new_certs_dir = \(ca)
        serial = \(ca)/serial
        default_md = sha256
        policy = p
        [p]
        commonName = supplied
        """.write(toFile: ca + "/ca.cnf", atomically: true, encoding: .utf8)
        openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key])
        openssl(["req", "-new", "-key", key, "-subj", "/CN=\(name)", "-out", key + ".csr"])
        openssl(["ca", "-batch", "-config", ca + "/ca.cnf", "-selfsign", "-keyfile", key, "-in", key + ".csr",
                 "-startdate", start.map(Self.asn1Time) ?? "20300101000000Z",
                 "-enddate", start.map { Self.asn1Time($0.addingTimeInterval(365 * 86_400)) } ?? "20310101000000Z", "-out", crt])
        return (key, crt)
    }

    /// `date` as openssl's -startdate wants it: 2027-01-01T00:05:00Z → 20270101000500Z.
    static func asn1Time(_ date: Date) -> String {
        ISO8601DateFormatter().string(from: date).filter { $0.isNumber || $0 == "Z" }
    }

    func initZone(officer o: (key: String, cert: String)? = nil, recovery r: String? = nil) -> RunResult {
        let o = o ?? officer!
        return s.zone("init", z, "--officer-cert", o.cert, "--identity", "file:" + o.key, "--recovery-cert", r ?? recovery.cert)
    }

    func assertRefused(_ r: RunResult, _ text: String, line: UInt = #line) {
        XCTAssertEqual(r.status, 1, r.stderr, line: line)
        XCTAssertTrue(r.stderr.contains(text), "expected “\(text)” in: \(r.stderr)", line: line)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "one line on stderr: \(r.stderr)", line: line)
    }

    /// Grant: expired, not yet valid, sign-only (EC without keyAgreement, RSA without
    /// keyEncipherment), keyCertSign, and a CA:TRUE certificate issued by another CA — each
    /// refused with its reason, the policy unchanged. A stock certificate is granted.
    func testGrantRefusesCertificatesThatCannotBeMembers() throws {
        XCTAssertEqual(initZone().status, 0)
        let caKey = s.path("ca.key"), caCert = s.path("ca.crt")
        openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", caKey])
        openssl(["req", "-x509", "-new", "-key", caKey, "-subj", "/CN=Hospital CA", "-days", "30", "-out", caCert])
        let sub = cert("sub-ca")
        openssl(["req", "-new", "-key", sub.key, "-subj", "/CN=sub-ca", "-out", sub.key + ".csr"])
        try "basicConstraints=critical,CA:TRUE\n".write(toFile: s.path("ca.ext"), atomically: true, encoding: .utf8)
        openssl(["x509", "-req", "-in", sub.key + ".csr", "-CA", caCert, "-CAkey", caKey, "-CAcreateserial", "-days", "30",
                 "-extfile", s.path("ca.ext"), "-out", sub.cert])
        let nextMonth = Date().addingTimeInterval(30 * 86_400)
        let cases: [((key: String, cert: String), String)] = [
            (cert("expired", days: -1), "expired on"),
            (futureCert("future"), "is not valid before 2030-01-01"),
            // Valid from next month: refused today, not only when far off.
            (futureCert("next-month", start: nextMonth), "is not valid before \(ISO8601DateFormatter().string(from: nextMonth).prefix(10))"),
            (cert("ec-sign-only", ext: ["keyUsage=critical,digitalSignature"]), "has a keyUsage extension without keyAgreement"),
            (cert("rsa-sign-only", "rsa2048", ext: ["keyUsage=critical,digitalSignature,keyAgreement"]), "without keyEncipherment"),
            (cert("cert-signer", ext: ["keyUsage=critical,keyCertSign,keyAgreement"]), "is a certificate authority's certificate (keyUsage allows keyCertSign)"),
            (sub, "is a certificate authority's certificate (CA:TRUE, issued by CN=Hospital CA)"),
        ]
        for (c, reason) in cases {
            let r = s.zone("grant", z, "--cert", c.cert, "--identity", "file:" + officer.key)
            assertRefused(r, reason)
            XCTAssertTrue(r.stderr.contains("cannot be used as member"), r.stderr)
        }
        XCTAssertEqual(try Zone.load(root: z).policy.version, 1, "nothing was granted")
        let fine = cert("stock")
        XCTAssertTrue(PKI.certificate(fine.cert).isCA && PKI.certificate(fine.cert).keyUsage == nil, "stock req -x509: CA:TRUE, no keyUsage")
        XCTAssertEqual(s.zone("grant", z, "--cert", fine.cert, "--identity", "file:" + officer.key).status, 0)
        let ok = cert("ec-agree", ext: ["keyUsage=critical,keyAgreement"])
        XCTAssertEqual(s.zone("grant", z, "--cert", ok.cert, "--identity", "file:" + officer.key).status, 0)
        XCTAssertEqual(s.zone("encrypt", z, "--identity", "file:" + ok.key).status, 0)
    }

    /// Init: an officer whose certificate cannot sign (or cannot receive the zone key, since
    /// the officer is the first member), an expired officer, and unusable recovery certificates.
    func testInitRefusesOfficerAndRecoveryCertificates() throws {
        assertRefused(initZone(officer: cert("agree-only", ext: ["keyUsage=critical,keyAgreement"])), "without digitalSignature")
        assertRefused(initZone(officer: cert("sign-only", ext: ["keyUsage=critical,digitalSignature"])), "without keyAgreement")
        assertRefused(initZone(officer: cert("old-officer", days: -1)), "expired on")
        assertRefused(initZone(recovery: cert("old-recovery", days: -1).cert), "cannot be used as recovery certificate: it expired on")
        assertRefused(initZone(recovery: cert("sign-recovery", ext: ["keyUsage=critical,digitalSignature"]).cert), "without keyAgreement")
        XCTAssertFalse(FileManager.default.fileExists(atPath: z + "/.zone"), "nothing left behind")
        // A recovery certificate may certify the recovery cards (keyCertSign), as the ceremony makes it.
        let rec = cert("rec-certsign", ext: ["keyUsage=critical,keyAgreement,keyCertSign"])
        XCTAssertEqual(initZone(recovery: rec.cert).status, 0)
        // An officer certificate that can do both works.
        try FileManager.default.removeItem(atPath: z + "/.zone")
        let both = cert("both", ext: ["keyUsage=critical,digitalSignature,keyAgreement"])
        XCTAssertEqual(initZone(officer: both).status, 0)
    }

    /// `zone recovery --add-cert` refuses an expired recovery certificate; status warns about
    /// one expiring within 120 days, in text and JSON.
    func testRecoveryCertificateExpiry() throws {
        let soon = cert("soon", days: 30)
        XCTAssertEqual(initZone(recovery: soon.cert).status, 0)
        let st = s.status("z")
        let expiring = try XCTUnwrap(st["expiring_recovery_certificates"] as? [[String: Any]])
        XCTAssertEqual(expiring.count, 1)
        XCTAssertEqual(expiring.first?["fingerprint"] as? String, PKI.certificate(soon.cert).fingerprint.hex)
        XCTAssertEqual(expiring.first?["days_left"] as? Int, 29)
        XCTAssertTrue(s.zone("status", z).out.contains("WARNING: recovery certificate"), "text status warns")
        let r = s.zone("recovery", z, "--add-cert", cert("dead", days: -1).cert, "--identity", "file:" + officer.key)
        assertRefused(r, "cannot be used as recovery certificate: it expired on")
        let later = cert("later", days: 3650)
        XCTAssertEqual(s.zone("recovery", z, "--add-cert", later.cert, "--remove-cert", soon.cert, "--force",
                              "--identity", "file:" + officer.key).status, 0)
        XCTAssertEqual((s.status("z")["expiring_recovery_certificates"] as? [Any])?.count, 0)
    }

    /// A reader checks each version's signer against the version's own time: an officer whose
    /// certificate was valid then keeps a valid history after it expires.
    func testSignerValidityIsCheckedAtSigningTime() throws {
        XCTAssertEqual(initZone().status, 0)
        let zone = try Zone.load(root: z)
        let officerCert = PKI.certificate(officer.cert)
        XCTAssertNil(HistoryWalk.signerProblem(zone.signed))
        var late = zone.policy
        late.createdAt = UInt64(officerCert.notAfter.timeIntervalSince1970) + 1
        let signed = try SignedPolicy.sign(late, officer: officerCert, key: PKI.privateKey(officer.key))
        XCTAssertEqual(HistoryWalk.signerProblem(signed), .expired(notAfter: officerCert.notAfter))
        var early = zone.policy
        early.createdAt = UInt64(officerCert.notBefore.timeIntervalSince1970) - 3600
        XCTAssertEqual(HistoryWalk.signerProblem(try SignedPolicy.sign(early, officer: officerCert, key: PKI.privateKey(officer.key))),
                       .notYetValid(notBefore: officerCert.notBefore))
    }
}
