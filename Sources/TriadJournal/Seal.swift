import Foundation
import TriadCrypto

/// What the ceremony key signs, and how a signed entry carries its signature
/// (docs/ceremony.md §7 "Signatures").
///
/// Every ACT_END and the terminal entry carry, in their payload, `signature`: the ceremony
/// key's ECDSA P-256 / SHA-256 signature (DER, hex) over the domain tag and the canonical
/// encoding of the entry without `hash` and without `payload.signature`. The message holds
/// `seq`, `prev_hash` and the event, so a signature made for one position in one chain is
/// worth nothing anywhere else, and a tail cut off and closed by someone without the key
/// (a forged CLOSED or ABORTED) does not verify.
public enum Seal {
    /// Prefix of every signed message; keeps these signatures from meaning anything else.
    public static let domainTag: [UInt8] = Array("triad-ceremony-seal-v1\n".utf8)
    /// The payload member holding the signature.
    public static let signatureField = "signature"
    /// The BEGIN payload member holding the ceremony key.
    public static let keyField = "ceremony_key"
    /// The only algorithm a ceremony key has (ECDSA over P-256 with SHA-256, FIPS 186-5).
    public static let algorithm = "ecdsa-p256-sha256"

    /// True for the events the ceremony key must sign.
    public static func isSealed(_ event: EventType) -> Bool {
        event == .actEnd || event.isTerminal
    }

    /// The bytes signed for `entry` (its `hash` and `payload.signature` are left out).
    public static func message(_ entry: JournalEntry) -> [UInt8] {
        var unsigned = entry
        if case .object(var members) = entry.payload {
            members[signatureField] = nil
            unsigned.payload = .object(members)
        }
        return domainTag + unsigned.unhashedObject.canonicalBytes
    }

    /// The BEGIN payload member naming a ceremony key: `{"algorithm": …, "spki": hex}`.
    public static func keyMember(_ key: PublicKey) -> CanonicalValue {
        ["algorithm": .string(algorithm), "spki": .string(Hex.encode(key.spkiDER).lowercased())]
    }

    /// The ceremony key of a BEGIN entry, or a sentence saying what is wrong.
    public static func key(of begin: JournalEntry) -> Result<PublicKey, SealError> {
        guard let member = begin.payload[keyField] else { return .failure(.noKey) }
        guard member["algorithm"]?.stringValue == algorithm, let hex = member["spki"]?.stringValue,
              let der = Hex.decode(hex), let key = try? PublicKey(spkiDER: der), key.algorithm == .ecP256 else {
            return .failure(.badKey)
        }
        return .success(key)
    }

    /// Checks the signature of a sealed entry against `key`.
    public static func verify(_ entry: JournalEntry, key: PublicKey) -> Result<Void, SealError> {
        guard let hex = entry.payload[signatureField]?.stringValue else { return .failure(.unsigned) }
        guard let signature = Hex.decode(hex), key.verify(signature: signature, for: message(entry), scheme: .ecdsaSHA256) else {
            return .failure(.badSignature)
        }
        return .success(())
    }
}

/// Why a sealed entry does not verify.
public enum SealError: Error, Equatable, CustomStringConvertible {
    case noKey, badKey, unsigned, badSignature

    /// The sentence `ceremony verify` prints after the entry number.
    public var description: String {
        switch self {
        case .noKey: return "BEGIN names no ceremony key (\(Seal.keyField)); the transcript is unsigned"
        case .badKey: return "BEGIN's ceremony key is not an \(Seal.algorithm) public key in SPKI hex"
        case .unsigned: return "carries no signature by the ceremony key"
        case .badSignature: return "its signature does not verify with the ceremony key of BEGIN"
        }
    }
}
