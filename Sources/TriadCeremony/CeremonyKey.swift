import Foundation
import TriadCrypto
import TriadJournal

/// The per-ceremony signing key (docs/ceremony.md §7 "Signatures").
///
/// A fresh ECDSA P-256 key made in memory when the ceremony begins; its public key goes
/// into BEGIN. It signs every ACT_END and the terminal entry (`Seal`), and the terminal
/// entry's checkpoint (`Checkpoint`). After the terminal entry it is dropped: the OpenSSL
/// key object is freed, which clears the private scalar (OpenSSL frees EC private keys with
/// BN_clear_free), so nobody — not the tool, not an administrator with the laptop — can
/// sign for this ceremony again. A transcript cut short and closed later cannot carry its
/// signature.
final class CeremonyKey {
    private var key: PrivateKey?
    let publicKey: PublicKey

    init() throws {
        let key = try PrivateKey.generate(.ecP256)
        self.key = key
        publicKey = key.publicKey
    }

    /// True once the private key is gone.
    var isZeroised: Bool { key == nil }

    /// The payload to store for `entry`: with `signature` (and, for a terminal entry, the
    /// checkpoint of every entry before it).
    func seal(_ entry: JournalEntry) throws -> CanonicalValue {
        guard let key else { throw CryptoError.invalidKey(problem: "the ceremony key is already zeroised") }
        var members = entry.payload.objectValue ?? [:]
        if entry.isTerminal {
            let body = Checkpoint.body(ceremony: entry.ceremony, size: entry.seq - 1, headHash: entry.prevHash)
            members[Checkpoint.field] = .string(try Checkpoint.signedNote(body: body, ceremony: entry.ceremony, key: key))
        }
        var signed = entry
        signed.payload = .object(members)
        members[Seal.signatureField] = .string(Hex.encode(try key.sign(Seal.message(signed), scheme: .ecdsaSHA256)).lowercased())
        return .object(members)
    }

    /// Drops the private key (see the type's comment); idempotent.
    func zeroise() { key = nil }
}

/// The verifier's side: every sealed entry signed by the key in BEGIN, and the terminal
/// entry's checkpoint valid.
enum SealCheck {
    static func check(_ entries: [JournalEntry]) throws {
        let key: PublicKey
        switch Seal.key(of: entries[0]) {
        case .success(let k): key = k
        case .failure(let e): throw VerifyFailure(entry: 1, message: e.description)
        }
        for e in entries where Seal.isSealed(e.event) {
            if case .failure(let error) = Seal.verify(e, key: key) {
                let who = e.payload["closed_by"] != nil ? " (closed afterwards by `ceremony abort`, which has no ceremony key)" : ""
                throw VerifyFailure(entry: Int(e.seq), message: "\(e.event) \(error)\(who): it was not written by the ceremony that began this transcript")
            }
            if e.isTerminal {
                guard let note = e.payload[Checkpoint.field]?.stringValue else {
                    throw VerifyFailure(entry: Int(e.seq), message: "\(e.event) carries no checkpoint")
                }
                if let problem = Checkpoint.problem(note: note, ceremony: e.ceremony, size: e.seq - 1, headHash: e.prevHash, key: key) {
                    throw VerifyFailure(entry: Int(e.seq), message: "the checkpoint in \(e.event): \(problem)")
                }
            }
        }
    }
}
