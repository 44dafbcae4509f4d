import TriadZone

/// The command-line half of an error message: for the errors whose remedy is an option of
/// `zone`, the option to give. The zone layer says what is wrong and which values are
/// involved; only the CLI knows its flags (docs/zone.md §5a).
public enum CommandLineHint {
    /// The option that resolves `error`, as a clause appended to its message, or nil.
    public static func hint(for error: Error) -> String? {
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
