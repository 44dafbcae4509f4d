import TriadCrypto
import ISO7816

/// Saves the card's persistent state; the applet calls it after every change that must
/// survive a restart, *before* it answers (so a PIN try is counted even if the process
/// dies right after the answer).
public protocol CardStatePersistence {
    func save(_ state: VirtualCardState) throws
}

/// The PIV card application as a pure function of its state: raw command APDU in, raw
/// response APDU (data ‖ SW1 SW2) out (NIST SP 800-73-4 Part 2 §3, plus the YubiKey
/// extensions yubico-piv-tool relies on, docs/virtual-card.md "What the card implements").
///
/// Transport rules implemented here, once, for every instruction:
/// - command chaining (CLA `10`): chunks are collected and answered `9000`; the chain is
///   processed when the last chunk (CLA `00`, same INS P1 P2) arrives; any other command
///   drops a partial chain (Part 2 §3.2.4: an interrupted chain has no effect);
/// - responses longer than Le (at most 256 bytes) are cut, the rest served by
///   GET RESPONSE after `61xx`; any other command discards what is pending;
/// - power off and reset clear every security status (ISO 7816-3 cold/warm reset).
public struct VirtualPIVApplet {
    /// The persistent state as of the last command.
    public private(set) var state: VirtualCardState
    var persistence: (any CardStatePersistence)?

    // Volatile state: lost on power off, reset, or selecting another application.
    var pinVerified = false
    /// Set by a successful VERIFY and spent by one "PIN always" operation (slot 9C).
    var pinAlwaysToken = false
    var adminAuthenticated = false
    var pendingWitness: [UInt8]?
    var pendingChallenge: [UInt8]?
    var chain: (ins: UInt8, p1: UInt8, p2: UInt8, data: [UInt8])?
    var pendingResponse: [UInt8] = []

    /// Largest command a chain may assemble (a certificate object is well below this).
    static let maxChainLength = 16 * 1024

    /// - Parameters:
    ///   - state: the card's persistent state (from `CardStateFile.load` or `.blank`).
    ///   - persistence: where to save it after a change; nil keeps it in memory only.
    public init(state: VirtualCardState, persistence: (any CardStatePersistence)? = nil) {
        self.state = state
        self.persistence = persistence
    }

    /// The ATR vpcd hands to pcscd.
    public var atr: [UInt8] { ATR.bytes }

    /// vpcd control `00`/`02`: power off or reset. Clears PIN and admin status, the pending
    /// response, a partial chain and any authentication challenge.
    public mutating func powerOff() { clearVolatile() }
    /// vpcd reset: the same as a power cycle.
    public mutating func reset() { clearVolatile() }

    mutating func clearVolatile() {
        pinVerified = false
        pinAlwaysToken = false
        adminAuthenticated = false
        pendingWitness = nil
        pendingChallenge = nil
        chain = nil
        pendingResponse = []
    }

    /// Processes one command APDU and returns the response APDU (never empty).
    public mutating func process(_ command: [UInt8]) -> [UInt8] {
        guard let apdu = CommandAPDU(bytes: command) else {
            chain = nil
            pendingResponse = []
            return StatusWord.wrongLength.bytes
        }
        guard apdu.cla & ~0x10 == 0 else {
            chain = nil
            pendingResponse = []
            return StatusWord.classNotSupported.bytes
        }
        if apdu.ins == Instruction.getResponse.rawValue {
            return getResponse(apdu)
        }
        pendingResponse = []
        if apdu.ins != Instruction.generalAuthenticate.rawValue || apdu.p2 != 0x9B {
            pendingWitness = nil
            pendingChallenge = nil
        }

        var full = apdu
        if let partial = chain {
            chain = nil
            if partial.ins == apdu.ins && partial.p1 == apdu.p1 && partial.p2 == apdu.p2 {
                full.data = partial.data + apdu.data
            }
        }
        if apdu.isChained {
            guard full.data.count <= Self.maxChainLength else {
                return StatusWord.notEnoughMemory.bytes
            }
            chain = (apdu.ins, apdu.p1, apdu.p2, full.data)
            return StatusWord.success.bytes
        }
        full.cla = 0
        let reply = dispatch(full)
        return deliver(reply, le: full.le)
    }

