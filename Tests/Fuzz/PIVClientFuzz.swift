import Foundation
import ISO7816
import TriadCrypto
import TriadPCSC
@testable import TriadPIV
@testable import VirtualPIV

/// Harness `piv-client`: every answer the PIV client parses (docs/piv-client.md) comes from
/// the fuzzer. The input is: an operation number, then the card's answers to it (records),
/// repeated. When the answers run out the transport fails like a removed card.
///
/// With TRIAD_FUZZ_SEEDS=DIR the harness writes seeds instead: each operation run against the
/// in-process applet (`FuzzCard`), its answers to DIR/piv-client and its commands to DIR/applet.
final class FuzzTransport: CardTransport {
    /// The answers ran out: the card is gone.
    struct CardGone: Error {}
    var input: FuzzRecords
    init(_ input: FuzzRecords) { self.input = input }
    func transmit(_ apdu: CommandAPDU) throws -> ResponseAPDU {
        guard let raw = input.record(), let response = ResponseAPDU(raw: raw) else { throw CardGone() }
        return response
    }
    func withTransaction<T>(_ body: () throws -> T) throws -> T { try body() }
}

/// Records what the real applet answers, for the seeds.
final class RecordingTransport: CardTransport {
    var applet = VirtualPIVApplet(state: FuzzCard.state)
    var commands: [UInt8] = []
    var answers: [UInt8] = []
    func transmit(_ apdu: CommandAPDU) throws -> ResponseAPDU {
        let command = try apdu.encoded()
        let raw = applet.process(command)
        commands += FuzzRecords.encode(command)
        answers += FuzzRecords.encode(raw)
        return ResponseAPDU(raw: raw)!
    }
    func withTransaction<T>(_ body: () throws -> T) throws -> T { try body() }
}

private let pin = SecureBytes(Array("123456".utf8))
private let peer = try! PrivateKey.generate(.ecP256).publicKey

/// The client operations, each a command or the short sequence one command needs.
private let operations: [(String, (PIVClient) throws -> Void)] = [
    ("select", { _ = try $0.select() }),
    ("pin-status", { _ = try $0.pinStatus() }),
    ("verify", { try $0.verifyPIN(pin) }),
    ("get-chuid", { _ = try $0.getData(object: [0x5F, 0xC1, 0x02]) }),
    ("version", { _ = try $0.version() }),
    ("serial", { _ = try $0.serial() }),
    ("read-certificate", { _ = try $0.readCertificate(slot: .keyManagement) }),
    ("admin", { try $0.authenticateManagementKey(SecureBytes(VirtualCardState.defaultManagementKey)) }),
    ("generate-p256", { _ = try $0.generateKeyPair(slot: .authentication, algorithm: .eccP256) }),
    ("ecdh", { _ = try $0.ecdh(peerPoint: peer.ecPoint!, slot: .authentication, algorithm: .eccP256) }),
    ("sign", { _ = try $0.signDigest([UInt8](repeating: 7, count: 32), slot: .signature, algorithm: .eccP256) }),
    ("rsa", { _ = try $0.rsaRawOperation([0x00, 0x02] + [UInt8](repeating: 0x55, count: 254), slot: .keyManagement) }),
    ("change-pin", { try $0.changePIN(old: pin, new: pin) }),
    ("unblock", { try $0.unblockPIN(puk: SecureBytes(Array("12345678".utf8)), newPIN: pin) }),
]

/// Writes the seeds of both PIV harnesses into `dir` (see above) and exits.
func writePIVSeeds(to dir: String) -> Never {
    for sub in ["piv-client", "applet"] { try? FileManager.default.createDirectory(atPath: dir + "/" + sub, withIntermediateDirectories: true) }
    // One seed per operation after SELECT (and VERIFY / admin where the card needs them), and one of everything.
    let prefixes: [[Int]] = [[0], [0, 2], [0, 7], [0, 2, 7]]
    var seeds: [[Int]] = []
    for index in operations.indices.dropFirst() { seeds.append([0, 2, 7, index]) }
    seeds.append(Array(operations.indices))
    seeds += prefixes
    for (n, seed) in seeds.enumerated() {
        let card = RecordingTransport()
        let client = PIVClient(transport: card)
        var stream: [UInt8] = []
        for op in seed {
            let before = card.answers.count
            do { try operations[op].1(client) } catch { print("seed \(n): \(operations[op].0) failed: \(error)") }
            stream += [UInt8(op)] + card.answers[before...]
        }
        let name = seed.map { operations[$0].0 }.joined(separator: "+")
        _ = FileManager.default.createFile(atPath: "\(dir)/piv-client/\(n)-\(name).bin", contents: Data(stream))
        _ = FileManager.default.createFile(atPath: "\(dir)/applet/\(n)-\(name).bin", contents: Data([0] + card.commands))
    }
    exit(0)
}

func fuzzPIVClient(_ bytes: [UInt8]) {
    let transport = FuzzTransport(FuzzRecords(bytes))
    let client = PIVClient(transport: transport)
    var rounds = 0
    while let op = transport.input.byte(), rounds < 32 {
        rounds += 1
        _ = try? operations[Int(op) % operations.count].1(client)
    }
}
