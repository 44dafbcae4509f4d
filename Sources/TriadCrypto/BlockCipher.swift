internal import COpenSSL

/// Single-block ECB encryption and decryption with the ciphers a PIV card-management key
/// (key reference 9B) may use: 3TDEA (`03`), AES-128 (`08`), AES-192 (`0A`), AES-256 (`0C`).
///
/// Why a block primitive and not a mode: the PIV management-key challenge/response
/// (SP 800-73-4 Part 2 §3.2.4 and Appendix A.1, "GENERAL AUTHENTICATE" with witness and
/// challenge) encrypts exactly one cipher block with the raw key — no IV, no padding.
/// Both sides of Triad need it: the PIV client (authenticating to a card) and the virtual
/// card (answering). Everything runs through OpenSSL's EVP with padding switched off.
public enum BlockCipher: Sendable, Equatable, CaseIterable {
    case tripleDES
    case aes128
    case aes192
    case aes256

    /// The PIV cryptographic algorithm identifier (SP 800-78-4 Table 6-1).
    public var pivAlgorithmID: UInt8 {
        switch self {
        case .tripleDES: return 0x03
        case .aes128: return 0x08
        case .aes192: return 0x0A
        case .aes256: return 0x0C
        }
    }

    /// Looks a cipher up by its PIV algorithm identifier; nil for anything else.
    public init?(pivAlgorithmID: UInt8) {
        guard let match = Self.allCases.first(where: { $0.pivAlgorithmID == pivAlgorithmID }) else { return nil }
        self = match
    }

    /// Block size in bytes: the witness/challenge length of the PIV protocol.
    public var blockSize: Int { self == .tripleDES ? 8 : 16 }

    /// Key length in bytes (3TDEA uses three independent 8-byte DES keys).
    public var keySize: Int {
        switch self {
        case .tripleDES: return 24
        case .aes128: return 16
        case .aes192: return 24
        case .aes256: return 32
        }
    }

    /// Encrypts one block (`blockSize` bytes) under `key` in ECB mode.
    /// - Throws: `BlockCipherError.badLength` for a wrong block or key length,
    ///   `.openSSL` when libcrypto refuses.
    public func encryptBlock(_ block: [UInt8], key: SecureBytes) throws -> [UInt8] {
        try run(block, key: key, encrypt: true)
    }

    /// Decrypts one block (`blockSize` bytes) under `key` in ECB mode.
    public func decryptBlock(_ block: [UInt8], key: SecureBytes) throws -> [UInt8] {
        try run(block, key: key, encrypt: false)
    }

    private var evpCipher: OpaquePointer? {
        switch self {
        case .tripleDES: return EVP_des_ede3_ecb()
        case .aes128: return EVP_aes_128_ecb()
        case .aes192: return EVP_aes_192_ecb()
        case .aes256: return EVP_aes_256_ecb()
        }
    }

    private func run(_ block: [UInt8], key: SecureBytes, encrypt: Bool) throws -> [UInt8] {
        guard block.count == blockSize else {
            throw BlockCipherError.badLength(what: "block", expected: blockSize, actual: block.count)
        }
        guard key.count == keySize else {
            throw BlockCipherError.badLength(what: "key", expected: keySize, actual: key.count)
        }
        guard let ctx = EVP_CIPHER_CTX_new() else { throw BlockCipherError.openSSL(call: "EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        let initOK = key.withUnsafeBytes { keyBytes -> Int32 in
            EVP_CipherInit_ex(ctx, evpCipher, nil,
                              keyBytes.baseAddress?.assumingMemoryBound(to: UInt8.self), nil,
                              encrypt ? 1 : 0)
        }
        guard initOK == 1 else { throw BlockCipherError.openSSL(call: "EVP_CipherInit_ex") }
        EVP_CIPHER_CTX_set_padding(ctx, 0)
        var out = [UInt8](repeating: 0, count: blockSize * 2)
        var written: Int32 = 0
        var final: Int32 = 0
        let ok = out.withUnsafeMutableBufferPointer { outBuf -> Bool in
            guard EVP_CipherUpdate(ctx, outBuf.baseAddress, &written, block, Int32(block.count)) == 1 else { return false }
            return EVP_CipherFinal_ex(ctx, outBuf.baseAddress! + Int(written), &final) == 1
        }
        guard ok, Int(written + final) == blockSize else { throw BlockCipherError.openSSL(call: "EVP_CipherUpdate") }
        return Array(out.prefix(blockSize))
    }
}

/// Why a block operation failed.
public enum BlockCipherError: Error, Equatable, CustomStringConvertible {
    /// A block or key had the wrong length for the cipher.
    case badLength(what: String, expected: Int, actual: Int)
    /// libcrypto refused an operation (the named call).
    case openSSL(call: String)

    /// One sentence naming the operation that failed.
    public var description: String {
        switch self {
        case let .badLength(what, expected, actual):
            return "block cipher: the \(what) is \(actual) bytes, but this cipher needs \(expected); check the management key length and algorithm"
        case let .openSSL(call):
            return "block cipher: OpenSSL call \(call) failed; check that libssl3 is installed and working"
        }
    }
}
