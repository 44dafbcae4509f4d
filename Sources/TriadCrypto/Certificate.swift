internal import COpenSSL
import Foundation

/// An X.509 certificate (RFC 5280). Triad names certificates by the SHA-256 of their DER
/// (`fingerprint`), as `openssl x509 -fingerprint -sha256` shows it.
public struct Certificate: @unchecked Sendable, Equatable, Hashable {
    final class Handle {
        let pointer: OpaquePointer
        init(_ pointer: OpaquePointer) { self.pointer = pointer }
        deinit { X509_free(pointer) }
    }

    let handle: Handle
    /// The certificate's DER bytes; equality and the fingerprint are over exactly these.
    public let der: [UInt8]
    /// The subject public key, parsed once.
    public let publicKey: PublicKey

    /// Parses a DER X.509 certificate (RFC 5280); trailing bytes are refused.
    public init(der: [UInt8]) throws {
        let x509: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_X509(nil, &cursor, der.count)
        }
        guard let x509 else { throw CryptoError.invalidCertificate(problem: "not DER X.509: \(CryptoError.fromOpenSSL("d2i_X509"))") }
        try self.init(handle: Handle(x509))
    }

    /// The first certificate of a PEM text.
    public init(pem: String) throws {
        guard let first = try Certificate.all(pem: pem).first else { throw CryptoError.invalidPEM(problem: "no CERTIFICATE block") }
        self = first
    }

    init(handle: Handle) throws {
        self.handle = handle
        let length = i2d_X509(handle.pointer, nil)
        guard length > 0 else { throw CryptoError.fromOpenSSL("i2d_X509") }
        var der = [UInt8](repeating: 0, count: Int(length))
        der.withUnsafeMutableBufferPointer { buffer in
            var cursor: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            _ = i2d_X509(handle.pointer, &cursor)
        }
        self.der = der
        guard let pkey = X509_get_pubkey(handle.pointer) else { throw CryptoError.invalidCertificate(problem: "no public key") }
        publicKey = try PublicKey(handle: KeyHandle(pkey))
    }

    /// Every certificate of a PEM text (a trust file or a chain), in order.
    public static func all(pem: String) throws -> [Certificate] {
        let bio = try MemoryBIO(bytes: Array(pem.utf8))
        var result: [Certificate] = []
        while let x509 = PEM_read_bio_X509(bio.pointer, nil, nil, nil) {
            result.append(try Certificate(handle: Handle(x509)))
        }
        triad_ERR_clear()   // the loop ends on "no start line", which is not an error
        return result
    }

    /// SHA-256 of the DER.
    public var fingerprint: [UInt8] { SHA256.hash(der) }

    /// The certificate as PEM, as stock `openssl` writes it.
    public var pem: String {
        "-----BEGIN CERTIFICATE-----\n\(Base64PEM.encode(der))-----END CERTIFICATE-----\n"
    }

    /// RFC 2253 form, e.g. `CN=alice,O=Hospital`.
    public var subject: String { Self.name(X509_get_subject_name(handle.pointer)) }
    /// The issuer's distinguished name, one line, for messages.
    public var issuer: String { Self.name(X509_get_issuer_name(handle.pointer)) }

    /// The subject's common name, for messages.
    public var commonName: String {
        for part in subject.split(separator: ",") where part.hasPrefix("CN=") { return String(part.dropFirst(3)) }
        return subject
    }

    /// Start of validity (RFC 5280 §4.1.2.5).
    public var notBefore: Date { Self.date(X509_get0_notBefore(handle.pointer)) }
    /// End of validity; `zone status` and the drill warn before it.
    public var notAfter: Date { Self.date(X509_get0_notAfter(handle.pointer)) }

    /// The serial number in hex, as `openssl x509 -serial` shows it.
    public var serialHex: String {
        guard let bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(handle.pointer), nil) else { return "" }
        defer { BN_free(bn) }
        guard let text = BN_bn2hex(bn) else { return "" }
        defer { triad_OPENSSL_free(text) }
        return String(cString: text).lowercased()
    }

    /// Whether `issuerKey` made this certificate's signature.
    public func isSigned(by issuerKey: PublicKey) -> Bool {
        let result = X509_verify(handle.pointer, issuerKey.handle.pointer)
        triad_ERR_clear()
        return result == 1
    }

    /// True when `date` lies within the validity period.
    public func isValid(at date: Date = Date()) -> Bool { notBefore <= date && date <= notAfter }

    /// Two certificates are equal when their DER is.
    public static func == (lhs: Certificate, rhs: Certificate) -> Bool { lhs.der == rhs.der }
    /// Hashes the DER, consistent with `==`.
    public func hash(into hasher: inout Hasher) { hasher.combine(der) }

    private static func name(_ name: OpaquePointer?) -> String {
        guard let name, let bio = try? MemoryBIO() else { return "" }
        _ = X509_NAME_print_ex(bio.pointer, name, 0, triad_XN_FLAG_RFC2253())
        return String(decoding: bio.contents, as: UTF8.self)
    }

    private static func date(_ time: UnsafePointer<ASN1_TIME>?) -> Date {
        var parts = tm()
        guard let time, ASN1_TIME_to_tm(time, &parts) == 1 else { return Date(timeIntervalSince1970: 0) }
        return Date(timeIntervalSince1970: TimeInterval(timegm(&parts)))
    }
}
