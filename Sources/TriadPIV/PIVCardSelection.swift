import TriadCrypto
import TriadPCSC

extension PIVKeyOperations {
    /// Opens the key in `slot` on the first card, among the readers whose name contains
    /// `reader`, that has a PIV application and a certificate in that slot (reader selection
    /// by `CardReader.open`, the same for every command).
    ///
    /// - Parameters:
    ///   - reader: part of the reader's name; nil or empty for any reader.
    ///   - slot: 9C or 9E to sign, 9D to unwrap.
    ///   - askPIN: called once, at the first operation that needs the PIN, with the reader's
    ///     name and the tries left (show them before asking); nil for 9E.
    /// - Throws: `CardSelectionError`; a card that is present but unusable comes as
    ///   `.refused(reader:, PIVError)` (`.noPIVApplet`, `.notFound` for an empty slot, …).
    public static func open(reader: String?, slot: PIVSlot, allowLastPinTry: Bool = false,
                            share: PCSCContext.ShareMode = .shared,
                            askPIN: ((_ reader: String, _ triesLeft: Int?) throws -> SecureBytes)?) throws -> PIVKeyOperations {
        try CardReader.open(matching: reader, share: share) { transport in
            let ask = askPIN.map { ask in { (tries: Int?) in try ask(transport.reader, tries) } }
            return try PIVKeyOperations(transport: transport, slot: slot, allowLastPinTry: allowLastPinTry, askPIN: ask)
        }
    }
}
