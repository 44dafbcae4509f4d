import Foundation
import XCTest
import TriadCrypto
import TriadTestSupport
@testable import TriadZone

/// Keys and certificates made with stock `openssl` (a key file and certificate made with
/// `openssl req -x509` must just work), cached for the whole test run (TriadTestSupport's TestPKI).
enum PKI {
    static let pki: TestPKI = {
        do { return try TestPKI(directory: NSTemporaryDirectory() + "triad-zone-pki-\(getpid())") } catch { fatalError("\(error)") }
    }()
    static var directory: String { pki.directory }

    /// `spec`: rsa2048, rsa3072, p256, p384 (anything else is P-256); `issuer` names a credential
    /// made earlier. Returns (key path, certificate path).
    static func make(_ name: String, _ spec: String, issuer: String? = nil) -> (key: String, cert: String) {
        do {
            var signer: TestPKI.Credential?
            if let issuer {
                guard let made = pki.credential(named: issuer) else { fatalError("PKI: make the issuer \(issuer) before \(name)") }
                signer = made
            }
            let made = try pki.make(name, TestPKI.KeyAlgorithm(spec) ?? .p256, issuer: signer)
            return (made.key, made.cert)
        } catch {
            fatalError("PKI.make(\(name), \(spec)): \(error)")
        }
    }

    static func certificate(_ path: String) -> Certificate {
        try! Certificate(pem: String(contentsOfFile: path, encoding: .utf8))
    }

    static func privateKey(_ path: String) -> PrivateKey {
        try! PrivateKey(pem: SecureBytes(Array(FileManager.default.contents(atPath: path)!)))
    }
}

struct RunResult {
    var status: Int32
    var stdout: Data
    var stderr: String
    var out: String { String(decoding: stdout, as: UTF8.self) }
}

/// Runs a program found on PATH (or an absolute path), collecting its output.
@discardableResult
func shell(_ program: String, _ args: [String], environment: [String: String]? = nil,
           stdin: Data? = nil, inputs: [Int32: Data] = [:]) -> RunResult {
    var command = Command(program, args, stdin: stdin, environment: environment)
    command.inputs = inputs
    do {
        let r = try command.run()
        return RunResult(status: r.status, stdout: r.stdout, stderr: r.err)
    } catch {
        return RunResult(status: 127, stdout: Data(), stderr: "\(error)")
    }
}

/// A scratch folder with its own local state (`XDG_STATE_HOME`), and the built `zone`.
final class Scratch {
    let root: String
    let state: String
    var trust: String?

    init() {
        root = NSTemporaryDirectory() + "triad-zone-test-" + UUID().uuidString
        state = root + "/state"
        try! FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    /// `zone` sits beside the test bundle in the build products folder.
    static let zoneBinary: String = Products.zone

    var environment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["XDG_STATE_HOME"] = state
        env.removeValue(forKey: "TRIAD_TRUST")
        if let trust { env["TRIAD_TRUST"] = trust }
        return env
    }

    @discardableResult
    func zone(_ args: String...) -> RunResult { zone(args) }

    @discardableResult
    func zone(_ args: [String]) -> RunResult {
        shell(Scratch.zoneBinary, args, environment: environment)
    }

    /// Runs `zone` with extra descriptors (`inputs[3]` for `--pin-fd 3`) and standard input.
    @discardableResult
    func zone(_ args: [String], inputs: [Int32: Data], stdin: Data? = nil) -> RunResult {
        shell(Scratch.zoneBinary, args, environment: environment, stdin: stdin, inputs: inputs)
    }

    /// Starts `zone` in the background (output discarded unless `stderr` says otherwise), for
    /// tests that signal or kill it mid-run.
    func startZone(_ args: [String], stderr: Command.Output = .discard) throws -> RunningProcess {
        var command = Command(Scratch.zoneBinary, args, environment: environment)
        command.stdout = .discard
        command.stderr = stderr
        return try command.start()
    }

    /// Runs `zone` through /bin/sh so a test can hand it extra file descriptors.
    func zoneShell(_ script: String) -> RunResult {
        var env = environment
        env["ZONE"] = Scratch.zoneBinary
        return shell("/bin/sh", ["-c", script], environment: env)
    }

    var context: ZoneContext {
        ZoneContext(trust: trust.map { try! TrustFile(path: $0) }, state: LocalState(directory: state + "/triad"), notice: { _ in })
    }

    func path(_ p: String) -> String { root + "/" + p }

    func write(_ p: String, _ data: [UInt8]) {
        let full = path(p)
        try! FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        precondition(FileManager.default.createFile(atPath: full, contents: Data(data)), "cannot write \(full)")
    }

    func read(_ p: String) -> [UInt8] { Array(FileManager.default.contents(atPath: path(p)) ?? Data()) }

    func status(_ dir: String) -> [String: Any] {
        let r = zone("status", path(dir), "--json")
        XCTAssertEqual(r.status, 0, r.stderr)
        return (try? JSONSerialization.jsonObject(with: r.stdout)) as? [String: Any] ?? [:]
    }

    func files(_ dir: String) -> [String: Int] {
        (status(dir)["files"] as? [String: Int]) ?? [:]
    }
}

/// Deterministic pseudo-random bytes (xorshift), so failures reproduce.
typealias SeededGenerator = TriadTestSupport.SeededGenerator

/// A mutable cell shared with a worker thread; the DispatchGroup orders the accesses.
final class Box<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}
