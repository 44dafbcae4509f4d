import TriadPCSC
import ISO7816

/// Everything that can go wrong talking PIV to a card, with the values a person needs to act
/// (tries left, the status word, what was malformed).
///
/// Status words follow SP 800-73-4 Part 2 §3 (per command) and Part 1 §5 (Table 6, global
/// list); `PIVError.status(_:for:)` is the one place that maps them.
public enum PIVError: Error, Equatable, Sendable {
    /// VERIFY / CHANGE REFERENCE DATA: wrong PIN (`63Cx`), `triesLeft` attempts remain.
    case pinIncorrect(triesLeft: Int)
    /// The PIN retry counter is 0 (`6983`, or `63C0`).
    case pinBlocked
    /// RESET RETRY COUNTER / CHANGE REFERENCE DATA (PUK): wrong PUK (`63Cx`).
    case pukIncorrect(triesLeft: Int)
    /// The PUK retry counter is 0: the card cannot be unblocked any more.
    case pukBlocked
    /// Only one PIN try is left and the caller did not allow spending it.
    case lastPinTryRefused
    /// The slot's key needs the PIN, and the caller gave no way to ask for it.
    case pinUnavailable(slot: UInt8)
    /// The card's signature does not verify with the public key of the slot's certificate:
    /// the certificate is not the key's, or the card is faulty or hostile.
    case invalidSignature(slot: UInt8)
    /// The PIN or PUK does not have the form the card takes (6–8 characters).
    case invalidPINFormat(problem: String)
    /// `6982`: the command needs a verified PIN or an authenticated management key.
    case securityStatusNotSatisfied
    /// Management-key authentication failed: wrong key, or the card did not prove it has it.
    case authenticationFailed
    /// `6A82`: no such data object / key (e.g. an empty certificate slot).
    case notFound
    /// `6A82` on SELECT: the card has no PIV application.
    case noPIVApplet
    /// The card's key or certificate is of a kind this client does not handle.
    case unsupportedAlgorithm(algorithm: String)
    /// A status word the command does not define, with the instruction it answered.
    case unexpectedStatus(status: StatusWord, instruction: String)
    /// The response broke the specification (bad TLV, wrong length, wrong tag…).
    case malformedResponse(problem: String)
    /// The card left the reader (or the reader went away) during the operation.
    case cardRemoved
    /// Another program reset the card between our commands; repeat the step.
    case cardReset
    /// Any other transport failure (pcscd down, sharing violation…), described.
    case transport(problem: String)

    /// Maps the status word of a failed command (SP 800-73-4 Part 1 Table 6 / Part 2 §3).
    /// - Parameter reference: the key reference the command addressed (`80` PIN, `81` PUK),
    ///   so that `63Cx` / `6983` name the right secret.
    static func status(_ sw: StatusWord, for instruction: Instruction, reference: UInt8 = 0x80) -> PIVError {
        let isPUK = reference == 0x81 || instruction == .resetRetryCounter
        switch sw {
        case 0x63C0...0x63CF, 0x6300...0x630F:
            // 0x630x: older YubiKeys report the tries left this way (docs/piv-client.md "Error mapping").
            let tries = Int(sw.rawValue & 0x0F)
            if isPUK { return tries == 0 ? .pukBlocked : .pukIncorrect(triesLeft: tries) }
            return tries == 0 ? .pinBlocked : .pinIncorrect(triesLeft: tries)
        case 0x6983: return isPUK ? .pukBlocked : .pinBlocked
        case 0x6982:
            return instruction == .generalAuthenticate && reference == 0x9B ? .authenticationFailed : .securityStatusNotSatisfied
        case 0x6A82: return instruction == .select ? .noPIVApplet : .notFound
        default: return .unexpectedStatus(status: sw, instruction: instruction.name)
        }
    }

    /// Maps a transport failure: removal and reset get their own cases.
    static func transport(_ error: Error) -> PIVError {
        if let piv = error as? PIVError { return piv }
        if let pcsc = error as? PCSCError {
            switch pcsc.kind {
            case .cardRemoved, .noCard, .noReader: return .cardRemoved
            case .cardReset: return .cardReset
            default: return .transport(problem: pcsc.description)
            }
        }
        return .transport(problem: String(describing: error))
    }
}

extension PIVError: CustomStringConvertible {
    /// One sentence saying what happened and what to do.
    public var description: String {
        switch self {
        case .pinIncorrect(let n):
            return "wrong PIN: \(n) \(n == 1 ? "try" : "tries") left before the card blocks the PIN; check the PIN and repeat the step"
        case .pinBlocked:
            return "the card's PIN is blocked (0 tries left): unblock it with the PUK (yubico-piv-tool -a unblock-pin) or run the card replacement ceremony"
        case .pukIncorrect(let n):
            return "wrong PUK: \(n) \(n == 1 ? "try" : "tries") left before the PUK blocks; check the PUK and repeat the step"
        case .pukBlocked:
            return "the card's PUK is blocked: the PIN can no longer be unblocked; run the card replacement ceremony"
        case .lastPinTryRefused:
            return "the card has only 1 PIN try left: refusing to spend it unless that is explicitly allowed (only when the PIN is certainly right); or unblock the PIN with the PUK (yubico-piv-tool -a unblock-pin)"
        case .pinUnavailable(let slot):
            return "the key in slot \(hex8(slot)) needs the PIN and no PIN entry was set up for it"
        case .invalidSignature(let slot):
            return "the card's signature does not verify with the certificate in slot \(hex8(slot)): the certificate does not belong to the card's key, or the card is faulty; re-enrol the slot"
        case .invalidPINFormat(let why):
            return "the PIN or PUK is not in the card's format: \(why)"
        case .securityStatusNotSatisfied:
            return "the card refused the operation (security status not satisfied, SW 6982): verify the PIN or authenticate with the management key first"
        case .authenticationFailed:
            return "management-key authentication failed: the management key is wrong for this card"
        case .notFound:
            return "the card has no such object or key (SW 6A82): provision the slot first"
        case .noPIVApplet:
            return "the card has no PIV application (SELECT answered 6A82): use a PIV card"
        case .unsupportedAlgorithm(let what):
            return "unsupported card key or algorithm: \(what)"
        case .unexpectedStatus(let sw, let ins):
            return "the card answered \(ins) with unexpected status \(sw): check that it is a PIV card and repeat the step"
        case .malformedResponse(let what):
            return "the card sent a malformed response: \(what); the card may be faulty or not a PIV card"
        case .cardRemoved:
            return "the card was removed (or its reader went away) during the operation: insert it and repeat the step; nothing was written"
        case .cardReset:
            return "another program reset the card during the operation: repeat the step"
        case .transport(let what):
            return "smartcard transport failed: \(what)"
        }
    }
}
