import TriadCLI
import VirtualPIV

/// The `virtual-card` options that resolve a card-state error: `VirtualCardError` names the
/// state file, and this adds what to type (docs/virtual-card.md).
extension VirtualCardCommand: CommandLineHinting {
    /// The `virtual-card` command line that resolves `error`, or nil.
    static func hint(for error: Error) -> String? {
        switch error as? VirtualCardError {
        case .stateMissing(let path, _)?:
            return "`virtual-card init --state \(path)` makes one"
        case .stateMalformed?:
            return "`virtual-card init --force` makes a new card"
        case .stateExists?:
            return "--force replaces it"
        default:
            return nil
        }
    }
}
