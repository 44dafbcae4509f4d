import TriadCrypto
import TriadPCSC
import ISO7816

/// A PIV client (NIST SP 800-73-4 Part 2) over any `CardTransport`.
///
/// Each method is one card command (or the few a command needs, e.g. mutual authentication);
/// none retries on its own, and none holds state besides the transport: the card keeps the
/// security status (PIN verified, management key authenticated), and that status is lost on
/// reset, so callers that need "VERIFY then use the key" wrap both in
/// `transport.withTransaction` (see `PIVKeyOperations`).
public final class PIVClient {
    /// The card the commands go to.
    public let transport: CardTransport
    let exchange: APDUExchange

    /// A client for the card behind `transport`; sends nothing until a command is called.
    public init(transport: CardTransport) {
        self.transport = transport
        self.exchange = APDUExchange(transport: transport)
    }

    /// What the empty VERIFY says about the PIN (SP 800-73-4 Part 2 §3.2.1).
    public enum PINStatus: Equatable, Sendable {
        /// `9000`: the PIN is already verified in this session.
        case verified
        /// `63Cx`: not verified, x tries left.
        case triesLeft(Int)
        /// `6983` (or `63C0`): blocked.
        case blocked
    }

    // MARK: - SELECT (Part 2 §3.1.1)

    /// Selects the PIV application with the right-truncated AID.
    /// - Returns: the application property template (tag `61`) contents, possibly empty.
    /// - Throws: `.noPIVApplet` when the card answers `6A82`.
    @discardableResult
    public func select() throws -> [UInt32: [UInt8]] {
        let r = try exchange.send(CommandAPDU(ins: Instruction.select.rawValue, p1: 0x04, p2: 0x00,
                                              data: PIVIdentifiers.applicationID, le: 256), instruction: .select)
        guard r.sw == 0x9000 else { throw PIVError.status(r.sw, for: .select) }
        if r.data.isEmpty { return [:] }
        let template = try TLV.parseSingle(r.data, tag: 0x61, context: "SELECT application property template")
        // The template may list one `AC` (cryptographic algorithms) per algorithm, so repeated
        // tags are allowed here; the AID (`4F`) must appear at most once.
        let entries: [TLV]
        do { entries = try TLV.parseAll(template.value) } catch let error as TLVError {
            throw PIVError.malformedResponse(problem: "SELECT application property template: \(error)")
        }
        var fields: [UInt32: [UInt8]] = [:]
        for entry in entries where fields[entry.tag] == nil { fields[entry.tag] = entry.value }
        guard entries.filter({ $0.tag == 0x4F }).count <= 1 else {
            throw PIVError.malformedResponse(problem: "SELECT application property template: tag 4F appears twice")
        }
        if let aid = fields[0x4F] {
            // Full AID, or only the PIX (YubiKey): both must name the PIV application.
            let pix: [UInt8] = [0x00, 0x00, 0x10, 0x00]
            guard aid.starts(with: PIVIdentifiers.applicationID) || aid.starts(with: pix) else {
                throw PIVError.malformedResponse(problem: "SELECT: the application identifier is not PIV's")
            }
        }
        return fields
    }

    // MARK: - VERIFY (Part 2 §3.2.1)

    /// The PIN's status without spending a try (VERIFY with no data).
    public func pinStatus() throws -> PINStatus {
        let r = try exchange.send(CommandAPDU(ins: Instruction.verify.rawValue, p1: 0x00, p2: PIVIdentifiers.pinReference),
                                  instruction: .verify)
        guard r.data.isEmpty else { throw PIVError.malformedResponse(problem: "VERIFY status query returned data") }
        switch r.sw {
        case 0x9000: return .verified
        case 0x63C1...0x63CF, 0x6301...0x630F: return .triesLeft(Int(r.sw.rawValue & 0x0F))
        case 0x63C0, 0x6300, 0x6983: return .blocked
        default: throw PIVError.status(r.sw, for: .verify)
        }
    }

    /// Verifies the PIN. Spends one try when it is wrong.
    /// - Throws: `.pinIncorrect(triesLeft:)`, `.pinBlocked`, `.invalidPINFormat`.
    public func verifyPIN(_ pin: SecureBytes) throws {
        var data = try Self.referenceData(pin, what: "PIN")
        defer { wipe(&data) }
        var command = CommandAPDU(ins: Instruction.verify.rawValue, p1: 0x00, p2: PIVIdentifiers.pinReference, data: data)
        defer { wipe(&command.data) }
        let r = try exchange.send(command, instruction: .verify)
        guard r.sw == 0x9000 else { throw PIVError.status(r.sw, for: .verify) }
        try Self.expectNoData(r, .verify)
    }

    /// Clears the PIN's verified state (VERIFY with P1 = `FF`); the retry counter is unchanged.
    public func logout() throws {
        let r = try exchange.send(CommandAPDU(ins: Instruction.verify.rawValue, p1: 0xFF, p2: PIVIdentifiers.pinReference),
                                  instruction: .verify)
        guard r.sw == 0x9000 else { throw PIVError.status(r.sw, for: .verify) }
        try Self.expectNoData(r, .verify)
    }

    // MARK: - CHANGE REFERENCE DATA (Part 2 §3.2.2) and RESET RETRY COUNTER (§3.2.3)

    /// Changes the PIN (reference `80`).
    public func changePIN(old: SecureBytes, new: SecureBytes) throws {
        try changeReferenceData(reference: PIVIdentifiers.pinReference, old: old, new: new, what: "PIN")
    }

    /// Changes the PUK (reference `81`).
    public func changePUK(old: SecureBytes, new: SecureBytes) throws {
        try changeReferenceData(reference: PIVIdentifiers.pukReference, old: old, new: new, what: "PUK")
    }

