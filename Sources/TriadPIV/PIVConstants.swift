import ISO7816

/// PIV instruction bytes: SP 800-73-4 Part 2 §3 (standard) and Yubico's `ykpiv.h`
/// (the `F7`–`FF` extensions that YubiKeys and our virtual card implement).
public enum Instruction: UInt8, Sendable {
    case select = 0xA4                  // SP 800-73-4 Part 2 §3.1.1
    case getData = 0xCB                 // §3.1.2
    case verify = 0x20                  // §3.2.1
    case changeReferenceData = 0x24     // §3.2.2
    case resetRetryCounter = 0x2C       // §3.2.3
    case generalAuthenticate = 0x87     // §3.2.4
    case putData = 0xDB                 // §3.3.1
    case generateAsymmetricKeyPair = 0x47 // §3.3.2
    case getResponse = 0xC0             // ISO/IEC 7816-4 §7.6.1
    case getVersion = 0xFD              // YubiKey extension
    case getSerial = 0xF8               // YubiKey 5 extension
    case setManagementKey = 0xFF        // YubiKey extension

    /// The name used in messages.
    public var name: String {
        switch self {
        case .select: return "SELECT"
        case .getData: return "GET DATA"
        case .verify: return "VERIFY"
        case .changeReferenceData: return "CHANGE REFERENCE DATA"
        case .resetRetryCounter: return "RESET RETRY COUNTER"
        case .generalAuthenticate: return "GENERAL AUTHENTICATE"
        case .putData: return "PUT DATA"
        case .generateAsymmetricKeyPair: return "GENERATE ASYMMETRIC KEY PAIR"
        case .getResponse: return "GET RESPONSE"
        case .getVersion: return "GET VERSION"
        case .getSerial: return "GET SERIAL"
        case .setManagementKey: return "SET MANAGEMENT KEY"
        }
    }
}

/// Key references (SP 800-73-4 Part 1 §3.1, Table 4b; SP 800-78-4 Table 6-1 for 9B).
public enum PIVSlot: UInt8, Sendable, CaseIterable {
    case authentication = 0x9A
    case cardManagement = 0x9B
    case signature = 0x9C
    case keyManagement = 0x9D
    case cardAuthentication = 0x9E

    /// Whether using the slot's private key needs the PIN. SP 800-73-4 Part 1 §3.1: the
    /// card authentication key (9E) is usable without it ("PIN not required"); 9A, 9C and 9D
    /// need it, 9C right before each use ("PIN always", §3.1.2). 9B is the management key,
    /// which needs no PIN but its own key.
    public var requiresPIN: Bool { self != .cardAuthentication && self != .cardManagement }

    /// The slot's name in SP 800-73-4 Part 1 §3.1 and its key reference, for messages.
    public var name: String {
        switch self {
        case .authentication: return "PIV authentication (9A)"
        case .cardManagement: return "card management (9B)"
        case .signature: return "digital signature (9C)"
        case .keyManagement: return "key management (9D)"
        case .cardAuthentication: return "card authentication (9E)"
        }
    }

    /// The BER-TLV tag of the slot's certificate data object (SP 800-73-4 Part 1 Table 3).
    public var certificateObject: [UInt8]? {
        switch self {
        case .authentication: return [0x5F, 0xC1, 0x05]
        case .signature: return [0x5F, 0xC1, 0x0A]
        case .keyManagement: return [0x5F, 0xC1, 0x0B]
        case .cardAuthentication: return [0x5F, 0xC1, 0x01]
        case .cardManagement: return nil
        }
    }
}

/// YubiKey PIN policy of a generated key (tag `AA` in GENERATE's control template, Yubico
/// `ykpiv.h`): when the card asks for the PIN before using it. The recovery card's 9E key is
/// generated with `.never` (SP 800-73-4 Part 1 §3.1.4: the card authentication key needs no PIN).
public enum PINPolicy: UInt8, Sendable {
    case never = 1, once = 2, always = 3
}

/// YubiKey touch policy of a generated key (tag `AB`): whether a touch is needed per use.
public enum TouchPolicy: UInt8, Sendable {
    case never = 1, always = 2, cached = 3
}

/// Asymmetric algorithm identifiers for slots 9A–9E (SP 800-78-4 Table 6-2).
public enum PIVAlgorithm: UInt8, Sendable, CaseIterable {
    case rsa2048 = 0x07
    case eccP256 = 0x11
    case eccP384 = 0x14

    /// Bytes of an RSA modulus / EC field element.
    public var keyBytes: Int {
        switch self {
        case .rsa2048: return 256
        case .eccP256: return 32
        case .eccP384: return 48
        }
    }

    /// Length of an uncompressed EC point `04 ‖ X ‖ Y`.
    var pointBytes: Int { 1 + 2 * keyBytes }

    /// Longest DER ECDSA signature on this curve: `30 L {02 L r, 02 L s}` with r and s of at
    /// most `keyBytes + 1` bytes each (a leading 00 keeps them positive): 72 on P-256, 104 on
    /// P-384, both with a one-byte length.
    var maximumECDSASignatureBytes: Int { 2 + 2 * (2 + keyBytes + 1) }
}

/// Card management key (9B) algorithms (SP 800-78-4 Table 6-2 and YubiKey firmware 5.4+).
public enum ManagementKeyAlgorithm: UInt8, Sendable, CaseIterable {
    case tripleDES = 0x03
    case aes128 = 0x08
    case aes192 = 0x0A
    case aes256 = 0x0C

    /// Bytes of the management key for this algorithm.
    public var keyLength: Int {
        switch self {
        case .tripleDES: return 24
        case .aes128: return 16
        case .aes192: return 24
        case .aes256: return 32
        }
    }

    /// Witness / challenge length: one cipher block (8 for 3DES, 16 for AES).
    public var blockLength: Int { self == .tripleDES ? 8 : 16 }
}

/// Identifiers the client needs.
public enum PIVIdentifiers {
    /// SP 800-73-4 Part 1 §2.2: the PIV application identifier (right-truncated form: the
    /// 9-byte `A0 00 00 03 08 00 00 10 00` selects any version).
    public static let applicationID: [UInt8] = [0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00]
    /// Key reference of the PIV Card Application PIN and the PUK (Part 1 Table 4a).
    public static let pinReference: UInt8 = 0x80
    /// Key reference of the PUK.
    public static let pukReference: UInt8 = 0x81
    /// The YubiKey (and yubico-piv-tool) default management key.
    public static let defaultManagementKey: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8]
}
