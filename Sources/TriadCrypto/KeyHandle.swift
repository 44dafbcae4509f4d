internal import COpenSSL

/// Owns one `EVP_PKEY`; `deinit` frees it (and OpenSSL cleanses private components).
final class KeyHandle: @unchecked Sendable {
    let pointer: OpaquePointer
    init(_ pointer: OpaquePointer) { self.pointer = pointer }
    deinit { EVP_PKEY_free(pointer) }
}

/// Owns one memory `BIO`.
final class MemoryBIO {
    let pointer: OpaquePointer
    /// An empty, writable BIO. `secure` keeps the buffer in cleansed memory (for private keys).
    init(secure: Bool = false) throws {
        guard let bio = BIO_new(secure ? BIO_s_secmem() : BIO_s_mem()) else { throw CryptoError.fromOpenSSL("BIO_new") }
        pointer = bio
    }
    /// A read-only BIO over `bytes` (copied, so the Swift array may go away).
    init(bytes: [UInt8]) throws {
        guard let bio = BIO_new(BIO_s_mem()) else { throw CryptoError.fromOpenSSL("BIO_new") }
        pointer = bio
        if !bytes.isEmpty { guard BIO_write(bio, bytes, Int32(bytes.count)) == Int32(bytes.count) else { throw CryptoError.fromOpenSSL("BIO_write") } }
    }
    init(secret: SecureBytes) throws {
        guard let bio = BIO_new(BIO_s_secmem()) else { throw CryptoError.fromOpenSSL("BIO_new") }
        pointer = bio
        let written = secret.withUnsafeBytes { BIO_write(bio, $0.baseAddress, Int32($0.count)) }
        guard written == Int32(secret.count) else { throw CryptoError.fromOpenSSL("BIO_write") }
    }
    deinit { BIO_free(pointer) }

    var contents: [UInt8] {
        var base: UnsafeMutablePointer<CChar>? = nil
        let length = triad_BIO_get_mem_data(pointer, &base)
        guard length > 0, let base else { return [] }
        return Array(UnsafeRawBufferPointer(start: base, count: Int(length)))
    }

    var secretContents: SecureBytes {
        var base: UnsafeMutablePointer<CChar>? = nil
        let length = triad_BIO_get_mem_data(pointer, &base)
        guard length > 0, let base else { return SecureBytes(count: 0) }
        return SecureBytes(UnsafeRawBufferPointer(start: base, count: Int(length)))
    }
}

/// The algorithms Triad accepts (README: RSA 2048+, EC P-256, EC P-384).
public enum KeyAlgorithm: Equatable, Hashable, Sendable, CustomStringConvertible {
    case rsa(bits: Int)
    case ecP256
    case ecP384

    /// The algorithm as people name it ("RSA-3072", "EC P-384").
    public var description: String {
        switch self {
        case let .rsa(bits): return "RSA-\(bits)"
        case .ecP256: return "EC P-256"
        case .ecP384: return "EC P-384"
        }
    }

    /// OpenSSL's group name for EC keys.
    var groupName: String? {
        switch self {
        case .ecP256: return "P-256"
        case .ecP384: return "P-384"
        case .rsa: return nil
        }
    }

    /// Length of an uncompressed point `04 ‖ X ‖ Y` (SEC 1 §2.3.3) and of the shared secret.
    public var ecPointByteCount: Int? {
        switch self {
        case .ecP256: return 65
        case .ecP384: return 97
        case .rsa: return nil
        }
    }

    /// Length of a private scalar (and of the order n) in bytes (SEC 1 §2.3.7).
    public var ecScalarByteCount: Int? {
        switch self {
        case .ecP256: return 32
        case .ecP384: return 48
        case .rsa: return nil
        }
    }

    /// The DER SubjectPublicKeyInfo up to the point's bytes for a named-curve key (RFC 5480
    /// §2: id-ecPublicKey, the curve OID, a BIT STRING with no unused bits).
    var ecSPKIPrefix: [UInt8]? {
        switch self {
        case .ecP256: return [0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
                              0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00]
        case .ecP384: return [0x30, 0x76, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
                              0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22, 0x03, 0x62, 0x00]
        case .rsa: return nil
        }
    }

    /// True for the EC curves: they wrap with ECDH-ES, RSA with OAEP.
    public var isEC: Bool { if case .rsa = self { return false } else { return true } }

    static func of(_ pkey: OpaquePointer) throws -> KeyAlgorithm {
        switch EVP_PKEY_get_base_id(pkey) {
        case EVP_PKEY_RSA:
            let bits = Int(EVP_PKEY_get_bits(pkey))
            guard bits >= 2048 else { throw CryptoError.unsupportedAlgorithm(algorithm: "RSA-\(bits) (at least 2048 bits)") }
            return .rsa(bits: bits)
        case EVP_PKEY_EC:
            var name = [CChar](repeating: 0, count: 64)
            var length = 0
            guard EVP_PKEY_get_group_name(pkey, &name, name.count, &length) == 1 else {
                throw CryptoError.fromOpenSSL("EVP_PKEY_get_group_name")
            }
            switch String(cString: name) {
            case "prime256v1", "P-256", "secp256r1": return .ecP256
            case "secp384r1", "P-384": return .ecP384
            case let other: throw CryptoError.unsupportedAlgorithm(algorithm: "EC curve \(other)")
            }
        default:
            throw CryptoError.unsupportedAlgorithm(algorithm: "key type \(EVP_PKEY_get_base_id(pkey))")
        }
    }

    /// The digest for signatures: SHA-384 on P-384, SHA-256 otherwise (matching strength).
    var signatureDigest: OpaquePointer {
        self == .ecP384 ? EVP_sha384() : EVP_sha256()
    }
}
