import Foundation
import XCTest
import TriadCrypto
import TriadPCSC
import TriadPIV
import TriadRecovery

/// Result of a child process.
struct Run {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs an executable; `input` goes to its stdin (PINs, with `--pin-fd 0`).
@discardableResult
func runProcess(_ path: String, _ args: [String], input: String = "", environment: [String: String]? = nil) -> Run {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    if let environment { p.environment = environment }
    let inPipe = Pipe(), outPipe = Pipe(), errPipe = Pipe()
    p.standardInput = inPipe; p.standardOutput = outPipe; p.standardError = errPipe
    final class Box: @unchecked Sendable { var data = Data() }
    let out = Box(), err = Box()
    let group = DispatchGroup()
    group.enter(); DispatchQueue.global().async { out.data = outPipe.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    group.enter(); DispatchQueue.global().async { err.data = errPipe.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    do { try p.run() } catch { return Run(status: -1, stdout: "", stderr: "\(error)") }
    inPipe.fileHandleForWriting.write(Data(input.utf8))
    try? inPipe.fileHandleForWriting.close()
    p.waitUntilExit()
    group.wait()
    return Run(status: p.terminationStatus, stdout: String(decoding: out.data, as: UTF8.self), stderr: String(decoding: err.data, as: UTF8.self))
}

/// Build products (zone, ceremony, virtual-card) sit beside the test runner.
func product(_ name: String) -> String {
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    let dirs = [URL(fileURLWithPath: exe).deletingLastPathComponent(), URL(fileURLWithPath: exe).deletingLastPathComponent().deletingLastPathComponent()]
    for d in dirs where FileManager.default.isExecutableFile(atPath: d.appendingPathComponent(name).path) {
        return d.appendingPathComponent(name).path
    }
    fatalError("\(name) not found beside the tests (\(dirs)); run swift build first")
}

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

/// A virtual PIV card inserted into real pcscd through vpcd (port 35963 → "Virtual PCD 00 00",
/// 35964 → "Virtual PCD 00 01").
final class VirtualCard {
    let state: String
    let port: Int
    var process: Process?
    var reader: String { String(format: "Virtual PCD 00 %02d", port - 35963) }

    /// Our card's serial, so the tests can tell it from another suite's card in a shared reader.
    let serial: UInt32

    init(state: String, port: Int, serial: Int? = nil) throws {
        self.state = state
        self.port = port
        self.serial = UInt32(serial ?? Int.random(in: 999_100_000...999_999_999))
        if !FileManager.default.fileExists(atPath: state) {
            let args = ["init", "--state", state, "--serial", String(self.serial)]
            let r = runProcess(product("virtual-card"), args)
            guard r.status == 0 else { throw RecoveryError.io(path: state, reason: "virtual-card init: \(r.stderr)") }
        }
    }

    /// Waits (up to 60 s) until the reader is free — other test suites share pcscd's two
    /// vpcd readers — then inserts this card and checks that it is ours that answers.
    func insert() throws {
        try? waitFor(present: false, tenths: 600)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: product("virtual-card"))
        p.arguments = ["run", "--state", state, "--port", String(port)]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        process = p
        try waitFor(present: true)
        // The card in the reader must be ours (vpcd takes one card per port; another suite's
        // card may have won the port): compare serials, waiting for the reader to be ours.
        for _ in 0..<300 {
            if let card = try? connect(), (try? card.withTransaction({ () -> UInt32? in
                let c = PIVClient(transport: card); _ = try c.select(); return try c.serial() })) == serial { return }
            guard p.isRunning else { break }
            usleep(200_000)
        }
        remove()
        throw RecoveryError.card("reader \(reader): the card that answers is not ours (serial \(serial)); another program holds the reader")
    }

    func remove() {
        guard let p = process else { return }
        p.terminate(); p.waitUntilExit(); process = nil
        try? waitFor(present: false)
    }

    private func waitFor(present: Bool, tenths: Int = 150) throws {
        for _ in 0..<tenths {
            if let ctx = try? PCSCContext(), let s = try? ctx.state(of: reader), s.isCardPresent == present { return }
            usleep(100_000)
        }
        throw RecoveryError.card("reader \(reader): card \(present ? "did not appear" : "did not go away")")
    }

    func connect() throws -> any CardTransport { try RecoveryCard.connect(readerSubstring: reader) }

    deinit { remove() }
}

/// A scratch world for recovery tests: folders, the journal, the CLIs.
final class World {
    let root: String
    var journal: String { root + "/journal.db" }
    var state: String { root + "/state" }

    init(_ name: String) {
        root = NSTemporaryDirectory() + "triad-recovery-\(name)-" + UUID().uuidString.prefix(8)
        try! FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
    }

    deinit {
        if ProcessInfo.processInfo.environment["TRIAD_TEST_KEEP"] == nil { try? FileManager.default.removeItem(atPath: root) }
    }

    func path(_ p: String) -> String { root + "/" + p }
    func mkdir(_ p: String) { try! FileManager.default.createDirectory(atPath: path(p), withIntermediateDirectories: true) }

    var environment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["XDG_STATE_HOME"] = state
        env.removeValue(forKey: "TRIAD_TRUST")
        return env
    }

    @discardableResult
    func zone(_ args: [String], pin: String = "") -> Run { runProcess(product("zone"), args, input: pin, environment: environment) }

    /// Runs a ceremony unattended; PINs (one per line) go to --pin-fd 0.
    func ceremony(_ script: String, output: String, pins: [String], answers extra: [String] = [], set: [String: String]) -> Run {
        let args = ceremonyArguments(script, output: output, answers: extra, set: set)
        let r = runProcess(product("ceremony"), args, input: pins.map { $0 + "\n" }.joined(), environment: environment)
        try? (r.stdout + r.stderr).write(toFile: output + "/console-\(UUID().uuidString.prefix(6)).log", atomically: true, encoding: .utf8)
        return r
    }

    /// `ceremony run` arguments for an unattended run (answers generated by scripts/demo-answers).
    func ceremonyArguments(_ script: String, output: String, answers extra: [String] = [], set: [String: String]) -> [String] {
        try? FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        let answers = output + "/answers-\(UUID().uuidString.prefix(6)).yaml"
        let gen = runProcess("/usr/bin/env", ["python3", repositoryRoot + "/scripts/demo-answers", repositoryRoot + "/Ceremonies/\(script).yaml"] + extra)
        try! gen.stdout.write(toFile: answers, atomically: true, encoding: .utf8)
        var args = ["run", repositoryRoot + "/Ceremonies/\(script).yaml", "--journal", journal, "--answers", answers, "--pin-fd", "0", "--output", output]
        for (k, v) in set.sorted(by: { $0.key < $1.key }) { args += ["--set", "\(k)=\(v)"] }
        return args
    }

    /// Starts a ceremony without waiting (for tests that interrupt it); console output goes
    /// to `output`/console-started.log.
    func startCeremony(_ script: String, output: String, pins: [String], set: [String: String]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: product("ceremony"))
        p.arguments = ceremonyArguments(script, output: output, set: set)
        p.environment = environment
        let log = output + "/console-started.log"
        FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        let input = Pipe()
        p.standardInput = input; p.standardOutput = handle; p.standardError = handle
        try p.run()
        input.fileHandleForWriting.write(Data(pins.map { $0 + "\n" }.joined().utf8))
        try? input.fileHandleForWriting.close()
        return p
    }

