import Foundation

/// How the engine talks to the people in the room: shows text and asks questions.
///
/// Every question has a stable key (`<step>.<what>`, e.g. `roll-call.witness.name`), so
/// an answers file can drive the same ceremony unattended (`AnswersPrompter`).
public protocol Prompter: AnyObject {
    /// "interactive" or "unattended"; recorded in the BEGIN entry.
    var mode: String { get }
    func show(_ text: String)
    /// Asks `question`; `defaultAnswer` is taken for an empty reply (or a missing answer).
    func ask(key: String, question: String, defaultAnswer: String?) throws -> String
    /// Answers that were supplied but never asked for (typos in an answers file).
    func unusedAnswers() -> [String]
}

/// Prompts on the terminal: output on stdout, one line of input per question on stdin.
public final class TerminalPrompter: Prompter {
    private let input: FileHandle
    private let output: FileHandle
    private var buffer: [UInt8] = []

    /// Prompts on `input` and `output` (the terminal by default).
    public init(input: FileHandle = .standardInput, output: FileHandle = .standardOutput) {
        self.input = input; self.output = output
    }

    /// Recorded in BEGIN: people typed the answers.
    public var mode: String { "interactive" }

    /// Prints `text` on its own line.
    public func show(_ text: String) { output.write(Data((text + "\n").utf8)) }

    /// Asks `question` and reads one line; end of input aborts the ceremony instead of guessing.
    public func ask(key: String, question: String, defaultAnswer: String?) throws -> String {
        let hint = defaultAnswer.map { " [\($0)]" } ?? ""
        output.write(Data("\(question)\(hint) > ".utf8))
        guard let line = try readLine() else { throw CeremonyError.inputEnded(key: key) }
        let answer = line.trimmingCharacters(in: .whitespaces)
        if answer.isEmpty, let d = defaultAnswer { return d }
        return answer
    }

    /// A terminal has no unused answers.
    public func unusedAnswers() -> [String] { [] }

    /// Reads one line byte by byte, so nothing after it is consumed from the terminal.
    private func readLine() throws -> String? {
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            let n = read(input.fileDescriptor, &byte, 1)
            if n < 0 && errno == EINTR { try Interruption.check(); continue }
            if n <= 0 { return line.isEmpty ? nil : String(decoding: line, as: UTF8.self) }
            if byte == 0x0A { return String(decoding: line, as: UTF8.self) }
            if byte != 0x0D { line.append(byte) }
        }
    }
}
