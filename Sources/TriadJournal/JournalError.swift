/// Errors of the journal layer, mapped to sentences at the CLI; they carry values, and the
/// `ceremony` command adds the option that resolves one.
public enum JournalError: Error, Equatable, CustomStringConvertible {
    /// The database could not be opened or migrated.
    case cannotOpen(path: String, reason: String)
    /// An append did not commit: the ceremony must stop (cannot log ⇒ cannot act).
    case cannotAppend(ceremony: String, reason: String)
    /// The ceremony id is already in this journal; ids are never reused.
    case ceremonyIDUsed(ceremony: String)
    case unknownCeremony(ceremony: String)
    /// The ceremony already has its CLOSED or ABORTED entry.
    case ceremonyTerminated(ceremony: String)
    /// The stored chain does not verify (the database was edited outside the tool).
    case chainBroken(ceremony: String, seq: Int64, reason: String)
    case malformedEntry(problem: String)
    /// Entry `seq`'s payload lacks a member its event needs, or has one of the wrong kind.
    case malformedPayload(seq: Int64, event: String, problem: String)
    /// A transcript line or stored row names an event outside `EventType`: a forgery or a newer tool.
    case unknownEvent(name: String)

    /// One sentence naming the ceremony or entry and what to do.
    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason):
            return "cannot open the journal \(path): \(reason). Check the path and that the directory is writable."
        case .cannotAppend(let id, let reason):
            return "cannot write to the journal for ceremony \(id): \(reason)"
        case .ceremonyIDUsed(let id):
            return "ceremony id \(id) is already in this journal; ids are never reused. Start a new ceremony."
        case .unknownCeremony(let id):
            return "no ceremony \(id) in this journal"
        case .ceremonyTerminated(let id):
            return "ceremony \(id) already has its terminal entry; nothing can be appended after CLOSED or ABORTED."
        case .chainBroken(let id, let seq, let reason):
            return "the journal's chain for ceremony \(id) is broken at entry \(seq): \(reason). The database was changed outside the tool; keep it as evidence."
        case .malformedEntry(let reason):
            return "malformed entry: \(reason)"
        case .malformedPayload(let seq, let event, let problem):
            return "entry \(seq) (\(event)): the payload \(problem)"
        case .unknownEvent(let name):
            return "unknown event '\(name)'"
        }
    }
}