    func keyPair(_ name: String, subject: String) throws -> (PrivateKey, Certificate) {
        let key = try PrivateKey.generate(.ecP256)
        // Officers sign zone policies (digitalSignature) and are members (keyAgreement).
        let cert = try Certificate.selfSigned(subject: "CN=\(subject)", key: key, days: 365,
                                              keyUsage: "critical,digitalSignature,keyEncipherment,keyAgreement")
        try Data(try key.pkcs8PEM().bytes).write(to: URL(fileURLWithPath: path("\(name).key")))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path("\(name).key"))
        try cert.pem.write(toFile: path("\(name).pem"), atomically: true, encoding: .utf8)
        return (key, cert)
    }
}

/// The last JSON entry of a transcript.
func transcriptEntries(_ path: String) throws -> [[String: Any]] {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    return try text.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
}

func transcripts(in dir: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".jsonl") }.sorted().map { dir + "/" + $0 }
}

/// Every regular file under `dir`.
func allFiles(_ dir: String) -> [String] {
    guard let e = FileManager.default.enumerator(atPath: dir) else { return [] }
    var out: [String] = []
    while let f = e.nextObject() as? String {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: dir + "/" + f, isDirectory: &isDir), !isDir.boolValue { out.append(dir + "/" + f) }
    }
    return out
}
