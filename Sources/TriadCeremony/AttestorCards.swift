import Foundation
import TriadCrypto
import TriadPCSC
import TriadPIV

/// Finding an attesting person's own card and making it sign (docs/ceremony.md §7
/// "Attestations"): the card is looked for in every reader, by its digital signature
/// certificate (slot 9C, read with GET DATA of SP 800-73-4 object 5FC10A); it signs with the
/// 9C key after VERIFY of its holder's PIN in the same card transaction (`PIVKeyOperations`).
enum AttestorCards {
    /// Why a person's card could not sign; `reason` is journaled or shown.
    struct Problem: Error, CustomStringConvertible {
        var reason: String
        var description: String { reason }
    }

    /// The first card in any reader whose 9C certificate `accept`s, ready to sign, or nil when
    /// no reader holds one. `askPIN` is called (with the tries left) at the first operation
    /// that needs the PIN.
    static func find(allowLastTry: Bool = false, askPIN: @escaping (Int?) throws -> SecureBytes,
                     accept: @escaping (Certificate) -> Bool) -> PIVKeyOperations? {
        try? CardReader.open(matching: nil) { transport -> PIVKeyOperations in
            let key = try PIVKeyOperations(transport: transport, slot: .signature, allowLastPinTry: allowLastTry, askPIN: askPIN)
            guard accept(key.certificate) else { throw Problem(reason: "not this person's card") }
            return key
        }
    }

    /// Looks for the card, asking its holder to insert it (and press Enter, or type `abort`)
    /// while it is not in any reader; unattended runs look three times, two seconds apart.
    static func await(_ holder: String, prompter: Prompter, key: String, allowLastTry: Bool = false,
                      askPIN: @escaping (Int?) throws -> SecureBytes, accept: @escaping (Certificate) -> Bool) throws -> PIVKeyOperations {
        var looks = 0
        while true {
            if let card = find(allowLastTry: allowLastTry, askPIN: askPIN, accept: accept) { return card }
            looks += 1
            if prompter.mode != .interactive {
                guard looks < 3 else { throw Problem(reason: "\(holder): no card of theirs in any reader") }
                sleep(2)
                continue
            }
            let answer = try prompter.ask(key: key, question: "\(holder): insert your card into a reader, then press Enter — or type abort",
                                          defaultAnswer: "").lowercased()
            if answer == "abort" { throw Problem(reason: "\(holder): the card was not inserted") }
        }
    }

    /// Signs `message` with the card's 9C key in the scheme its certificate's key calls for.
    static func sign(_ card: PIVKeyOperations, _ message: [UInt8]) throws -> [UInt8] {
        guard let scheme = Attestation.scheme(for: card.publicKey) else {
            throw Problem(reason: "the card's 9C key (\(card.publicKey.algorithm)) cannot sign an attestation")
        }
        return try card.sign(message, scheme: scheme)
    }

    /// The tries left of a wrong PIN, when `error` is one.
    static func wrongPINTriesLeft(_ error: Error) -> Int? {
        if case PIVError.pinIncorrect(let n) = error { return n }
        return nil
    }
}
