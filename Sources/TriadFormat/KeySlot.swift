import TriadCrypto

/// One typed key slot of the header (docs/format.md §3).
///
/// The body is opaque to the header parser: only the slot's own type knows its layout.
/// Unknown types are carried through unchanged (and stay covered by the header MAC), so a
/// newer writer can add slot types that older readers skip, as age does with stanzas.
public struct KeySlot: Equatable, Sendable {
    /// The slot type (docs/format.md §3.1).
    public var type: UInt16
    /// The type's body, opaque to readers that do not know the type.
    public var body: [UInt8]

    /// A slot of `type` carrying `body`.
    public init(type: UInt16, body: [UInt8]) {
        self.type = type
        self.body = body
    }

    /// Encoded size on disk: type (2) ‖ body length (2) ‖ body.
    var encodedLength: Int { 4 + body.count }
}

/// Registered slot types (docs/format.md §3.1). 0x0000 is reserved and rejected.
public enum SlotType {
    /// The file key wrapped under a per-file key derived from the zone key of one epoch.
    public static let zone: UInt16 = 0x0001
    /// The file key wrapped to a recovery certificate with one public-key operation per file
    /// (docs/format.md §3.3). Still read; writers now write `recoveryKEM`.
    public static let recovery: UInt16 = 0x0002
    /// The file key wrapped to a recovery certificate under a per-file key derived from one
    /// encapsulation per run (docs/format.md §3.4): what writers write.
    public static let recoveryKEM: UInt16 = 0x0003

    /// Whether `type` is a certificate slot (a recovery or re-grant slot naming a certificate
    /// fingerprint), in either layout: how status, rekey and rotation find them.
    public static func isCertificateSlot(_ type: UInt16) -> Bool { type == recovery || type == recoveryKEM }
    /// Never valid on disk.
    public static let reserved: UInt16 = 0x0000
}

/// Something the file key can be wrapped for: the zone key of an epoch, a recovery
/// certificate (docs/format.md §3.1).
public protocol Recipient {
    /// Wraps the 32-byte file key into one slot bound to `fileID`.
    func wrap(_ fileKey: SecureBytes, fileID: [UInt8]) throws -> KeySlot
}

/// Something that can unwrap a file key from one of a file's slots.
public protocol Identity {
    /// Returns the file key from the first slot addressed to this identity that unwraps,
    /// or nil when no slot is addressed to it ("not mine"). Throws only on real errors
    /// (a card that fails, a slot addressed to it that does not unwrap).
    func unwrap(_ slots: [KeySlot], fileID: [UInt8]) throws -> SecureBytes?
}
