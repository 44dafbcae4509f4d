import TriadCrypto

/// Every key derivation of format version 1 (docs/format.md §5), with its exact HKDF
/// info string. The 60-byte core goes into the info of the file-key derivations, so a
/// changed version, suite, segment size, file id or zone id changes every key (this
/// answers Tink's open question about unauthenticated segment sizes, docs/format.md §5).
enum KeySchedule {
    static let headerLabel = Array("triad/v1/header-mac".utf8)
    static let payloadLabel = Array("triad/v1/payload".utf8)
    static let zoneSlotLabel = Array("triad/v1/zone-slot".utf8)
    static let recoverySlotLabel = Array("triad/v1/recovery-slot".utf8)

    /// K_header = HKDF-SHA256(ikm = FK, salt = file id, info = "triad/v1/header-mac" ‖ core).
    static func headerKey(fileKey: SecureBytes, core: [UInt8]) -> SecureBytes {
        HKDF.deriveKey(inputKey: fileKey, salt: fileID(of: core), info: headerLabel + core, outputByteCount: 32)
    }

    /// K_payload = HKDF-SHA256(ikm = FK, salt = file id, info = "triad/v1/payload" ‖ core).
    static func payloadKey(fileKey: SecureBytes, core: [UInt8]) -> SecureBytes {
        HKDF.deriveKey(inputKey: fileKey, salt: fileID(of: core), info: payloadLabel + core, outputByteCount: 32)
    }

    /// KEK = HKDF-SHA256(ikm = ZK_e, salt = file id, info = "triad/v1/zone-slot" ‖ zone id ‖ BE32(epoch)).
    static func zoneSlotKey(zoneKey: SecureBytes, fileID: [UInt8], zoneID: [UInt8], epoch: UInt32) -> SecureBytes {
        var info = zoneSlotLabel + zoneID
        info.appendBE(epoch)
        return HKDF.deriveKey(inputKey: zoneKey, salt: fileID, info: info, outputByteCount: 32)
    }

    /// The PublicKeyWrap label of a recovery slot: "triad/v1/recovery-slot" ‖ file id.
    static func recoveryLabel(fileID: [UInt8]) -> [UInt8] { recoverySlotLabel + fileID }

    static let recoveryKEMLabel = Array("triad/v1/recovery-kem".utf8)
    static let recoveryFileLabel = Array("triad/v1/recovery-kem-file".utf8)

    /// The PublicKeyKEM label of a run's encapsulation: "triad/v1/recovery-kem" ‖ certificate fingerprint.
    static func recoveryKEMLabel(fingerprint: [UInt8]) -> [UInt8] { recoveryKEMLabel + fingerprint }

    /// K_file = HKDF-SHA256(ikm = run secret, salt = SHA-256(kem id ‖ KEM ciphertext),
    /// info = "triad/v1/recovery-kem-file" ‖ file id ‖ certificate fingerprint) (docs/format.md §3.4).
    static func recoveryFileKey(runSecret: SecureBytes, kemHash: [UInt8], fileID: [UInt8], fingerprint: [UInt8]) -> SecureBytes {
        HKDF.deriveKey(inputKey: runSecret, salt: kemHash, info: recoveryFileLabel + fileID + fingerprint, outputByteCount: 32)
    }

    private static func fileID(of core: [UInt8]) -> [UInt8] { Array(core[12..<44]) }
}

/// Where fresh randomness comes from. Production uses the OpenSSL CSPRNG; the vector
/// generator injects a fixed sequence so the committed vectors can be regenerated.
struct RandomSource {
    let bytes: (Int) -> [UInt8]
    /// True for `.system`: callers may draw ahead in bulk (only a deterministic test source
    /// must be drawn from in the order the vectors were made).
    var isSystem = false
    static let system = RandomSource(bytes: { SecureRandom.bytes(count: $0) }, isSystem: true)
    func key(_ count: Int) -> SecureBytes {
        var raw = bytes(count)
        defer { wipe(&raw) }
        return SecureBytes(raw)
    }
}