    /// Cuts a reply to at most Le (and never more than 256) bytes, keeping the rest for
    /// GET RESPONSE (ISO 7816-4 §5.1.3; ykpiv's receive buffer holds 256 + SW only).
    mutating func deliver(_ reply: Reply, le: Int?) -> [UInt8] {
        guard reply.sw == .success else { return reply.data + reply.sw.bytes }
        let limit = min(le ?? 256, 256)
        if reply.data.count <= limit { return reply.data + reply.sw.bytes }
        pendingResponse = Array(reply.data[limit...])
        return Array(reply.data[..<limit]) + StatusWord.moreDataAvailable(pendingResponse.count).bytes
    }

    mutating func getResponse(_ apdu: CommandAPDU) -> [UInt8] {
        chain = nil
        guard apdu.p1 == 0, apdu.p2 == 0 else {
            pendingResponse = []
            return StatusWord.incorrectP1P2.bytes
        }
        guard !pendingResponse.isEmpty else { return StatusWord.conditionsOfUseNotSatisfied.bytes }
        let rest = pendingResponse
        pendingResponse = []
        return deliver(.ok(rest), le: apdu.le)
    }

    mutating func dispatch(_ apdu: CommandAPDU) -> Reply {
        guard let ins = Instruction(rawValue: apdu.ins) else { return .status(.instructionNotSupported) }
        switch ins {
        case .select: return select(apdu)
        case .getData: return getData(apdu)
        case .putData: return putData(apdu)
        case .verify: return verify(apdu)
        case .changeReferenceData: return changeReferenceData(apdu)
        case .resetRetryCounter: return resetRetryCounter(apdu)
        case .generalAuthenticate: return generalAuthenticate(apdu)
        case .generateAsymmetricKeyPair: return generateKeyPair(apdu)
        case .getResponse: return .status(.conditionsOfUseNotSatisfied)
        case .getVersion: return .ok(Self.firmwareVersion)
        case .getSerial: return .ok(bigEndian(state.serial))
        case .getMetadata: return getMetadata(apdu)
        case .setManagementKey: return setManagementKey(apdu)
        case .reset: return resetApplet(apdu)
        case .setPINRetries: return setPINRetries(apdu)
        case .importAsymmetricKey: return importKey(apdu)
        }
    }

    /// The firmware version reported by GET VERSION. 5.4.3 makes ykpiv use VERIFY `FF`
    /// to log out and GET METADATA to learn the management-key algorithm (ykpiv.c
    /// `is_version_compatible`), both of which this card implements.
    public static let firmwareVersion: [UInt8] = [5, 4, 3]

    /// Saves the state; false (and the caller answers `6581`) if that failed.
    mutating func persist() -> Bool {
        guard let persistence else { return true }
        do {
            try persistence.save(state)
            return true
        } catch {
            return false
        }
    }

    /// Replaces the persistent state (used by RESET) and saves it.
    mutating func replaceState(_ newState: VirtualCardState) -> Bool {
        state = newState
        return persist()
    }

    /// Applies a change to the persistent state and saves it.
    mutating func mutateState(_ change: (inout VirtualCardState) -> Void) -> Bool {
        change(&state)
        return persist()
    }
}

func bigEndian(_ v: UInt32) -> [UInt8] {
    [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
}

/// Instruction bytes: SP 800-73-4 Part 2 Table 5, ISO 7816-4 GET RESPONSE, and the YubiKey
/// extensions (ykpiv.h `YKPIV_INS_*`).
enum Instruction: UInt8 {
    case select = 0xA4
    case getData = 0xCB
    case putData = 0xDB
    case verify = 0x20
    case changeReferenceData = 0x24
    case resetRetryCounter = 0x2C
    case generalAuthenticate = 0x87
    case generateAsymmetricKeyPair = 0x47
    case getResponse = 0xC0
    case getVersion = 0xFD
    case getSerial = 0xF8
    case getMetadata = 0xF7
    case setManagementKey = 0xFF
    case reset = 0xFB
    case setPINRetries = 0xFA
    case importAsymmetricKey = 0xFE
}
