import TriadPCSC
import ISO7816

/// The one place that turns a logical PIV command into APDU exchanges (ISO/IEC 7816-4 §5.3):
///
/// - **command chaining**: data longer than 255 bytes goes out in 255-byte chunks with CLA
///   `10`, the last one with the original CLA (ISO 7816-4 §5.1.1.1; SP 800-73-4 Part 2 §3.2.4
///   uses it for RSA GENERAL AUTHENTICATE and §3.3.1 for PUT DATA);
/// - **`61xx` GET RESPONSE**: more response bytes wait; fetch them with `00 C0 00 00 xx`
///   (ISO 7816-4 §7.6.1), up to `maximumResponseLength` bytes and `maximumRounds` rounds so a
///   hostile or broken card cannot make us loop or allocate without bound;
/// - **`6Cxx`**: wrong Le; repeat once with Le = xx (what ykpiv does).
///
/// Transport failures come out as `PIVError` (`.cardRemoved`, `.cardReset`, `.transport`).
struct APDUExchange {
    let transport: CardTransport

    /// Upper bound on one assembled response: the largest PIV object a YubiKey stores is
    /// about 3 KB; 16 KiB leaves room and still bounds memory.
    static let maximumResponseLength = 16 * 1024
    /// Upper bound on GET RESPONSE rounds for one command (16 KiB / 256 + slack).
    static let maximumRounds = 72
    /// Upper bound on the data we chain out in one command.
    static let maximumCommandLength = 16 * 1024

    /// Sends `command` (chained if needed) and returns the assembled response data with the
    /// final status word. It does not judge the status word: callers map it.
    func send(_ command: CommandAPDU, instruction: Instruction) throws -> ResponseAPDU {
        guard command.data.count <= Self.maximumCommandLength else {
            throw PIVError.transport(problem: "\(instruction.name) command data of \(command.data.count) bytes is too long")
        }
        var last = command
        if command.data.count > 255 {
            var offset = 0
            while command.data.count - offset > 255 {
                let chunk = CommandAPDU(cla: command.cla | 0x10, ins: command.ins, p1: command.p1, p2: command.p2,
                                        data: Array(command.data[offset..<(offset + 255)]))
                let r = try transmit(chunk)
                guard r.sw == 0x9000 else {
                    // The card refused a chunk: the chain is abandoned (Part 2 §3.2.4: no effect).
                    if r.sw1 == 0x61 { throw PIVError.malformedResponse(problem: "\(instruction.name): the card answered a chained chunk with 61xx") }
                    return ResponseAPDU(data: [], sw: r.sw)
                }
                guard r.data.isEmpty else {
                    throw PIVError.malformedResponse(problem: "\(instruction.name): the card returned data for a chained chunk")
                }
                offset += 255
            }
            last = CommandAPDU(cla: command.cla, ins: command.ins, p1: command.p1, p2: command.p2,
                               data: Array(command.data[offset...]), le: command.le)
        }
        var response = try transmit(last)
        if response.sw1 == 0x6C {
            // Wrong Le: the card tells the right one; repeat exactly once.
            last.le = response.sw2 == 0 ? 256 : Int(response.sw2)
            response = try transmit(last)
            if response.sw1 == 0x6C {
                throw PIVError.malformedResponse(problem: "\(instruction.name): the card asked twice for a different Le")
            }
        }
        return try collect(response, instruction: instruction)
    }

    /// Follows `61xx` with GET RESPONSE until the card says it is done.
    private func collect(_ first: ResponseAPDU, instruction: Instruction) throws -> ResponseAPDU {
        var data = first.data
        var current = first
        var rounds = 0
        while current.sw1 == 0x61 {
            rounds += 1
            guard rounds <= Self.maximumRounds else {
                throw PIVError.malformedResponse(problem: "\(instruction.name): more than \(Self.maximumRounds) GET RESPONSE rounds")
            }
            let le = current.sw2 == 0 ? 256 : Int(current.sw2)
            current = try transmit(CommandAPDU(ins: Instruction.getResponse.rawValue, p1: 0, p2: 0, le: le))
            guard current.data.count <= 256 else {
                throw PIVError.malformedResponse(problem: "\(instruction.name): GET RESPONSE returned \(current.data.count) bytes, more than 256")
            }
            data.append(contentsOf: current.data)
            guard data.count <= Self.maximumResponseLength else {
                throw PIVError.malformedResponse(problem: "\(instruction.name): response longer than \(Self.maximumResponseLength) bytes")
            }
        }
        guard data.count <= Self.maximumResponseLength else {
            throw PIVError.malformedResponse(problem: "\(instruction.name): response longer than \(Self.maximumResponseLength) bytes")
        }
        if current.sw != 0x9000 {
            // PIV defines no response data with an error status: drop whatever arrived.
            return ResponseAPDU(data: [], sw: current.sw)
        }
        return ResponseAPDU(data: data, sw: current.sw)
    }

    private func transmit(_ apdu: CommandAPDU) throws -> ResponseAPDU {
        do {
            return try transport.transmit(apdu)
        } catch {
            throw PIVError.transport(error)
        }
    }
}
