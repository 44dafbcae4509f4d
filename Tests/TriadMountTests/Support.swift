import Foundation
import XCTest
import TriadCrypto
import TriadTestSupport

/// Keys and certificates made with stock `openssl`, cached for the test run.
enum PKI {
    static let directory: String = {
        let dir = NSTemporaryDirectory() + "triad-mount-pki-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }()
    private static let lock = NSLock()

    /// (key path, certificate path) for an EC P-256 (or `p384`) key named `name`.
    static func make(_ name: String, _ spec: String = "p256") -> (key: String, cert: String) {
        lock.lock(); defer { lock.unlock() }
        let key = "\(directory)/\(name).key", cert = "\(directory)/\(name).crt"
        if FileManager.default.fileExists(atPath: cert) { return (key, cert) }
        let curve = spec == "p384" ? "P-384" : "P-256"
        precondition(shell("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:\(curve)", "-out", key]).status == 0)
        precondition(shell("openssl", ["req", "-x509", "-new", "-key", key, "-subj", "/CN=\(name)/O=Test Hospital", "-days", "30",
                                       "-out", cert]).status == 0)
        return (key, cert)
    }
}

struct RunResult {
    var status: Int32
    var stdout: Data
    var stderr: String
    var out: String { String(decoding: stdout, as: UTF8.self) }
}

final class Box<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}

/// Runs a program (absolute path, or found on PATH) through TriadTestSupport's Command,
/// collecting its output through files, not pipes: a mount daemon it starts must not hold our
/// pipe open.
@discardableResult
func shell(_ program: String, _ args: [String], environment: [String: String]? = nil, input: Data? = nil) -> RunResult {
    let dir = NSTemporaryDirectory() + "triad-mount-run-" + UUID().uuidString.prefix(8)
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let outPath = dir + "/out", errPath = dir + "/err"
    var command = Command(program, args, stdin: input ?? Data(), environment: environment)
    command.stdout = .file(outPath)
    command.stderr = .file(errPath)
    command.newProcessGroup = false
    do {
        let r = try command.run()
        return RunResult(status: r.status, stdout: FileManager.default.contents(atPath: outPath) ?? Data(),
                         stderr: String(decoding: FileManager.default.contents(atPath: errPath) ?? Data(), as: UTF8.self))
    } catch {
        return RunResult(status: 127, stdout: Data(), stderr: "cannot start \(program): \(error)")
    }
}

/// The built executables sit beside the test runner in the products folder.
func productPath(_ name: String) -> String { Products.path(name) }

/// A zone folder with members, a mount point and its own local state; unmounts and removes
/// everything at the end.
final class MountFixture {
    let root: String
    let zone: String
    let mountPoint: String
    let state: String
    let officer = PKI.make("officer")
    let alice = PKI.make("alice")
    let bob = PKI.make("bob")
    let mallory = PKI.make("mallory")
    let recovery = PKI.make("recovery", "p384")
    static let zoneBinary = productPath("zone")
    private(set) var mounted: [String] = []

    init(members: [String] = ["alice", "bob"], extraMemberCertificates: [String] = []) {
        root = NSTemporaryDirectory() + "triad-mount-test-" + UUID().uuidString.prefix(8)
        zone = root + "/zone"
        mountPoint = root + "/mnt"
        state = root + "/state"
        for d in [zone, mountPoint, state] { try! FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) }
        var args = ["init", zone, "--officer-cert", officer.cert, "--identity", "file:" + officer.key, "--recovery-cert", recovery.cert]
        for m in members { args += ["--member", PKI.make(m).cert] }
        for c in extraMemberCertificates { args += ["--member", c] }
        let r = run(args)
        precondition(r.status == 0, "zone init failed: \(r.stderr)")
    }

    deinit {
        for m in mounted.reversed() { _ = shell("/bin/umount", ["-l", m]) }
        _ = shell("/bin/chmod", ["-R", "u+rwX", root])
        try? FileManager.default.removeItem(atPath: root)
    }

    var environment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["XDG_STATE_HOME"] = state
        env["XDG_RUNTIME_DIR"] = root + "/run"
        env.removeValue(forKey: "TRIAD_TRUST")
        return env
    }

    @discardableResult
    func run(_ args: [String]) -> RunResult { shell(Self.zoneBinary, args, environment: environment) }

    /// A mount with no audit sink is refused (docs/mount.md §8.1) and test machines have no
    /// syslog socket: unless a test names its own, records go to `audit-MEMBER.jsonl`.
    func auditUnlessGiven(_ extra: [String], member: String) -> [String] {
        extra.contains("--audit") ? extra : extra + ["--audit", root + "/audit-" + member + ".jsonl"]
    }

    /// Mounts (detached) for `member` at `point` (default: the fixture's mount point).
    @discardableResult
    func mount(as member: String = "alice", at point: String? = nil, extra: [String] = []) -> RunResult {
        let target = point ?? mountPoint
        try? FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        let r = run(["mount", zone, target, "--identity", "file:" + PKI.make(member).key] + auditUnlessGiven(extra, member: member))
        if r.status == 0 { mounted.append(target) }
        return r
    }

    /// Mounts (detached) with the card in `reader`, its PIN on descriptor 3 (never in argv, the
    /// environment or a file).
    func mountCard(reader: String, pin: String, extra: [String] = []) throws -> ProcessResult {
        var command = Command(Self.zoneBinary, ["mount", zone, mountPoint, "--identity", "piv:" + reader, "--pin-fd", "3"]
                                  + auditUnlessGiven(extra, member: "card"),
                              environment: environment)
        command.inputs[3] = Data((pin + "\n").utf8)
        // Files, not pipes: the daemon this starts must not hold a pipe of ours open.
        command.stdout = .file(root + "/mount.out")
        command.stderr = .file(root + "/mount.err")
        command.timeout = 60
        var result = try command.run()
        result.stderr = FileManager.default.contents(atPath: root + "/mount.err") ?? Data()
        if result.succeeded { mounted.append(mountPoint) }
        return result
    }

    func unmount(_ point: String? = nil) -> RunResult {
        let target = point ?? mountPoint
        let r = run(["unmount", target])
        if r.status == 0 { mounted.removeAll { $0 == target } }
        return r
    }

    /// `zone cat` of a backing file with `identity` (a key path).
    func cat(_ relative: String, key: String) -> RunResult { run(["cat", zone + "/" + relative, "--identity", "file:" + key]) }

    func m(_ relative: String) -> String { mountPoint + "/" + relative }
    func z(_ relative: String) -> String { zone + "/" + relative }

    func sh(_ script: String) -> RunResult {
        var env = environment
        env["M"] = mountPoint
        env["Z"] = zone
        return shell("/bin/sh", ["-c", script], environment: env)
    }
}

func readBytes(_ path: String) -> [UInt8]? { FileManager.default.contents(atPath: path).map(Array.init) }

func writeBytes(_ path: String, _ bytes: [UInt8]) {
    precondition(FileManager.default.createFile(atPath: path, contents: Data(bytes)), "cannot write \(path)")
}
