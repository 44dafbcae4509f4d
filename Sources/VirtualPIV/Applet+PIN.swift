import ISO7816

/// VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER (SP 800-73-4 Part 2 §3.2.1,
/// §3.2.2, §3.2.3) for the PIV Card Application PIN (`80`) and the PUK (`81`).
///
/// Counter discipline: a try is counted (and saved) *before* the comparison, and the
/// counter is restored only after a match, so killing the card between comparison and
/// answer can never give an attacker a free try. A counter at zero answers `6983` without
/// comparing anything (Part 2 §3.2.1).
extension VirtualPIVApplet {
    static let pinReference: UInt8 = 0x80
    static let pukReference: UInt8 = 0x81

    /// PIN format (Part 2 §2.4.3): 6–8 ASCII digits, padded with `FF` to 8 bytes.
    static func isWellFormedPIN(_ b: [UInt8]) -> Bool {
        guard b.count == 8 else { return false }
        let digits = b.prefix { $0 != 0xFF }
        guard digits.count >= 6, digits.allSatisfy({ (0x30...0x39).contains($0) }) else { return false }
        return b.dropFirst(digits.count).allSatisfy { $0 == 0xFF }
    }

    mutating func verify(_ apdu: CommandAPDU) -> Reply {
        guard apdu.p2 == Self.pinReference else { return .status(.referenceNotFound) }
        switch apdu.p1 {
        case 0xFF:
            // Reset the security status ("log out"); the retry counter is unchanged.
            guard apdu.data.isEmpty else { return .status(.incorrectData) }
            pinVerified = false
            pinAlwaysToken = false
            return .ok()
        case 0x00:
            break
        default:
            return .status(.incorrectP1P2)
        }
        if apdu.data.isEmpty {
            // Status query: 9000 if verified, else the tries left.
            if state.pinTriesLeft == 0 { return .status(.authenticationMethodBlocked) }
            return pinVerified ? .ok() : .status(triesLeftSW(state.pinTriesLeft))
        }
        guard Self.isWellFormedPIN(apdu.data) else { return .status(.incorrectData) }
        switch checkPIN(apdu.data) {
        case .matched:
            pinVerified = true
            pinAlwaysToken = true
            return .ok()
        case let .failed(reply):
            pinVerified = false
            pinAlwaysToken = false
            return reply
        }
    }

    mutating func changeReferenceData(_ apdu: CommandAPDU) -> Reply {
        guard apdu.p1 == 0x00 else { return .status(.incorrectP1P2) }
        guard apdu.p2 == Self.pinReference || apdu.p2 == Self.pukReference else {
            return .status(.referenceNotFound)
        }
        guard apdu.data.count == 16 else { return .status(.incorrectData) }
        let old = Array(apdu.data[0..<8]), new = Array(apdu.data[8..<16])
        if apdu.p2 == Self.pinReference {
            guard Self.isWellFormedPIN(old), Self.isWellFormedPIN(new) else { return .status(.incorrectData) }
            switch checkPIN(old) {
            case let .failed(reply):
                pinVerified = false
                return reply
            case .matched:
                let saved = mutateState { $0.setPIN(new); $0.pinIsDefault = false }
                return saved ? .ok() : .status(.memoryFailure)
            }
        }
        switch checkPUK(old) {
        case let .failed(reply):
            return reply
        case .matched:
            let saved = mutateState { $0.setPUK(new); $0.pukIsDefault = false }
            return saved ? .ok() : .status(.memoryFailure)
        }
    }

    /// RESET RETRY COUNTER: PUK ‖ new PIN. Unblocks the PIN; the PIN's security status is
    /// left as it was (Part 2 §3.2.3).
    mutating func resetRetryCounter(_ apdu: CommandAPDU) -> Reply {
        guard apdu.p1 == 0x00 else { return .status(.incorrectP1P2) }
        guard apdu.p2 == Self.pinReference else { return .status(.referenceNotFound) }
        guard apdu.data.count == 16 else { return .status(.incorrectData) }
        let puk = Array(apdu.data[0..<8]), newPIN = Array(apdu.data[8..<16])
        guard Self.isWellFormedPIN(newPIN) else { return .status(.incorrectData) }
        switch checkPUK(puk) {
        case let .failed(reply):
            return reply
        case .matched:
            let saved = mutateState {
                $0.setPIN(newPIN)
                $0.pinIsDefault = false
                $0.pinTriesLeft = $0.pinRetries
            }
            return saved ? .ok() : .status(.memoryFailure)
        }
    }

    enum SecretCheck { case matched, failed(Reply) }

    /// Counts a PIN try, saves, compares, and restores the counter on a match.
    mutating func checkPIN(_ padded: [UInt8]) -> SecretCheck {
        guard state.pinTriesLeft > 0 else { return .failed(.status(.authenticationMethodBlocked)) }
        guard mutateState({ $0.pinTriesLeft -= 1 }) else { return .failed(.status(.memoryFailure)) }
        guard state.pinMatches(padded) else { return .failed(.status(triesLeftSW(state.pinTriesLeft))) }
        guard mutateState({ $0.pinTriesLeft = $0.pinRetries }) else { return .failed(.status(.memoryFailure)) }
        return .matched
    }

    /// Counts a PUK try, saves, compares, and restores the counter on a match.
    mutating func checkPUK(_ padded: [UInt8]) -> SecretCheck {
        guard state.pukTriesLeft > 0 else { return .failed(.status(.authenticationMethodBlocked)) }
        guard mutateState({ $0.pukTriesLeft -= 1 }) else { return .failed(.status(.memoryFailure)) }
        guard state.pukMatches(padded) else { return .failed(.status(triesLeftSW(state.pukTriesLeft))) }
        guard mutateState({ $0.pukTriesLeft = $0.pukRetries }) else { return .failed(.status(.memoryFailure)) }
        return .matched
    }
}
