import Foundation
import XCTest

/// Test plumbing for cards behind real pcscd: starts pcscd (with vsmartcard's vpcd driver)
/// if none is running, starts and stops `virtual-card run` processes from the build
/// products directory, waits for readers to show a card, and runs independent clients
/// (opensc-tool, yubico-piv-tool, pkcs11-tool, openssl).
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

    static let pcscdSocket = "/run/pcscd/pcscd.comm"

    static func readerName(port: UInt16) -> String {
        String(format: "Virtual PCD 00 %02d", Int(port) - 35963)
    }

    /// The folder holding the built `virtual-card` executable.
    static var productsDirectory: URL {
        var candidates: [URL] = []
        if let exe = Bundle.main.executableURL { candidates.append(exe.deletingLastPathComponent()) }
        candidates.append(Bundle.main.bundleURL.deletingLastPathComponent())
        candidates.append(Bundle.main.bundleURL)
        candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(root.appendingPathComponent(".build/debug"))
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.appendingPathComponent("virtual-card").path) }
            ?? root.appendingPathComponent(".build/debug")
    }

    static var virtualCardExecutable: URL { productsDirectory.appendingPathComponent("virtual-card") }

    /// Runs a program found on PATH (or an absolute path) and collects its output.
    @discardableResult
    static func run(_ program: String, _ arguments: [String], stdin: Data? = nil, environment: [String: String]? = nil) -> Output {
        let process = Process()
        if program.hasPrefix("/") {
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [program] + arguments
        }
        if let environment { process.environment = environment }
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        do { try process.run() } catch {
            return Output(status: 127, stdout: "", stderr: "cannot run \(program): \(error)")
        }
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try? input.fileHandleForWriting.close()
        // Read both pipes concurrently so a chatty tool cannot block on a full pipe.
        let errBox = DataBox()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { errBox.data = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        let errData = errBox.data
        process.waitUntilExit()
        return Output(status: process.terminationStatus,
                      stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    /// pcscd started by this test process, if any (stopped at exit).
    nonisolated(unsafe) private static var startedPCSCD: Process?

    /// Makes sure pcscd is running with the vpcd reader driver and vpcd listens on 35963.
    static func ensurePCSCD(file: StaticString = #filePath, line: UInt = #line) throws {
        if !isPCSCDRunning() {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/pcscd")
            process.arguments = ["--foreground"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            startedPCSCD = process
            atexit {
                PCSCHarness.startedPCSCD?.terminate()
                PCSCHarness.startedPCSCD?.waitUntilExit()
            }
        }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if FileManager.default.fileExists(atPath: pcscdSocket) && isListening(port: 35963) { return }
            usleep(100_000)
        }
        XCTFail("pcscd with vsmartcard-vpcd is not answering (socket \(pcscdSocket), vpcd port 35963); install pcscd and vsmartcard-vpcd (scripts/setup)", file: file, line: line)
        throw HarnessError.pcscdUnavailable
    }

    static func isPCSCDRunning() -> Bool {
        run("pgrep", ["-x", "pcscd"]).succeeded
    }

    /// True when something accepts TCP connections on 127.0.0.1:port (vpcd's listener).
    static func isListening(port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// Waits until `opensc-tool -l` shows the reader with (or without) a card.
    static func waitForCard(reader: String, present: Bool = true, timeout: TimeInterval = 15) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let listing = run("opensc-tool", ["-l"]).stdout
            let line = listing.split(separator: "\n").first { $0.contains(reader) }
            if let line, line.contains(" Yes ") == present { return true }
            usleep(100_000)
        }
        return false
    }

    /// A fresh temporary folder.
    static func temporaryDirectory(_ name: String = "vcard") throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("triad-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    enum HarnessError: Error, CustomStringConvertible {
        case pcscdUnavailable
        case cardDidNotAppear(reader: String, log: String)
        case initFailed(String)

        var description: String {
            switch self {
            case .pcscdUnavailable: return "pcscd/vpcd not available"
            case let .cardDidNotAppear(reader, log):
                return "no card appeared in \(reader) (is another card holding that vpcd port?); virtual-card said: \(log)"
            case let .initFailed(why): return "virtual-card init failed: \(why)"
            }
        }
    }
}

private final class DataBox: @unchecked Sendable { var data = Data() }

/// One `virtual-card run` process, inserted into reader `readerName`.
final class VirtualCardProcess {
    let statePath: String
    let port: UInt16
    let logURL: URL
    private let process: Process

    var readerName: String { PCSCHarness.readerName(port: port) }
    var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }
    var isRunning: Bool { process.isRunning }
    var exitStatus: Int32 { process.terminationStatus }

    /// Creates the state with `virtual-card init` when missing, starts `virtual-card run`
    /// and waits until pcscd shows the card.
    init(statePath: String, port: UInt16 = 35963, serial: Int? = nil, trace: Bool = false) throws {
        self.statePath = statePath
        self.port = port
        try PCSCHarness.ensurePCSCD()
        // Another card may still hold the slot (a previous test, another suite); give it
        // time to go, since vpcd serves one card per port.
        _ = PCSCHarness.waitForCard(reader: PCSCHarness.readerName(port: port), present: false, timeout: 20)
        if !FileManager.default.fileExists(atPath: statePath) {
            var args = ["init", "--state", statePath]
            if let serial { args += ["--serial", String(serial)] }
            let result = PCSCHarness.run(PCSCHarness.virtualCardExecutable.path, args)
            guard result.succeeded else { throw PCSCHarness.HarnessError.initFailed(result.stderr) }
        }
        logURL = URL(fileURLWithPath: statePath + ".run.log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        process = Process()
        process.executableURL = PCSCHarness.virtualCardExecutable
        process.arguments = ["run", "--state", statePath, "--port", String(port)] + (trace ? ["--trace"] : [])
        let handle = try FileHandle(forWritingTo: logURL)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        // First our process must hold the vpcd connection, then pcscd must report the card;
        // in that order, so a removal of a previous card still being noticed is not taken
        // for our insertion.
        let deadline = Date().addingTimeInterval(15)
        while !log.contains("card inserted") && process.isRunning && Date() < deadline { usleep(50_000) }
        guard log.contains("card inserted"), PCSCHarness.waitForCard(reader: readerName) else {
            stop()
            throw PCSCHarness.HarnessError.cardDidNotAppear(reader: readerName, log: log)
        }
    }

    /// SIGTERM, wait for the process, then until pcscd has noticed the card is gone (so
    /// the next card on this port is not mistaken for this one).
    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
        _ = PCSCHarness.waitForCard(reader: readerName, present: false, timeout: 5)
    }

    deinit { stop() }
}
