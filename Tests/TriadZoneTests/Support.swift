import Foundation
import XCTest
import TriadCrypto
@testable import TriadZone

/// Keys and certificates made with stock `openssl` (CONTRACT: "a key file and certificate
/// made with stock openssl req -x509 must just work"), cached for the whole test run.
enum PKI {
    static let directory: String = {
        let dir = NSTemporaryDirectory() + "triad-zone-pki-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }()
    private static let lock = NSLock()

    /// `spec`: rsa2048, rsa3072, p256, p384. Returns (key path, certificate path).
    static func make(_ name: String, _ spec: String, issuer: String? = nil) -> (key: String, cert: String) {
        lock.lock(); defer { lock.unlock() }
        let key = "\(directory)/\(name).key", cert = "\(directory)/\(name).crt"
        if FileManager.default.fileExists(atPath: cert) { return (key, cert) }
        let gen: [String]
        switch spec {
        case "rsa2048": gen = ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]
        case "rsa3072": gen = ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072"]
        case "p384": gen = ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"]
        default: gen = ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
        }
        precondition(shell("openssl", gen + ["-out", key]).status == 0, "openssl genpkey failed")
        if let issuer {
            let csr = "\(directory)/\(name).csr"
            precondition(shell("openssl", ["req", "-new", "-key", key, "-subj", "/CN=\(name)/O=Test Hospital", "-out", csr]).status == 0)
            precondition(shell("openssl", ["x509", "-req", "-in", csr, "-CA", "\(directory)/\(issuer).crt", "-CAkey", "\(directory)/\(issuer).key",
                                           "-CAcreateserial", "-days", "30", "-out", cert]).status == 0)
        } else {
            precondition(shell("openssl", ["req", "-x509", "-new", "-key", key, "-subj", "/CN=\(name)/O=Test Hospital", "-days", "30", "-out", cert]).status == 0)
        }
        return (key, cert)
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
func shell(_ program: String, _ args: [String], environment: [String: String]? = nil) -> RunResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: program.hasPrefix("/") ? program : "/usr/bin/env")
    p.arguments = program.hasPrefix("/") ? args : [program] + args
    if let environment { p.environment = environment }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try! p.run()
    // Read both pipes at once so a chatty child cannot block on a full pipe.
    let errBox = Box<Data>(Data())
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async { errBox.value = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    p.waitUntilExit()
    return RunResult(status: p.terminationStatus, stdout: outData, stderr: String(decoding: errBox.value, as: UTF8.self))
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
    static let zoneBinary: String = {
        // Linux: the test runner is `<products>/TriadPackageTests.xctest` itself; macOS: a
        // bundle inside <products>. Either way `zone` is in the same products folder.
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let candidates = [URL(fileURLWithPath: exe).deletingLastPathComponent(),
                          Bundle(for: Scratch.self).bundleURL, Bundle(for: Scratch.self).bundleURL.deletingLastPathComponent()]
        for dir in candidates {
            let path = dir.appendingPathComponent("zone").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        fatalError("the zone executable was not found beside the tests (\(candidates)); run swift build first")
    }()

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
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }
    mutating func next() -> UInt64 {
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        return state
    }
    mutating func bytes(_ n: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: n)
        var i = 0
        while i < n {
            var v = next()
            for _ in 0..<8 where i < n { out[i] = UInt8(v & 0xFF); v >>= 8; i += 1 }
        }
        return out
    }
}

/// A mutable cell shared with a worker thread; the DispatchGroup orders the accesses.
final class Box<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}
