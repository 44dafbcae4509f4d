internal import COpenSSL
import Foundation

/// What a certificate is used for in Triad, and so which key usages (RFC 5280 §4.2.1.3) it must
/// allow. docs/zone.md §2a gives the rules.
public struct CertificateRole: OptionSet, Hashable, Sendable, CustomStringConvertible {
    /// The role bits.
    public let rawValue: Int
    /// Roles from their bits.
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// Signs zone policies: needs digitalSignature.
    public static let officer = CertificateRole(rawValue: 1)
    /// Receives wrapped zone keys: needs keyAgreement (EC) or keyEncipherment (RSA).
    public static let member = CertificateRole(rawValue: 2)
    /// Receives every file key in a recovery slot: the same usage as a member.
    public static let recovery = CertificateRole(rawValue: 4)

    /// The roles by name, for messages ("officer and member").
    public var description: String {
        var names: [String] = []
        if contains(.officer) { names.append("officer") }
        if contains(.member) { names.append("member") }
        if contains(.recovery) { names.append("recovery certificate") }
        return names.joined(separator: " and ")
    }
}

/// Why a certificate may not take a role. The layers above add which certificate and file.
public enum CertificatePolicyError: Error, Equatable, CustomStringConvertible {
    case expired(notAfter: Date)
    case notYetValid(notBefore: Date)
    /// The keyUsage extension is present and lacks what the role needs.
    case keyUsageMissing(required: String, present: [String])
    /// A certificate authority's certificate (keyCertSign, or CA:TRUE issued by someone else).
    case certificateAuthority(reason: String)

    /// What is wrong with the certificate, as the end of "it …" (docs/zone.md §2a).
    public var description: String {
        switch self {
        case let .expired(notAfter):
            return "expired on \(CertificatePolicy.day(notAfter))"
        case let .notYetValid(notBefore):
            return "is not valid before \(CertificatePolicy.day(notBefore))"
        case let .keyUsageMissing(required, present):
            let has = present.isEmpty ? "none" : present.joined(separator: ", ")
            return "has a keyUsage extension without \(required) (it allows: \(has))"
        case let .certificateAuthority(reason):
            return "is a certificate authority's certificate (\(reason)), not a person's"
        }
    }
}

/// The certificate checks every role shares (docs/zone.md §2a).
///
/// Why these and no more: Triad uses a certificate for its public key, its validity period and
/// its key usage; trust in *who* holds it comes from the signed zone policy and the trust file.
/// A certificate without a keyUsage extension allows every usage (RFC 5280 §4.2.1.3), which is
/// what stock `openssl req -x509` makes, so it keeps working. That same command marks the
/// certificate CA:TRUE, so CA:TRUE alone is accepted on a self-signed certificate; a CA:TRUE
/// certificate issued by another CA belongs to a CA, and so does an officer's or member's
/// certificate allowing keyCertSign.
public enum CertificatePolicy {
    /// How long before its expiry a recovery certificate is reported by `zone status` and fails
    /// the quarterly drill: one quarter and a margin, so the drill before it expires catches it.
    public static let expiryWarningDays = 120

    /// Checks that `certificate` may take `role` at `date`.
    public static func check(_ certificate: Certificate, for role: CertificateRole, at date: Date = Date()) throws {
        if certificate.notAfter < date { throw CertificatePolicyError.expired(notAfter: certificate.notAfter) }
        if certificate.notBefore > date { throw CertificatePolicyError.notYetValid(notBefore: certificate.notBefore) }
        try checkUsage(certificate, for: role)
    }

