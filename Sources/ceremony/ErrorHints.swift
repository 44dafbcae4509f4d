import TriadCLI
import TriadCeremony
import TriadJournal

/// The `ceremony` command's options that resolve ceremony and journal errors: the library
/// sentences name the parameter, journal or ceremony, and this adds what to type
/// (docs/ceremony.md §1).
extension CeremonyCommand: CommandLineHinting {
    /// The `ceremony` option or command that resolves `error`, or nil.
    static func hint(for error: Error) -> String? {
        switch error {
        case CeremonyError.parameterMissing(let name):
            return "give it with --set \(name)=VALUE"
        case CeremonyError.parameterUnknown(let name):
            return "drop --set \(name)=…; `ceremony show SCRIPT` lists the parameters the script declares"
        case CeremonyError.parameterRepeated(let name):
            return "give --set \(name)=VALUE once"
        case CeremonyError.parameterShape(let name, true):
            return "repeat --set \(name)=ITEM once per item"
        case CeremonyError.cannotLog(let id, let journal, _, _):
            return "ceremony abort --journal \(journal) --ceremony \(id) --reason \"journal unwritable\" does that"
        case CeremonyError.noSecretInput:
            return "pass --pin-fd N"
        case CeremonyError.aborted(_, _, let reason) where reason == CeremonyError.noSecretInput.description:
            // The engine journals the cause's sentence as the abort reason; the remedy is the same.
            return "pass --pin-fd N"
        case JournalError.unknownCeremony:
            return "`ceremony log --journal DB` lists the ceremonies it holds"
        case TranscriptError.cannotWrite:
            return "--output DIR chooses another folder"
        default:
            return nil
        }
    }
}
