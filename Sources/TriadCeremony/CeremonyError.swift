import TriadJournal

/// Errors of the ceremony layer. Each says what happened, where, and what to do; the
/// command-line option that resolves one is added by the `ceremony` command, which owns its
/// options (`CeremonyCommand.hint(for:)`), so these sentences carry values only.
public enum CeremonyError: Error, Equatable, CustomStringConvertible {
    case scriptInvalid(origin: String, problems: [String])
    case scriptHashMismatch(origin: String, expected: String, actual: String)
    case parameterMissing(name: String)
    case parameterUnknown(name: String)
    /// A scalar parameter was given twice; only a parameter declared `list: true` collects values.
    case parameterRepeated(name: String)
    /// A parameter was given a list where the script declares one text, or one text where it declares a list.
    case parameterShape(name: String, list: Bool)
    case answersInvalid(path: String, reason: String)
    case missingAnswer(key: String)
    case inputEnded(key: String)
    case invalidParticipant(role: String, reason: String)
    case samePersonTwoRoles(person: String, role: String, otherRole: String)
    case roleAlreadyFilled(role: String, by: String)
    /// A step's preconditions or role presence do not hold; the ceremony was aborted.
    case refused(ceremony: String, step: String, reason: String)
    /// The participants aborted the ceremony.
    case aborted(ceremony: String, step: String, reason: String)
    /// An append failed: the ceremony stopped before anything else ran.
    case cannotLog(ceremony: String, journal: String, step: String, reason: String)
    case noSecretInput
    /// Ctrl-C or SIGTERM during the run.
    case interrupted
    case secretEmpty(source: String)
    /// A report made during the ceremony could not be stamped with the ceremony's end.
    case reportNotStamped(path: String, reason: String)

    /// One sentence naming the script, step or journal and what to do.
    public var description: String {
        switch self {
        case .scriptInvalid(let origin, let problems):
            return "\(origin): the script is not valid:\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
        case .scriptHashMismatch(let origin, let expected, let actual):
            return "\(origin): SHA-256 is \(actual), not the approved \(expected). Use the approved copy of the script."
        case .parameterMissing(let name):
            return "the script needs a value for its parameter \(name)"
        case .parameterUnknown(let name):
            return "parameter \(name): the script declares no parameter of that name"
        case .parameterRepeated(let name):
            return "parameter \(name) was given more than once, but the script declares it one value (only a parameter with list: true takes several)"
        case .parameterShape(let name, let list):
            return list ? "parameter \(name) is a list (list: true in the script): give it as a list, one item per value"
                        : "parameter \(name) takes one text, not a list"
        case .answersInvalid(let path, let reason):
            return "answers file \(path): \(reason)"
        case .missingAnswer(let key):
            return "the answers file has no answer for '\(key)'; add it (see docs/ceremony.md §Answers)"
        case .inputEnded(let key):
            return "input ended while waiting for '\(key)'"
        case .invalidParticipant(let role, let reason):
            return "role \(role): \(reason)"
        case .samePersonTwoRoles(let person, let role, let otherRole):
            return "\(person) already fills the role \(otherRole) and cannot also be \(role): one person, one role. Name a different person."
        case .roleAlreadyFilled(let role, let by):
            return "role \(role) is already filled by \(by) in this ceremony"
        case .refused(let id, let step, let reason):
            return "step \(step) refused: \(reason). Ceremony \(id) was closed as ABORTED."
        case .aborted(let id, let step, let reason):
            return "ceremony \(id) aborted at step \(step): \(reason)"
        case .cannotLog(let id, let journal, let step, let reason):
            return "cannot write to the journal \(journal) at step \(step) (\(reason)); the ceremony stopped and no further action ran. "
                + "When the journal is writable again, close ceremony \(id) as ABORTED"
        case .interrupted:
            return "interrupted at the terminal (Ctrl-C)"
        case .noSecretInput:
            return "no terminal to read a PIN from"
        case .secretEmpty(let source):
            return "nothing was read from \(source)"
        case .reportNotStamped(let path, let reason):
            return "cannot stamp the report \(path) with the ceremony's end (\(reason))"
        }
    }
}
