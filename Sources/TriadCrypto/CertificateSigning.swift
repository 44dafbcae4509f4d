import COpenSSL
import Foundation

extension Certificate {
    /// A certificate for `publicKey` signed by `issuerKey` under `issuer`'s name.
    ///
    /// Why: a PIV card's 9D key is generated on the card and cannot sign its own
    /// certificate (9D is a key-management key, SP 800-73-4 Part 1 §3.1.4), so the
    /// enrolment ceremony has the recovery key — in memory at that moment — certify it
    /// (TriadRecovery, docs/recovery.md). Also used to issue member certificates for cards.
    public static func issue(subject: String, publicKey: PublicKey, issuer: Certificate, issuerKey: PrivateKey, days: Int,
                             keyUsage: String = "critical,keyEncipherment,keyAgreement") throws -> Certificate {
        guard issuerKey.publicKey == issuer.publicKey else { throw CryptoError.invalidKey("the issuer key is not the issuer certificate's key") }
        guard let x509 = X509_new() else { throw CryptoError.fromOpenSSL("X509_new") }
        let handle = Handle(x509)
        try check(X509_set_version(x509, 2), "certificate version")
        var serial = SecureRandom.bytes(count: 16)
        serial[0] &= 0x7f
        let bn = BN_bin2bn(serial, Int32(serial.count), nil)
        defer { BN_free(bn) }
        guard BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x509)) != nil else { throw CryptoError.fromOpenSSL("certificate serial") }
        guard X509_gmtime_adj(X509_getm_notBefore(x509), 0) != nil,
              X509_gmtime_adj(X509_getm_notAfter(x509), Int(days) * 86_400) != nil else { throw CryptoError.fromOpenSSL("certificate validity") }
        let name = try issuanceName(subject)
        defer { X509_NAME_free(name) }
        try check(X509_set_subject_name(x509, name), "certificate subject")
        let issuerCert = issuer.handle
        try check(X509_set_issuer_name(x509, X509_get_subject_name(issuerCert.pointer)), "certificate issuer")
        try check(X509_set_pubkey(x509, publicKey.handle.pointer), "certificate key")
        for (nid, value) in [(NID_basic_constraints, "critical,CA:FALSE"), (NID_key_usage, keyUsage), (NID_subject_key_identifier, "hash")] {
            var context = X509V3_CTX()
            X509V3_set_ctx(&context, issuerCert.pointer, x509, nil, nil, 0)
            guard let ext = X509V3_EXT_conf_nid(nil, &context, nid, value) else { throw CryptoError.fromOpenSSL("certificate extension \(value)") }
            defer { X509_EXTENSION_free(ext) }
            try check(X509_add_ext(x509, ext, -1), "certificate extension")
        }
        guard X509_sign(x509, issuerKey.handle.pointer, issuerKey.algorithm.signatureDigest) > 0 else { throw CryptoError.fromOpenSSL("X509_sign") }
        return try Certificate(handle: handle)
    }

    private static func issuanceName(_ subject: String) throws -> OpaquePointer {
        guard let name = X509_NAME_new() else { throw CryptoError.fromOpenSSL("X509_NAME_new") }
        for part in subject.split(separator: ",") {
            let pieces = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pieces.count == 2, !pieces[1].isEmpty else { X509_NAME_free(name); throw CryptoError.invalidCertificate("bad subject part '\(part)'") }
            guard X509_NAME_add_entry_by_txt(name, pieces[0], MBSTRING_UTF8, pieces[1], -1, -1, 0) == 1 else {
                X509_NAME_free(name); throw CryptoError.fromOpenSSL("subject attribute \(pieces[0])")
            }
        }
        return name
    }
}
