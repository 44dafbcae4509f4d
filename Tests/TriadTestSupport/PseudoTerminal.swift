import Foundation

/// A person at a keyboard: runs a program in a pseudo-terminal through
/// `Fixtures/ceremony/pty-drive.py`, typing each reply when its prompt appears.
///
/// Every run has a hard limit: the driver kills the program's whole process group when a
/// prompt does not come within 30 seconds or the run exceeds `timeout`, and the driver itself
/// runs under a `Command` timeout a little longer, so a hung ceremony fails the test instead of
/// hanging the suite.
public struct PseudoTerminal {
    /// What the terminal showed and how the program ended.
    public struct Outcome: CustomStringConvertible {
        /// The program's exit status; 124 when the driver gave up waiting, 125 when the
        /// program ended before a prompt the plan expected.
        public var status: Int32
        /// Everything the terminal showed.
        public var screen: String
        /// The driver's own complaint (which prompt never came).
        public var driverError: String
        public var description: String { "exit \(status); \(driverError)\n\(screen.suffix(2000))" }
    }

    /// `[text to wait for, line to type]` pairs; `"^C"` types Ctrl-C.
    public var plan: [[String]]
    public var timeout: TimeInterval = 120
    public var environment: [String: String]?
    /// Extra descriptors the program inherits (through the driver), as ``Command/inputs``:
    /// `inputs[3]` for `--attest-pin-fd 3` while the people at the terminal type the rest.
    public var inputs: [Int32: Data] = [:]

    public init(_ plan: [[String]]) { self.plan = plan }

    /// Runs `program arguments` in a pseudo-terminal, keeping the plan and the screen in `folder`.
    public func run(_ program: String, _ arguments: [String], folder: String) throws -> Outcome {
        let planPath = "\(folder)/pty-plan-\(UUID().uuidString.prefix(6)).json"
        let log = planPath.replacingOccurrences(of: ".json", with: ".screen")
        try JSONSerialization.data(withJSONObject: plan).write(to: URL(fileURLWithPath: planPath))
        var command = Command("python3", [Products.source("Fixtures/ceremony/pty-drive.py"), planPath, log,
                                          "--timeout", String(Int(timeout)), "--", program] + arguments,
                              environment: environment)
        command.timeout = timeout + 30
        command.inputs = inputs
        let result = try command.run()
        let screen = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        return Outcome(status: result.timedOut ? 124 : result.status, screen: screen, driverError: result.err)
    }
}