    private func changeReferenceData(reference: UInt8, old: SecureBytes, new: SecureBytes, what: String) throws {
        var data = try Self.referenceData(old, what: "current \(what)") + Self.referenceData(new, what: "new \(what)")
        defer { wipe(&data) }
        var command = CommandAPDU(ins: Instruction.changeReferenceData.rawValue, p1: 0x00, p2: reference, data: data)
        defer { wipe(&command.data) }
        let r = try exchange.send(command, instruction: .changeReferenceData)
        guard r.sw == 0x9000 else { throw PIVError.status(r.sw, for: .changeReferenceData, reference: reference) }
        try Self.expectNoData(r, .changeReferenceData)
    }

    /// Unblocks the PIN with the PUK and sets a new PIN.
    /// - Throws: `.pukIncorrect(triesLeft:)`, `.pukBlocked`.
    public func unblockPIN(puk: SecureBytes, newPIN: SecureBytes) throws {
        var data = try Self.referenceData(puk, what: "PUK") + Self.referenceData(newPIN, what: "new PIN")
        defer { wipe(&data) }
        var command = CommandAPDU(ins: Instruction.resetRetryCounter.rawValue, p1: 0x00, p2: PIVIdentifiers.pinReference, data: data)
        defer { wipe(&command.data) }
        let r = try exchange.send(command, instruction: .resetRetryCounter)
        guard r.sw == 0x9000 else { throw PIVError.status(r.sw, for: .resetRetryCounter, reference: PIVIdentifiers.pukReference) }
        try Self.expectNoData(r, .resetRetryCounter)
    }

    /// SP 800-73-4 Part 2 §2.4.3: PIN and PUK are 6–8 bytes, padded to 8 with `FF`.
    /// The standard asks for digits, but YubiKeys accept any printable PIN, so only what the
    /// encoding itself needs is checked here (length, no `FF`); the card judges the rest.
    static func referenceData(_ secret: SecureBytes, what: String) throws -> [UInt8] {
        var bytes = secret.bytes
        defer { wipe(&bytes) }
        guard (6...8).contains(bytes.count) else {
            throw PIVError.invalidPINFormat(problem: "the \(what) must have 6 to 8 characters, it has \(bytes.count)")
        }
        guard !bytes.contains(0xFF) else { throw PIVError.invalidPINFormat(problem: "the \(what) contains a byte FF") }
        return bytes + [UInt8](repeating: 0xFF, count: 8 - bytes.count)
    }

    // MARK: - GET DATA (Part 2 §3.1.2) and PUT DATA (§3.3.1)

    /// Reads a data object and returns the contents of its `53` wrapper.
    /// - Parameter object: the object's tag bytes, e.g. `5F C1 0B`.
    public func getData(object: [UInt8]) throws -> [UInt8] {
        let request = TLV(tag: 0x5C, value: object).encoded
        let r = try exchange.send(CommandAPDU(ins: Instruction.getData.rawValue, p1: 0x3F, p2: 0xFF, data: request, le: 256),
                                  instruction: .getData)
        guard r.sw == 0x9000 else { throw PIVError.status(r.sw, for: .getData) }
        return try TLV.parseSingle(r.data, tag: 0x53, context: "GET DATA \(Hex.encode(object))").value
    }

    /// Writes a data object (its contents are wrapped in `53`). Needs the management key.
    public func putData(object: [UInt8], contents: [UInt8]) throws {
        let data = TLV(tag: 0x5C, value: object).encoded + TLV(tag: 0x53, value: contents).encoded
        let r = try exchange.send(CommandAPDU(ins: Instruction.putData.rawValue, p1: 0x3F, p2: 0xFF, data: data),
                                  instruction: .putData)
        guard r.sw == 0x9000 else { throw PIVError.status(r.sw, for: .putData) }
        try Self.expectNoData(r, .putData)
    }

    /// Commands without response data (VERIFY, CHANGE REFERENCE DATA, …) must return none.
    static func expectNoData(_ r: ResponseAPDU, _ instruction: Instruction) throws {
        guard r.data.isEmpty else { throw PIVError.malformedResponse(problem: "\(instruction.name) returned \(r.data.count) bytes of data where none are defined") }
    }

    // MARK: - YubiKey extensions (ykpiv.h: GET VERSION FD, GET SERIAL F8)

    /// The firmware version (major, minor, patch); `nil` when the card does not implement it.
    public func version() throws -> (major: UInt8, minor: UInt8, patch: UInt8)? {
        let r = try exchange.send(CommandAPDU(ins: Instruction.getVersion.rawValue, p1: 0, p2: 0, le: 256), instruction: .getVersion)
        if r.sw == 0x6D00 || r.sw == 0x6E00 || r.sw == 0x6A81 { return nil }
        guard r.sw == 0x9000 else { throw PIVError.status(r.sw, for: .getVersion) }
        guard r.data.count == 3 else { throw PIVError.malformedResponse(problem: "GET VERSION returned \(r.data.count) bytes, not 3") }
        return (r.data[0], r.data[1], r.data[2])
    }

    /// The card's serial number; `nil` when the card does not implement GET SERIAL.
    public func serial() throws -> UInt32? {
        let r = try exchange.send(CommandAPDU(ins: Instruction.getSerial.rawValue, p1: 0, p2: 0, le: 256), instruction: .getSerial)
        if r.sw == 0x6D00 || r.sw == 0x6E00 || r.sw == 0x6A81 { return nil }
        guard r.sw == 0x9000 else { throw PIVError.status(r.sw, for: .getSerial) }
        guard r.data.count == 4 else { throw PIVError.malformedResponse(problem: "GET SERIAL returned \(r.data.count) bytes, not 4") }
        return r.data.reduce(0) { $0 << 8 | UInt32($1) }
    }
}
