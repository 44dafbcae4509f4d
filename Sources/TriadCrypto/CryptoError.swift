internal import COpenSSL

/// Errors of the crypto layer. Messages say what failed; the layers above add which file
/// or step it was and what to do.
public enum CryptoError: Error, Equatable, CustomStringConvertible {
    /// OpenSSL refused an operation; `reason` is its error string.
    case openssl(operation: String, reason: String)
    /// An AEAD tag or MAC did not verify: the data was changed or the key is wrong.
    case authenticationFailed
    /// A wrapped key does not open with this private key (it was wrapped for another one).
    case unwrapFailed
    case invalidKey(problem: String)
    case unsupportedAlgorithm(algorithm: String)
    case invalidPEM(problem: String)
    case invalidCertificate(problem: String)
    /// The PEM is encrypted and the passphrase was missing or wrong.
    case wrongPassphrase
    case chainVerificationFailed(problem: String)

    /// One sentence naming the operation and why it failed.
    public var description: String {
        switch self {
        case let .openssl(operation, reason): return "\(operation) failed in OpenSSL: \(reason)"
        case .authenticationFailed: return "authentication failed: the data was changed or the key is wrong"
        case .unwrapFailed: return "the wrapped key does not open with this private key"
        case let .invalidKey(why): return "invalid key: \(why)"
        case let .unsupportedAlgorithm(what): return "unsupported algorithm: \(what) (use RSA 2048+, EC P-256 or EC P-384)"
        case let .invalidPEM(why): return "not a usable PEM file: \(why)"
        case let .invalidCertificate(why): return "invalid certificate: \(why)"
        case .wrongPassphrase: return "the key is encrypted and the passphrase is missing or wrong"
        case let .chainVerificationFailed(why): return "certificate does not chain to a trusted certificate: \(why)"
        }
    }

    /// Drains OpenSSL's thread-local error queue into one error value.
    static func fromOpenSSL(_ operation: String) -> CryptoError {
        var reasons: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            reasons.append(String(cString: buffer))
        }
        return .openssl(operation: operation, reason: reasons.isEmpty ? "unknown error" : reasons.joined(separator: "; "))
    }
}

/// Throws `CryptoError.openssl` unless an OpenSSL call returned 1 (its success value).
@inline(__always)
func check(_ result: Int32, _ operation: @autoclosure () -> String) throws {
    if result != 1 { throw CryptoError.fromOpenSSL(operation()) }
}
