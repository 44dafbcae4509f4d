import ISO7816
import TriadCrypto
import XCTest
@testable import VirtualPIV

/// An in-memory persistence that counts saves and can be told to fail, so tests can see
/// *when* the applet saves (e.g. a PIN try before the answer).
final class RecordingPersistence: CardStatePersistence {
    var saved: [VirtualCardState] = []
    var failNext = false
    struct Refused: Error {}

    func save(_ state: VirtualCardState) throws {
        if failNext { failNext = false; throw Refused() }
        saved.append(state)
    }
}

/// Drives an applet with hex APDUs and splits the answers into data and status word.
struct AppletDriver {
    var applet: VirtualPIVApplet

    init(state: VirtualCardState = .blank(serial: 999_000_042), persistence: (any CardStatePersistence)? = nil) {
        applet = VirtualPIVApplet(state: state, persistence: persistence)
    }

    /// Sends raw bytes and returns (data, SW as UInt16).
    mutating func send(_ bytes: [UInt8]) -> (data: [UInt8], sw: UInt16) {
        let r = applet.process(bytes)
        precondition(r.count >= 2, "a response always carries a status word")
        return (Array(r.dropLast(2)), UInt16(r[r.count - 2]) << 8 | UInt16(r[r.count - 1]))
    }

    mutating func send(_ hex: String) -> (data: [UInt8], sw: UInt16) {
        send(Hex.decode(hex.replacingOccurrences(of: " ", with: ""))!)
    }

    /// Sends a command whose data may exceed 255 bytes: CLA 10 chunks of 255, then the last
    /// chunk with Le 00; follows 61xx with GET RESPONSE. What ykpiv and OpenSC do.
    mutating func transmit(ins: UInt8, p1: UInt8, p2: UInt8, data: [UInt8]) -> (data: [UInt8], sw: UInt16) {
        var rest = data[...]
        while rest.count > 255 {
            let r = send([0x10, ins, p1, p2, 0xFF] + rest.prefix(255))
            precondition(r.sw == 0x9000, "chained chunk refused")
            rest = rest.dropFirst(255)
        }
        var command: [UInt8] = [0x00, ins, p1, p2]
        if !rest.isEmpty { command += [UInt8(rest.count)] + rest }
        command.append(0x00)
        var r = send(command)
        var collected = r.data
        while r.sw >> 8 == 0x61 {
            r = send([0x00, 0xC0, 0x00, 0x00, UInt8(r.sw & 0xFF)])
            collected += r.data
        }
        return (collected, r.sw)
    }

    static let defaultManagementKey = SecureBytes(VirtualCardState.defaultManagementKey)

    /// Mutual authentication with the management key (SP 800-73-4 Part 2 Appendix A.1).
    mutating func authenticateAdmin(_ cipher: BlockCipher = .tripleDES, key: SecureBytes = defaultManagementKey) throws -> UInt16 {
        let alg = cipher.pivAlgorithmID
        let step1 = send([0x00, 0x87, alg, 0x9B, 0x04, 0x7C, 0x02, 0x80, 0x00])
        guard step1.sw == 0x9000 else { return step1.sw }
        let encryptedWitness = Array(step1.data.suffix(cipher.blockSize))
        let witness = try cipher.decryptBlock(encryptedWitness, key: key)
        let challenge = SecureRandom.bytes(count: cipher.blockSize)
        let inner = TLV(tag: 0x80, value: witness).encoded + TLV(tag: 0x81, value: challenge).encoded
        let step2 = send([0x00, 0x87, alg, 0x9B] + [UInt8(inner.count + 2), 0x7C, UInt8(inner.count)] + inner)
        guard step2.sw == 0x9000 else { return step2.sw }
        let expected = try cipher.encryptBlock(challenge, key: key)
        XCTAssertEqual(step2.data, TLV(tag: 0x7C, value: TLV(tag: 0x82, value: expected).encoded).encoded, "card proves it knows the key")
        return step2.sw
    }

    static func pinBlock(_ pin: String) -> [UInt8] { VirtualCardState.padded(Array(pin.utf8)) }

    mutating func verify(_ pin: String) -> UInt16 {
        send([0x00, 0x20, 0x00, 0x80, 0x08] + Self.pinBlock(pin)).sw
    }

    /// GENERATE in `slot` with PIV algorithm `alg`; returns the public key.
    mutating func generate(slot: UInt8, alg: UInt8) throws -> PublicKey {
        let r = transmit(ins: 0x47, p1: 0x00, p2: slot, data: [0xAC, 0x03, 0x80, 0x01, alg])
        XCTAssertEqual(r.sw, 0x9000)
        guard let outer = (try? TLV.parseAll(r.data)), outer.first?.tag == 0x7F49, let inner = (try? TLV.parseAll(outer[0].value)) else {
            throw MalformedGenerateResponse()
        }
        if let point = inner.value(0x86) {
            return try PublicKey(ecPoint: point, curve: alg == 0x11 ? .ecP256 : .ecP384)
        }
        return try PublicKey(rsaModulus: inner.value(0x81)!, exponent: inner.value(0x82)!)
    }
}

struct MalformedGenerateResponse: Error {}
