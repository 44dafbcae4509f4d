import Foundation
import Yams

/// Answers for an unattended run (`ceremony run --answers FILE`), for tests and drills.
///
/// YAML; nested mappings flatten to dotted keys, so these are the same:
/// ```yaml
/// roll-call:
///   witness: { name: Wanda Witt, id: W-7 }
/// roll-call.witness.name: Wanda Witt
/// ```
/// A list answers the same question several times, in order (e.g. after a retry).
/// Secrets (PINs) are never taken from an answers file: they come from `--pin-fd`.
public final class AnswersPrompter: Prompter {
    private var answers: [String: [String]]
    private var used: Set<String> = []
    private let output: FileHandle
    /// SHA-256 of the file, recorded in the BEGIN entry.
    public let sha256: String

    /// Reads the answers at `path`; `output` receives what the ceremony shows.
    public init(path: String, output: FileHandle = .standardOutput) throws {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw CeremonyError.answersInvalid(path: path, reason: "cannot read the file")
        }
        self.output = output
        self.sha256 = ScriptHash.hex(text)
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch {
            throw CeremonyError.answersInvalid(path: path, reason: "not valid YAML: \(error)")
        }
        var flat: [String: [String]] = [:]
        func walk(_ node: Node, _ prefix: String) throws {
            if let m = node.mapping {
                for (k, v) in m {
                    guard let key = k.string else { throw CeremonyError.answersInvalid(path: path, reason: "a key is not text") }
                    try walk(v, prefix.isEmpty ? key : "\(prefix).\(key)")
                }
            } else if let seq = node.sequence {
                flat[prefix] = try seq.map { item in
                    guard let s = item.scalar?.string else {
                        throw CeremonyError.answersInvalid(path: path, reason: "answers to \(prefix) must be text")
                    }
                    return s
                }
            } else if let s = node.scalar?.string {
                flat[prefix] = [s]
            }
        }
        if let node { try walk(node, "") }
        answers = flat
    }

    /// Recorded in BEGIN, so a transcript says no one typed the answers.
    public var mode: PrompterMode { .unattended }

    /// Writes `text` to the output, as the terminal would.
    public func show(_ text: String) { output.write(Data((text + "\n").utf8)) }

    /// The next answer for `key`; a missing answer without a default aborts the ceremony.
    public func ask(key: String, question: String, defaultAnswer: String?) throws -> String {
        used.insert(key)
        if var queue = answers[key], !queue.isEmpty {
            let answer = queue.removeFirst()
            answers[key] = queue
            show("\(question) > \(answer)    (answers file: \(key))")
            return answer
        }
        if let d = defaultAnswer {
            show("\(question) > \(d)    (default)")
            return d
        }
        throw CeremonyError.missingAnswer(key: key)
    }

    /// Answers never asked for: a misspelt key would otherwise go unnoticed.
    public func unusedAnswers() -> [String] {
        answers.filter { !$0.value.isEmpty }.keys.sorted()
    }
}
