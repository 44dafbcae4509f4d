import Foundation

/// How the engine talks to the people in the room: shows text and asks questions.
///
/// Every question has a stable key (`<step>.<what>`, e.g. `roll-call.witness.name`), so
/// an answers file can drive the same ceremony unattended (`AnswersPrompter`).
public protocol Prompter: AnyObject {
    /// Who answers; recorded in the BEGIN entry.
    var mode: PrompterMode { get }
    func show(_ text: String)
    /// Asks `question`; `defaultAnswer` is taken for an empty reply (or a missing answer).
    func ask(key: String, question: String, defaultAnswer: String?) throws -> String
    /// Answers that were supplied but never asked for (typos in an answers file).
    func unusedAnswers() -> [String]
}

/// Who answers a ceremony's questions, as BEGIN records it (docs/ceremony.md §2): people at the
/// terminal, who may correct a slip and be asked again, or an answers file, where an answer
/// that does not fit ends the ceremony instead.
public enum PrompterMode: String, Sendable {
    /// People type the answers at the terminal.
    case interactive
    /// The answers come from a file (`--answers`); nobody types.
    case unattended
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
    public var mode: PrompterMode { .interactive }

    /// Prints `text` on its own line.
    public func show(_ text: String) { output.write(Data((text + "\n").utf8)) }

    /// Asks `question` and reads one line; end of input aborts the ceremony instead of guessing.
    public func ask(key: String, question: String, defaultAnswer: String?) throws -> String {
        let hint = defaultAnswer.map { " [\($0)]" } ?? ""
        while true {
            try askAboutInterrupt()
            output.write(Data("\(question)\(hint) > ".utf8))
            switch readLine() {
            case .line(let line):
                let answer = line.trimmingCharacters(in: .whitespaces)
                if answer.isEmpty, let d = defaultAnswer { return d }
                return answer
            case .interrupted:
                output.write(Data("\n".utf8))
            case .ended:
                throw CeremonyError.inputEnded(key: key)
            }
        }
    }

    /// A terminal has no unused answers.
    public func unusedAnswers() -> [String] { [] }

    /// After a first Ctrl-C: nothing happens until the people say so. `abort` or a second
    /// Ctrl-C ends the ceremony; Enter goes back to the question that was interrupted.
    private func askAboutInterrupt() throws {
        guard Interruption.requested else { return }
        if Interruption.final { throw CeremonyError.interrupted }
        output.write(Data("Ctrl-C: nothing has been done. Type abort to end the ceremony ABORTED, or press Enter to go on (Ctrl-C again aborts) > ".utf8))
        switch readLine(level: 2) {
        case .line(let line) where line.trimmingCharacters(in: .whitespaces).lowercased() == "abort":
            throw CeremonyError.interrupted
        case .line:
            Interruption.acknowledge()
            output.write(Data("Going on.\n".utf8))
        case .interrupted, .ended:
            throw CeremonyError.interrupted
        }
    }

    enum Read { case line(String), interrupted, ended }

    /// Reads one line byte by byte, so nothing after it is consumed from the terminal; waits in
    /// poll(2) so that an interrupt is seen even when it lands just before the wait.
    private func readLine(level: Int32 = 1) -> Read {
        var line: [UInt8] = []
        var byte: UInt8 = 0
        let fd = input.fileDescriptor
        while true {
            if !Interruption.waitReadable(fd, level: level) { return .interrupted }
            let n = read(fd, &byte, 1)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return line.isEmpty ? .ended : .line(String(decoding: line, as: UTF8.self)) }
            if byte == 0x0A { return .line(String(decoding: line, as: UTF8.self)) }
            if byte != 0x0D { line.append(byte) }
        }
    }
}
