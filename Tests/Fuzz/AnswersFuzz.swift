import Foundation
@testable import TriadCeremony

/// Harness `answers`: an answers file for `ceremony run --answers` (YAML, flattened to
/// dotted keys), read from a file as the CLI reads it, then asked a few questions.
private let sink = FileHandle(forWritingAtPath: "/dev/null")!

func fuzzAnswers(_ bytes: [UInt8]) {
    let path = FuzzInput.file(bytes, name: "answers.yaml")
    if let prompter = try? AnswersPrompter(path: path, output: sink) {
        for key in ["roll-call.witness.name", "roll-call.witness.id", "confirm", "a", ""] {
            _ = try? prompter.ask(key: key, question: "?", defaultAnswer: nil)
        }
    }
}