    /// The key-usage and CA checks alone (no dates): what a reader applies to a signer whose
    /// signature it checks at the signed time instead of now.
    public static func checkUsage(_ certificate: Certificate, for role: CertificateRole) throws {
        let usage = certificate.keyUsage
        // A recovery certificate may allow keyCertSign: the recovery key certifies the enrolled
        // recovery cards' keys (docs/escrow.md). A person's certificate may not.
        if let usage, usage.contains(.keyCertSign), !role.isDisjoint(with: [.officer, .member]) {
            throw CertificatePolicyError.certificateAuthority(reason: "keyUsage allows keyCertSign")
        }
        if certificate.isCA && !certificate.isSelfSigned {
            throw CertificatePolicyError.certificateAuthority(reason: "CA:TRUE, issued by \(certificate.issuer)")
        }
        guard let usage else { return }
        if role.contains(.officer), !usage.contains(.digitalSignature) {
            throw CertificatePolicyError.keyUsageMissing(required: "digitalSignature (signing zone policies)", present: usage.names)
        }
        if !role.isDisjoint(with: [.member, .recovery]) {
            let needed: KeyUsage = certificate.publicKey.algorithm.isEC ? .keyAgreement : .keyEncipherment
            guard usage.contains(needed) else {
                let what = needed == .keyAgreement ? "keyAgreement (EC keys receive wrapped keys by ECDH)"
                                                   : "keyEncipherment (RSA keys receive wrapped keys by RSA-OAEP)"
                throw CertificatePolicyError.keyUsageMissing(required: what, present: usage.names)
            }
        }
    }

    /// Days from `date` until `certificate` expires (negative once expired).
    public static func daysLeft(_ certificate: Certificate, at date: Date = Date()) -> Int {
        Int((certificate.notAfter.timeIntervalSince(date) / 86_400).rounded(.down))
    }

    /// True when `certificate` expires within `expiryWarningDays` of `date` (or has expired).
    public static func isExpiringSoon(_ certificate: Certificate, at date: Date = Date()) -> Bool {
        daysLeft(certificate, at: date) < expiryWarningDays
    }

    static func day(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd HH:mm 'UTC'"
        return f.string(from: date)
    }
}

/// The keyUsage bits Triad looks at (RFC 5280 §4.2.1.3).
public struct KeyUsage: OptionSet, Sendable {
    /// The keyUsage bits as OpenSSL reports them.
    public let rawValue: UInt32
    /// Usages from their bits.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Signatures: what an officer needs.
    public static let digitalSignature = KeyUsage(rawValue: UInt32(KU_DIGITAL_SIGNATURE))
    /// Non-repudiation (contentCommitment); not required by any role.
    public static let nonRepudiation = KeyUsage(rawValue: UInt32(KU_NON_REPUDIATION))
    /// Key transport: what an RSA member or recovery certificate needs.
    public static let keyEncipherment = KeyUsage(rawValue: UInt32(KU_KEY_ENCIPHERMENT))
    /// Data encipherment; not required by any role.
    public static let dataEncipherment = KeyUsage(rawValue: UInt32(KU_DATA_ENCIPHERMENT))
    /// Key agreement: what an EC member or recovery certificate needs.
    public static let keyAgreement = KeyUsage(rawValue: UInt32(KU_KEY_AGREEMENT))
    /// Certificate signing: marks a CA, refused for members and officers (docs/zone.md §2a).
    public static let keyCertSign = KeyUsage(rawValue: UInt32(KU_KEY_CERT_SIGN))
    /// CRL signing; a CA's usage.
    public static let cRLSign = KeyUsage(rawValue: UInt32(KU_CRL_SIGN))

    /// The usages present, by their RFC 5280 names, for messages.
    public var names: [String] {
        [(KeyUsage.digitalSignature, "digitalSignature"), (.nonRepudiation, "nonRepudiation"),
         (.keyEncipherment, "keyEncipherment"), (.dataEncipherment, "dataEncipherment"),
         (.keyAgreement, "keyAgreement"), (.keyCertSign, "keyCertSign"), (.cRLSign, "cRLSign")]
            .filter { contains($0.0) }.map(\.1)
    }
}

extension Certificate {
    /// The keyUsage extension's bits, or nil when the certificate has none (any usage allowed).
    public var keyUsage: KeyUsage? {
        let flags = X509_get_extension_flags(handle.pointer)
        guard flags & UInt32(EXFLAG_KUSAGE) != 0 else { return nil }
        return KeyUsage(rawValue: X509_get_key_usage(handle.pointer))
    }

    /// basicConstraints CA:TRUE.
    public var isCA: Bool { X509_get_extension_flags(handle.pointer) & UInt32(EXFLAG_CA) != 0 }

    /// Issuer equals subject and the certificate's own key verifies its signature.
    public var isSelfSigned: Bool { X509_get_extension_flags(handle.pointer) & UInt32(EXFLAG_SS) != 0 }
}
