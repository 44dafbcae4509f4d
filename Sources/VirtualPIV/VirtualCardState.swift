import TriadCrypto

/// Everything a virtual PIV card must remember across power cycles and restarts: the
/// contents of its "secure element". Volatile state (PIN verified, admin authenticated,
/// pending responses) lives in `VirtualPIVApplet`, never here.
///
/// PIN and PUK are kept only as HMAC-SHA256 digests under a per-card salt, so the state
/// file does not show them; the private keys and the management key must be usable by the
/// card and are stored as they are. The file is the card: protect it like a private key
/// (it is written with mode 0600). This is a software card with no hardware protection.
public struct VirtualCardState: Sendable {
    /// One asymmetric key in slot 9A, 9C, 9D or 9E.
    public struct SlotKey: Sendable {
        /// PIV algorithm identifier: `07` RSA-2048, `11` EC P-256, `14` EC P-384.
        public var algorithm: UInt8
        /// The private key as PKCS#8 DER.
        public var pkcs8: SecureBytes
        /// YubiKey metadata origin: 1 generated on the card, 2 imported.
        public var origin: UInt8
        /// YubiKey PIN policy (`AA`) and touch policy (`AB`) as requested at generation.
        public var pinPolicy: UInt8
        /// Touch policy; a software card has no button and ignores it.
        public var touchPolicy: UInt8

        /// A slot key; policies 0 mean "the slot's default".
        public init(algorithm: UInt8, pkcs8: SecureBytes, origin: UInt8, pinPolicy: UInt8 = 0, touchPolicy: UInt8 = 0) {
            self.algorithm = algorithm; self.pkcs8 = pkcs8; self.origin = origin
            self.pinPolicy = pinPolicy; self.touchPolicy = touchPolicy
        }
    }

    /// The serial number GET SERIAL answers (in `serialRange` for software cards).
    public var serial: UInt32
    /// The card's GUID (CHUID tag `34`), random per card.
    public var guid: [UInt8]
    /// Salt for the PIN/PUK digests.
    public var secretSalt: [UInt8]
    /// HMAC-SHA256 digests of the padded PIN and PUK under `secretSalt`.
    public var pinDigest: [UInt8]
    /// The PUK's digest, as `pinDigest`.
    public var pukDigest: [UInt8]
    /// Retry counters: the configured number of tries and the tries left, for PIN and PUK.
    public var pinRetries: Int
    /// PIN tries left; 0 is blocked.
    public var pinTriesLeft: Int
    /// The PUK's configured tries.
    public var pukRetries: Int
    /// PUK tries left; 0 is blocked (the card must be replaced).
    public var pukTriesLeft: Int
    /// Whether PIN and PUK are still the defaults (GET METADATA reports it).
    public var pinIsDefault: Bool
    /// Whether the PUK is still the default.
    public var pukIsDefault: Bool
    /// The management key (9B), its cipher, and whether it is still the default.
    public var managementAlgorithm: BlockCipher
    /// The management key's bytes.
    public var managementKey: SecureBytes
    /// Whether the management key is still the default.
    public var managementKeyIsDefault: Bool
    /// Keys by slot (`0x9A`, `0x9C`, `0x9D`, `0x9E`).
    public var keys: [UInt8: SlotKey]
    /// Data objects by tag (`0x5FC10B`), holding the content inside the `53` wrapper.
    public var objects: [UInt32: [UInt8]]

    /// Defaults of every new card (and of a YubiKey): PIN 123456, PUK 12345678, 3 tries each.
    public static let defaultPIN: [UInt8] = Array("123456".utf8)
    /// The default PUK.
    public static let defaultPUK: [UInt8] = Array("12345678".utf8)
    /// The YubiKey default management key; 3TDEA, because yubico-piv-tool 2.2.0 (Debian 12)
    /// always authenticates with algorithm `03` (docs/virtual-card.md, "Why the default management key is 3DES").
    public static let defaultManagementKey: [UInt8] = [
        1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8,
    ]
    /// Tries for PIN and PUK on a new card.
    public static let defaultRetries = 3

    /// Serial numbers of software cards: 999 000 000 – 999 999 999, far above any YubiKey
    /// serial, so a log or `yubico-piv-tool -a status` shows at a glance that this is no
    /// hardware token.
    public static let serialRange: ClosedRange<UInt32> = 999_000_000...999_999_999

    /// A blank card: default PIN, PUK and management key, no keys, a fresh GUID, and the
    /// CHUID and CCC data objects.
    /// - Parameter managementAlgorithm: 3DES (default, what yubico-piv-tool 2.2.0 needs)
    ///   or AES-192 (a YubiKey 5.7's default); the key bytes are the default key either way.
    public static func blank(serial: UInt32, managementAlgorithm: BlockCipher = .tripleDES) -> VirtualCardState {
        precondition(managementAlgorithm.keySize == defaultManagementKey.count, "the default key is 24 bytes")
        let salt = SecureRandom.bytes(count: 16)
        var state = VirtualCardState(
            serial: serial, guid: SecureRandom.bytes(count: 16), secretSalt: salt,
            pinDigest: [], pukDigest: [],
            pinRetries: defaultRetries, pinTriesLeft: defaultRetries,
            pukRetries: defaultRetries, pukTriesLeft: defaultRetries,
            pinIsDefault: true, pukIsDefault: true,
            managementAlgorithm: managementAlgorithm, managementKey: SecureBytes(defaultManagementKey),
            managementKeyIsDefault: true, keys: [:], objects: [:])
        state.setPIN(padded(defaultPIN))
        state.setPUK(padded(defaultPUK))
        state.objects[DataObjects.chuidTag] = DataObjects.chuid(guid: state.guid)
        state.objects[DataObjects.cccTag] = DataObjects.ccc(serial: serial)
        return state
    }

    /// A blank card whose default management key uses the cipher with this PIV algorithm
    /// identifier (`03` 3DES or `0A` AES-192); 3DES for anything else.
    public static func blank(serial: UInt32, managementAlgorithmID: UInt8) -> VirtualCardState {
        let cipher = BlockCipher(pivAlgorithmID: managementAlgorithmID).flatMap { $0.keySize == 24 ? $0 : nil }
        return blank(serial: serial, managementAlgorithm: cipher ?? .tripleDES)
    }

    /// Stores the digest of an 8-byte FF-padded PIN.
    public mutating func setPIN(_ padded: [UInt8]) { pinDigest = digest(padded, label: "PIN") }
    /// Stores the digest of an 8-byte PUK.
    public mutating func setPUK(_ padded: [UInt8]) { pukDigest = digest(padded, label: "PUK") }

    /// Constant-time comparison of a presented 8-byte PIN with the stored digest.
    public func pinMatches(_ padded: [UInt8]) -> Bool {
        HMACSHA256.isValid(pinDigest, for: Array("PIN".utf8) + padded, key: SecureBytes(secretSalt))
    }

    /// Constant-time comparison of a presented 8-byte PUK with the stored digest.
    public func pukMatches(_ padded: [UInt8]) -> Bool {
        HMACSHA256.isValid(pukDigest, for: Array("PUK".utf8) + padded, key: SecureBytes(secretSalt))
    }

    private func digest(_ padded: [UInt8], label: String) -> [UInt8] {
        HMACSHA256.authenticate(Array(label.utf8) + padded, key: SecureBytes(secretSalt))
    }

    /// An ASCII PIN/PUK padded with `FF` to the 8 bytes PIV transmits.
    public static func padded(_ ascii: [UInt8]) -> [UInt8] {
        ascii + [UInt8](repeating: 0xFF, count: max(0, 8 - ascii.count))
    }
}
