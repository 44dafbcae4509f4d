import Foundation
import ISO7816
import XCTest
import TriadCrypto
import TriadPCSC
import TriadTestSupport
@testable import TriadFormat
@testable import TriadZone
@testable import TriadRecovery
@testable import TriadCeremony
@testable import TriadPIV
@testable import VirtualPIV

/// Every input the fuzzers once crashed on (Fixtures/fuzz/regressions/<harness>-<what>.bin,
/// docs/testing.md §6), fed to the parser its harness drives: each must now end in that
/// parser's own error, in the ordinary suite and without sanitizers.
final class FuzzRegressionTests: XCTestCase {
    static let harnesses = ["file", "policy", "keyring", "trust", "escrow", "enrolment", "journal", "script",
                            "answers", "piv-client", "applet"]

    func testEveryRegressionInputEndsInACleanError() throws {
        let folder = Products.source("Fixtures/fuzz/regressions")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".bin") }.sorted()
        var failures: [String] = []
        for name in names {
            guard let harness = Self.harnesses.sorted(by: { $0.count > $1.count }).first(where: { name.hasPrefix($0 + "-") }) else {
                failures.append("\(name): the name does not start with a harness (\(Self.harnesses.joined(separator: ", ")))")
                continue
            }
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: folder + "/" + name)))
            if let problem = try Self.replay(harness, bytes) { failures.append("\(name): \(problem)") }
        }
        print("FuzzRegressionTests: \(names.count) regression inputs")
        XCTAssertEqual(failures, [])
    }

    /// Runs `bytes` through the harness's parser; nil when it ended in the expected error.
    static func replay(_ harness: String, _ bytes: [UInt8]) throws -> String? {
        func expectError<E: Error>(_ type: E.Type, _ body: () throws -> Void) -> String? {
            do { try body(); return "accepted" } catch is E { return nil } catch { return "unexpected error \(error)" }
        }
        let dir = try TemporaryDirectory()
        let path = dir.root + "/input"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        switch harness {
        case "file":
            let key = ZoneSlotKey(zoneID: Array(0x40..<0x50), epoch: 7, zoneKey: SecureBytes([UInt8](repeating: 0x5A, count: 32)))
            let devNull = open("/dev/null", O_WRONLY | O_CLOEXEC)
            defer { close(devNull) }
            return expectError(FormatError.self) { try EncryptedFile.decrypt(OpenedFile.at(path), to: devNull, identities: [key]) }
        case "policy":
            return expectError(ZoneError.self) { _ = try SignedPolicy(fileBytes: bytes, context: "regression") }
        case "keyring":
            return expectError(ZoneError.self) { _ = try Keyring(decoding: bytes, context: "regression") }
        case "trust":
            return expectError(ZoneError.self) { _ = try TrustFile(path: path) }
        case "escrow":
            return expectError(RecoveryError.self) { _ = try EscrowBlob(parsing: bytes) }
        case "enrolment":
            return expectError(RecoveryError.self) { _ = try EnrolmentRecord(json: bytes) }
        case "journal":
            if case .success = Verifier.verify(transcript: String(decoding: bytes, as: UTF8.self)) { return "verified" }
            return nil
        case "script":
            return expectError(ScriptError.self) { _ = try ScriptLoader.parse(String(decoding: bytes, as: UTF8.self), origin: "regression") }
        case "answers":
            return expectError(CeremonyError.self) { _ = try AnswersPrompter(path: path, output: FileHandle(forWritingAtPath: "/dev/null")!) }
        case "piv-client":
            // The harness's framing: an operation number, then the card's answers (2-byte lengths).
            // A card that runs out of answers is a removed card (the transport's error), also clean.
            do { try PIVClient(transport: ReplayTransport(bytes.dropFirst())).select(); return "accepted" }
            catch is PIVError, is ReplayTransport.CardGone { return nil } catch { return "unexpected error \(error)" }
        case "applet":
            var applet = VirtualPIVApplet(state: .blank(serial: 999_000_124))
            var rest = bytes.dropFirst()[...]
            while rest.count >= 2 {
                let length = Int(rest[rest.startIndex]) << 8 | Int(rest[rest.startIndex + 1])
                let command = Array(rest.dropFirst(2).prefix(length))
                rest = rest.dropFirst(2 + command.count)
                guard applet.process(command).count >= 2 else { return "an answer without a status word" }
            }
            return nil
        default:
            return "no replay for harness \(harness)"
        }
    }
}

/// Answers with the recorded bytes (2-byte length, then the answer), then fails like a removed card.
private final class ReplayTransport: CardTransport {
    struct CardGone: Error {}
    var rest: ArraySlice<UInt8>
    init(_ bytes: ArraySlice<UInt8>) { rest = bytes }
    func transmit(_ apdu: CommandAPDU) throws -> ResponseAPDU {
        guard rest.count >= 2 else { throw CardGone() }
        let length = Int(rest[rest.startIndex]) << 8 | Int(rest[rest.startIndex + 1])
        let raw = Array(rest.dropFirst(2).prefix(length))
        rest = rest.dropFirst(2 + raw.count)
        guard let response = ResponseAPDU(raw: raw) else { throw CardGone() }
        return response
    }
    func withTransaction<T>(_ body: () throws -> T) throws -> T { try body() }
}
