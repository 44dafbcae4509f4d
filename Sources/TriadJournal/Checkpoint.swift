import Foundation
import TriadCrypto

/// The journal head as a C2SP checkpoint in a C2SP signed note (c2sp.org/tlog-checkpoint,
/// c2sp.org/signed-note), so a witness outside the room can cosign it
/// (docs/ceremony.md §7 "Checkpoint").
///
/// Body: the origin line `triad-ceremony/<ceremony id>`, the tree size (the number of
/// entries it covers), and the root hash — here the head entry's chain hash, base64. A
/// ceremony journal is a hash chain, not a Merkle tree, so the "root hash" is that of the
/// newest entry, which commits to every entry before it; no inclusion or consistency
/// proofs exist (docs/ceremony.md says so). The note is signed by the ceremony key with
/// signature type 0x02 (ECDSA), key name = origin, key ID = the first four bytes of the
/// SHA-256 of the key's DER SPKI, as c2sp.org/signed-note assigns for ECDSA.
///
/// The ceremony key exists only while the ceremony runs, so the checkpoint is made at the
/// terminal entry: it covers every entry before the terminal one, and the terminal entry
/// carries it in `payload.checkpoint` (signed again there by the seal).
public enum Checkpoint {
    /// The payload member of the terminal entry that holds the signed note.
    public static let field = "checkpoint"

    /// The origin (and key name) of a ceremony's checkpoints.
    public static func origin(ceremony: String) -> String { "triad-ceremony/\(ceremony)" }

    /// The checkpoint body for `size` entries whose newest has chain hash `headHash` (hex).
    public static func body(ceremony: String, size: Int64, headHash: String) -> String {
        "\(origin(ceremony: ceremony))\n\(size)\n\(Data(Hex.decode(headHash) ?? []).base64EncodedString())\n"
    }

    /// c2sp.org/signed-note key ID for an ECDSA key: SHA-256(DER SPKI)[:4].
    public static func keyID(_ key: PublicKey) -> [UInt8] { Array(SHA256.hash(key.spkiDER).prefix(4)) }

    /// The signed note: body, blank line, `— <origin> base64(key ID ‖ DER signature)`.
    public static func signedNote(body: String, ceremony: String, key: any SigningKeyOperations) throws -> String {
        let signature = try key.sign(Array(body.utf8), scheme: .ecdsaSHA256)
        let blob = Data(keyID(key.publicKey) + signature).base64EncodedString()
        return body + "\n\u{2014} \(origin(ceremony: ceremony)) \(blob)\n"
    }

    /// Checks `note` is the checkpoint of the `size` entries ending in `headHash`, signed
    /// by `key`; returns a sentence naming what is wrong, or nil.
    public static func problem(note: String, ceremony: String, size: Int64, headHash: String, key: PublicKey) -> String? {
        guard let split = note.range(of: "\n\n", options: .backwards) else { return "it is not a signed note (no blank line)" }
        let body = String(note[..<split.lowerBound]) + "\n"
        if body != Self.body(ceremony: ceremony, size: size, headHash: headHash) {
            return "its body is not origin \(origin(ceremony: ceremony)), size \(size) and the hash of entry \(size)"
        }
        let lines = note[split.upperBound...].split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count == 2, lines[1].isEmpty else { return "it must carry exactly one signature line" }
        let prefix = "\u{2014} \(origin(ceremony: ceremony)) "
        guard lines[0].hasPrefix(prefix), let blob = Data(base64Encoded: String(lines[0].dropFirst(prefix.count))),
              blob.count > 4 else { return "its signature line is malformed" }
        let bytes = Array(blob)
        guard Array(bytes.prefix(4)) == keyID(key) else { return "its key ID is not the ceremony key's" }
        guard key.verify(signature: Array(bytes.dropFirst(4)), for: Array(body.utf8), scheme: .ecdsaSHA256) else {
            return "its signature does not verify with the ceremony key"
        }
        return nil
    }
}
