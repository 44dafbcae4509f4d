import Foundation
import XCTest
import TriadTestSupport

/// Test plumbing for cards behind real pcscd, on TriadTestSupport: runs programs (the built
/// `virtual-card`, opensc-tool, yubico-piv-tool, pkcs11-tool, openssl), checks pcscd and
/// vpcd are up, and waits for readers to show a card.
///
/// Ports: vpcd slot i listens on 35963 + i and pcscd names the reader "Virtual PCD 00 0i".
/// The virtual-card tests use 35963; the PIV client tests use 35964.
enum PCSCHarness {
    /// Result of running a tool.
    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
        var succeeded: Bool { status == 0 }
    }

    static let pcscdSocket = PCSCReaders.socket

    static func readerName(port: UInt16) -> String { PCSCReaders.readerName(port: port) }

    /// The folder holding the built `virtual-card` executable.
    static var productsDirectory: URL { URL(fileURLWithPath: Products.virtualCard).deletingLastPathComponent() }

    static var virtualCardExecutable: URL { URL(fileURLWithPath: Products.virtualCard) }

    /// Runs a program found on PATH (or an absolute path) and collects its output.
    @discardableResult
    static func run(_ program: String, _ arguments: [String], stdin: Data? = nil, environment: [String: String]? = nil) -> Output {
        do {
            let r = try Command(program, arguments, stdin: stdin, environment: environment).run()
            return Output(status: r.status, stdout: r.out, stderr: r.err)
        } catch {
            return Output(status: 127, stdout: "", stderr: "\(error)")
        }
    }

    /// Starts `virtual-card run` on `state` towards `port` (standard error discarded), for tests
    /// that talk to it directly or stop it themselves.
    static func startCard(state: String, port: UInt16) throws -> RunningProcess {
        var command = Command(virtualCardExecutable.path, ["run", "--state", state, "--port", String(port)])
        command.stderr = .discard
        return try command.start()
    }

    /// Makes sure pcscd is running with the vpcd reader driver and vpcd listens on 35963
    /// (scripts/test starts it; the tests never start or stop the machine's pcscd).
    static func ensurePCSCD(file: StaticString = #filePath, line: UInt = #line) throws {
        do {
            try PCSCReaders.requireService()
        } catch {
            XCTFail("\(error)", file: file, line: line)
            throw error
        }
    }

    static func isPCSCDRunning() -> Bool {
        run("pgrep", ["-x", "pcscd"]).succeeded
    }

    /// True when something accepts TCP connections on 127.0.0.1:port (vpcd's listener).
    static func isListening(port: UInt16) -> Bool { PCSCReaders.isListening(port: port) }

    /// Waits until `opensc-tool -l` shows the reader with (or without) a card.
    static func waitForCard(reader: String, present: Bool = true, timeout: TimeInterval = 15) -> Bool {
        PCSCReaders.waitForCard(in: reader, present: present, timeout: timeout)
    }

    /// A fresh temporary folder.
    static func temporaryDirectory(_ name: String = "vcard") throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("triad-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// One `virtual-card run` process, inserted into reader `readerName` (TriadTestSupport's
/// VirtualCardHarness).
final class VirtualCardProcess {
    private let harness: VirtualCardHarness
    var statePath: String { harness.state }
    var port: UInt16 { harness.port }
    var logURL: URL { URL(fileURLWithPath: harness.logPath) }

    var readerName: String { harness.reader }
    var log: String { harness.log }
    var isRunning: Bool { harness.isInserted }
    /// The exit status of `virtual-card run` once stopped (-1 while it runs).
    var exitStatus: Int32 { harness.lastExit?.status ?? -1 }

    /// Creates the state with `virtual-card init` when missing, starts `virtual-card run`
    /// and waits until pcscd shows the card.
    init(statePath: String, port: UInt16 = 35963, serial: Int? = nil, trace: Bool = false) throws {
        harness = try VirtualCardHarness(state: statePath, port: port, serial: serial.map { UInt32($0) })
        if trace { harness.runArguments = ["--trace"] }
        try harness.insert()
    }

    /// SIGTERM, wait for the process, then until pcscd has noticed the card is gone (so
    /// the next card on this port is not mistaken for this one).
    func stop() { harness.remove() }

    deinit { stop() }
}
