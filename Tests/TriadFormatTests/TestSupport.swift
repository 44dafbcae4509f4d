import Foundation
import XCTest
import TriadCrypto
@testable import TriadFormat

/// Fixed material shared by the tests and the vector generator. The recovery key pair is
/// committed in Fixtures/format (a test key, never a real one).
enum TestKeys {
    static let zoneID: [UInt8] = Array(0x40..<0x50)
    static let epoch: UInt32 = 7
    static let zoneKey = SecureBytes([UInt8](repeating: 0x5A, count: 32))
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/format")

    static var zone: ZoneSlotKey { ZoneSlotKey(zoneID: zoneID, epoch: epoch, zoneKey: zoneKey) }

    static func recoveryKey() throws -> PrivateKey {
        let pem = try String(contentsOf: fixtures.appendingPathComponent("recovery.key.pem"), encoding: .utf8)
        return try PrivateKey(pem: SecureBytes(Array(pem.utf8)))
    }

    static func recoveryCertificate() throws -> Certificate {
        try Certificate(pem: String(contentsOf: fixtures.appendingPathComponent("recovery.crt.pem"), encoding: .utf8))
    }

    static func recoveryIdentity() throws -> RecoveryIdentity {
        RecoveryIdentity(key: try recoveryKey(), certificateFingerprint: try recoveryCertificate().fingerprint)
    }
}

/// Deterministic "randomness": SHA-256(seed ‖ counter) blocks, for reproducible vectors.
final class DeterministicBytes {
    private var counter: UInt64 = 0
    private let seed: [UInt8]
    init(seed: String) { self.seed = Array(seed.utf8) }
    func next(_ count: Int) -> [UInt8] {
        var out: [UInt8] = []
        while out.count < count {
            var block = seed
            withUnsafeBytes(of: counter.bigEndian) { block += $0 }
            counter += 1
            out += SHA256.hash(block)
        }
        return Array(out.prefix(count))
    }
    var source: RandomSource { RandomSource { [self] in self.next($0) } }
}

/// A scratch directory per test, removed afterwards.
final class ScratchDirectory {
    let path: String
    init() {
        var template = Array((NSTemporaryDirectory() + "triad-format-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil)
        path = String(cString: template)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { path + "/" + name }
    /// Every entry except the ones named, to prove no temp or output file was left behind.
    func entries() -> [String] { (try? FileManager.default.contentsOfDirectory(atPath: path))?.sorted() ?? [] }
}

func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

func readFile(_ path: String) throws -> [UInt8] {
    Array(try Data(contentsOf: URL(fileURLWithPath: path)))
}

/// The case name of a FormatError, as the vectors' `expect` field spells it.
func kind(of error: Error) -> String {
    guard let error = error as? FormatError else { return "other:\(error)" }
    switch error {
    case .notEncrypted: return "notEncrypted"
    case .truncated: return "truncated"
    case .headerAuthenticationFailed: return "headerAuthenticationFailed"
    case .segmentAuthenticationFailed: return "segmentAuthenticationFailed"
    case .noMatchingKey: return "noMatchingKey"
    case .unsupportedVersion: return "unsupportedVersion"
    case .unsupportedSuite: return "unsupportedSuite"
    case .unsupportedSegmentSize: return "unsupportedSegmentSize"
    case .malformedHeader: return "malformedHeader"
    case .malformedSlot: return "malformedSlot"
    case .slotUnwrapFailed: return "slotUnwrapFailed"
    case .malformedPayload: return "malformedPayload"
    case .trailingData: return "trailingData"
    case .io: return "io"
    case .invalidArgument: return "invalidArgument"
    }
}

/// Runs `body` with the write end of a pipe while a thread drains the read end; returns
/// everything written and the error `body` threw, if any.
func capturePipe(_ body: (Int32) throws -> Void) -> (bytes: [UInt8], error: Error?) {
    var fds: [Int32] = [0, 0]
    precondition(pipe(&fds) == 0)
    let reader = fds[0], writer = fds[1]
    let collected = Collected()
    let thread = Thread {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = read(reader, &buffer, buffer.count)
            if n <= 0 { break }
            collected.append(buffer[0..<n])
        }
        close(reader)
        collected.done.signal()
    }
    thread.start()
    var failure: Error?
    do { try body(writer) } catch { failure = error }
    close(writer)
    collected.done.wait()
    return (collected.bytes, failure)
}

final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var bytesStorage: [UInt8] = []
    let done = DispatchSemaphore(value: 0)
    func append(_ slice: ArraySlice<UInt8>) { lock.lock(); bytesStorage += slice; lock.unlock() }
    var bytes: [UInt8] { lock.lock(); defer { lock.unlock() }; return bytesStorage }
}
