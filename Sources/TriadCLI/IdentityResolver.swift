#if canImport(Glibc)
import Glibc
#endif
import TriadCrypto

/// An identity string as users type it (docs/piv-client.md "Card identities", docs/ARCHITECTURE.md "Identities at the CLI").
public enum IdentitySpec: Equatable, CustomStringConvertible {
    /// `file:PATH` — a PEM private key (PKCS#8, traditional RSA/EC, or encrypted PKCS#8).
    case file(String)
    /// `piv:` or `piv:READER` — slot 9D of the PIV card in the first (or the named) reader.
    case piv(String?)

    /// Parses `file:PATH` or `piv:[READER]`; anything else is a usage error naming the two forms.
    public init(parsing text: String) throws {
        if text.hasPrefix("file:") {
            let path = String(text.dropFirst(5))
            guard !path.isEmpty else { throw CLIError.usage(message: "identity \"file:\" names no key file; write file:PATH") }
            self = .file(path)
        } else if text.hasPrefix("piv:") {
            let reader = String(text.dropFirst(4))
            self = .piv(reader.isEmpty ? nil : reader)
        } else {
            throw CLIError.usage(message: "identity \"\(text)\" is neither file:PATH nor piv:[READER]")
        }
    }

    /// The identity as the person would type it.
    public var description: String {
        switch self {
        case .file(let path): return "file:" + path
        case .piv(let reader): return "piv:" + (reader ?? "")
        }
    }
}

/// A resolved identity: the private-key operations plus the string the user typed, which
/// messages use ("no key slot in FILE matches IDENTITY").
public struct ResolvedIdentity {
    /// What the person typed, parsed.
    public let spec: IdentitySpec
    /// The key's operations: a software key or a card's slot.
    public let key: any PrivateKeyOperations
    /// The identity as typed, for messages.
    public var name: String { spec.description }
    /// The software key, when the identity is a key file (only those can sign policies).
    public var privateKey: PrivateKey? { key as? PrivateKey }
}

/// Turns `file:PATH` into a `PrivateKey` and `piv:[READER]` into the card's 9D key through
/// `CardIdentity.open`; everything above works on `any PrivateKeyOperations` only
/// (docs/ARCHITECTURE.md "Identities at the CLI").
public struct IdentityResolver {
    /// `--passphrase-fd N` for an encrypted key file, or nil to ask on the terminal.
    public var passphraseFD: Int32?
    /// How a card's PIN is read and whether its last try may be spent.
    public var pin: PINOptions
    /// Where a warning goes (a key file others may read); the tool prefixes its name.
    public var warn: (String) -> Void

    /// A resolver with the command's secret-input options.
    public init(passphraseFD: Int32? = nil, pin: PINOptions = PINOptions(),
                warn: @escaping (String) -> Void = { printError("warning: " + $0) }) {
        self.passphraseFD = passphraseFD
        self.pin = pin
        self.warn = warn
    }

    /// Opens the identity `text` names: reads and decrypts a key file, or connects to the card.
    public func resolve(_ text: String) throws -> ResolvedIdentity {
        let spec = try IdentitySpec(parsing: text)
        switch spec {
        case .file(let path):
            return ResolvedIdentity(spec: spec, key: try loadKeyFile(path))
        case .piv(let reader):
            do {
                return ResolvedIdentity(spec: spec, key: try CardIdentity.open(readerSubstring: reader, pin: pin))
            } catch let error as CustomStringConvertible {
                throw CLIError.identity(name: spec.description, problem: error.description)
            }
        }
    }

    /// Reads a PEM key; asks for a passphrase only if the PEM is encrypted.
    func loadKeyFile(_ path: String) throws -> PrivateKey {
        let name = "file:" + path
        if let mode = Self.groupOrOtherAccess(path) { warn(Self.permissionWarning(path, mode: mode)) }
        var pem: SecureBytes
        do { pem = try SecretFile.read(path) } catch {
            throw CLIError.identity(name: name, problem: "cannot read the key file (\(error)); check the path and permissions")
        }
        defer { pem = SecureBytes(count: 0) }
        let encrypted = pem.withUnsafeBytes { raw in
            String(decoding: raw.prefix(4096), as: UTF8.self).contains("ENCRYPTED")
        }
        var passphrase: SecureBytes?
        if encrypted {
            passphrase = try Passphrase.read(fd: passphraseFD, prompt: "Passphrase for \(path): ", keyName: name)
        }
        do {
            return try PrivateKey(pem: pem, passphrase: passphrase)
        } catch CryptoError.wrongPassphrase {
            throw CLIError.identity(name: name, problem: "the passphrase is wrong (or missing); give it with --passphrase-fd N or at the terminal")
        } catch {
            throw CLIError.identity(name: name, problem: "is not a usable PEM private key (\(error)); give an RSA 2048+, EC P-256 or P-384 key")
        }
    }

    /// The file's permission bits when group or others have any access to it, else nil.
    static func groupOrOtherAccess(_ path: String) -> mode_t? {
        var st = stat()
        guard stat(path, &st) == 0, st.st_mode & 0o077 != 0 else { return nil }
        return st.st_mode & 0o7777
    }

    /// A private key anyone but its owner can read is a key they hold too.
    static func permissionWarning(_ path: String, mode: mode_t) -> String {
        "key file \(path) is open to group or others (mode \(String(mode, radix: 8))): whoever can read it holds this key; chmod 600 \(path)"
    }
}
