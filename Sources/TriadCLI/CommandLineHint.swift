import TriadPIV
import TriadZone

/// The command-line half of an error message: for the errors whose remedy is an option of
/// `zone`, the option to give. The zone and card layers say what is wrong and which values are
/// involved; only the CLI knows its flags (docs/zone.md §5a) — a ceremony, which has no such
/// flag, shows the card's refusal without one. The other commands add their own options'
/// hints through `CommandLineHinting`.
public enum CommandLineHint {
    /// The option that resolves `error`, as a clause appended to its message, or nil.
    public static func hint(for error: Error) -> String? {
        if case .lastPinTryRefused? = error as? PIVError {
            return "--allow-last-pin-try spends it"
        }
        switch error as? ZoneError {
        case .lastRecoveryCertificate?:
            return "--add-cert CERT does that"
        case .filesStillNeedRecoveryCertificate?:
            return "--force removes it anyway"
        default:
            return nil
        }
    }
}

/// A root command whose options resolve some library errors: `CommandShell` asks it for the
/// clause to append when `CommandLineHint` has none, so the ceremony and card layers' errors
/// carry values only and each command names its own flags.
public protocol CommandLineHinting {
    /// The option (or command) that resolves `error`, as a clause appended to its message, or nil.
    static func hint(for error: Error) -> String?
}
