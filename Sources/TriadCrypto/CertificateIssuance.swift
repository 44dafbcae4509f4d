internal import COpenSSL
import Foundation

extension Certificate {
    /// A self-signed certificate for `key`, e.g. the recovery certificate made in the
    /// key-generation ceremony. `subject` is `CN=…,O=…` (RFC 2253 style, no escapes).
    public static func selfSigned(subject: String, key: PrivateKey, days: Int, keyUsage: String = "critical,keyEncipherment,keyAgreement") throws -> Certificate {
        try build(subject: subject, publicKey: key.publicKey, issuer: nil, signingKey: key, days: days, keyUsage: keyUsage)
    }

    /// The one place a certificate is assembled: random 127-bit serial, validity from now,
    /// CA:FALSE, the given key usage, a subject key identifier; signed by `signingKey`.
    /// `issuer` nil means self-signed (the issuer name is the subject).
    static func build(subject: String, publicKey: PublicKey, issuer: Certificate?, signingKey: PrivateKey,
                      days: Int, keyUsage: String) throws -> Certificate {
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
        let name = try buildName(subject)
        defer { X509_NAME_free(name) }
        try check(X509_set_subject_name(x509, name), "certificate subject")
        let issuerX509 = issuer?.handle.pointer ?? x509
        try check(X509_set_issuer_name(x509, issuer.map { X509_get_subject_name($0.handle.pointer) } ?? name), "certificate issuer")
        try check(X509_set_pubkey(x509, publicKey.handle.pointer), "certificate key")
        for (nid, value) in [(NID_basic_constraints, "critical,CA:FALSE"), (NID_key_usage, keyUsage), (NID_subject_key_identifier, "hash")] {
            var context = X509V3_CTX()
            X509V3_set_ctx(&context, issuerX509, x509, nil, nil, 0)
            guard let ext = X509V3_EXT_conf_nid(nil, &context, nid, value) else { throw CryptoError.fromOpenSSL("certificate extension \(value)") }
            defer { X509_EXTENSION_free(ext) }
            try check(X509_add_ext(x509, ext, -1), "certificate extension")
        }
        guard X509_sign(x509, signingKey.handle.pointer, signingKey.algorithm.signatureDigest) > 0 else { throw CryptoError.fromOpenSSL("X509_sign") }
        return try Certificate(handle: handle)
    }

    /// A PKCS#10 request (PEM) for the organisation's CA, as an alternative to self-signing.
    public static func signingRequestPEM(subject: String, key: PrivateKey) throws -> String {
        guard let request = X509_REQ_new() else { throw CryptoError.fromOpenSSL("X509_REQ_new") }
        defer { X509_REQ_free(request) }
        let name = try buildName(subject)
        defer { X509_NAME_free(name) }
        try check(X509_REQ_set_subject_name(request, name), "request subject")
        try check(X509_REQ_set_pubkey(request, key.handle.pointer), "request key")
        guard X509_REQ_sign(request, key.handle.pointer, key.algorithm.signatureDigest) > 0 else { throw CryptoError.fromOpenSSL("X509_REQ_sign") }
        let bio = try MemoryBIO()
        try check(PEM_write_bio_X509_REQ(bio.pointer, request), "PEM_write_bio_X509_REQ")
        return String(decoding: bio.contents, as: UTF8.self)
    }

    static func buildName(_ subject: String) throws -> OpaquePointer {
        guard let name = X509_NAME_new() else { throw CryptoError.fromOpenSSL("X509_NAME_new") }
        for part in subject.split(separator: ",") {
            let pieces = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pieces.count == 2, !pieces[1].isEmpty else { X509_NAME_free(name); throw CryptoError.invalidCertificate(problem: "bad subject part '\(part)'") }
            guard X509_NAME_add_entry_by_txt(name, pieces[0], MBSTRING_UTF8, pieces[1], -1, -1, 0) == 1 else {
                X509_NAME_free(name); throw CryptoError.fromOpenSSL("subject attribute \(pieces[0])")
            }
        }
        return name
    }
}

/// Path validation (RFC 5280 §6, OpenSSL's `X509_verify_cert`) against trust anchors that
/// come from outside the zone folder (docs/zone.md §3: the organisation's trust file).
public enum CertificateChain {
    /// Succeeds when `leaf` chains to one of `anchors` (an anchor may be the leaf itself,
    /// i.e. a pinned officer certificate) through `intermediates`, valid at `date`.
    public static func verify(_ leaf: Certificate, anchors: [Certificate], intermediates: [Certificate] = [], at date: Date = Date()) throws {
        guard let store = X509_STORE_new() else { throw CryptoError.fromOpenSSL("X509_STORE_new") }
        defer { X509_STORE_free(store) }
        for anchor in anchors { _ = X509_STORE_add_cert(store, anchor.handle.pointer) }
        triad_ERR_clear()
        guard let untrusted = triad_sk_X509_new_null() else { throw CryptoError.fromOpenSSL("sk_X509_new_null") }
        defer { triad_sk_X509_free(untrusted) }
        for cert in intermediates { _ = triad_sk_X509_push(untrusted, cert.handle.pointer) }
        guard let context = X509_STORE_CTX_new() else { throw CryptoError.fromOpenSSL("X509_STORE_CTX_new") }
        defer { X509_STORE_CTX_free(context) }
        try check(X509_STORE_CTX_init(context, store, leaf.handle.pointer, untrusted), "X509_STORE_CTX_init")
        // PARTIAL_CHAIN: an anchor need not be a self-signed root, so a trust file may list
        // officer certificates themselves.
        X509_STORE_CTX_set_flags(context, UInt(X509_V_FLAG_PARTIAL_CHAIN) | UInt(X509_V_FLAG_USE_CHECK_TIME))
        X509_STORE_CTX_set_time(context, 0, time_t(date.timeIntervalSince1970))
        if X509_verify_cert(context) != 1 {
            let code = X509_STORE_CTX_get_error(context)
            triad_ERR_clear()
            throw CryptoError.chainVerificationFailed(problem: String(cString: X509_verify_cert_error_string(Int(code))))
        }
    }
}
