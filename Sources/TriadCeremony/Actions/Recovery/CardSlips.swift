import Foundation
import TriadCrypto
import TriadJournal
import TriadPCSC
import TriadPIV
import TriadRecovery

/// What a witnessed exception may grant before a retry (docs/ceremony.md §3, rule 11).
enum Grant {
    /// Spend the card's last PIN try (docs/ceremony.md §3 rule 11: never without a witnessed exception).
    static let lastPINTry = "last-pin-try"
    static func fact(_ grant: String) -> String { "granted:\(grant)" }
}

/// Waits for the card instead of failing when the reader is empty: the person holding it is
/// asked to insert it and press Enter, or to type `abort`. Unattended runs look three times,
/// two seconds apart, then fail with the reader's name.
func waitForCard(_ context: inout ActionContext, reader: String?, holder: String = "Management") throws -> any CardTransport {
    let name = reader ?? context.secrets.text(Slot.cardReader) ?? context.parameters["reader"]?.textValue ?? ""
    var looks = 0
    while true {
        do {
            return try CardReader.connect(matching: name)
        } catch let error as CardSelectionError {
            switch error {
            case .noCard, .noCardInAnyReader:
                looks += 1
                if context.prompter.mode != .interactive {
                    guard looks < 3 else { throw ActionError("no card in the reader \"\(name)\": insert the recovery card and run the ceremony again", fatal: true) }
                    sleep(2)
                    continue
                }
                let answer = try context.ask("insert", "\(holder): insert the card into the reader \"\(name)\", then press Enter — or type abort",
                                             default: "").lowercased()
                if answer == "abort" { throw ActionError("the card was not inserted into \"\(name)\"", fatal: true) }
                try context.record(CardAwaitedRecord(reader: name, look: Int64(looks)))
            default:
                throw ActionError("recovery card: \(error)", fatal: true)
            }
        }
    }
}

/// A refusal of the last PIN try that a witnessed exception may lift (`last-pin-try`).
func lastTryRefusal(_ what: String) -> ActionError {
    ActionError("\(what): only one PIN try is left on the card. It is not spent unless the witness confirms an exception allowing it (answer last-pin-try); otherwise abort and unblock the card with the PUK in the pin-change ceremony.",
                grantable: Grant.lastPINTry)
}

/// The failure after the card refused a PIN with `left` tries remaining: a witnessed retry
/// while two or more remain, the last-try exception at one, the PUK at none.
func wrongPIN(_ what: String, left: Int?) -> ActionError {
    switch left {
    case let n? where n >= 2:
        return ActionError("\(what): the card refused the PIN; \(n) tries left. The witness may allow a retry (retry), or abort.")
    case 1?:
        return lastTryRefusal("\(what): the card refused the PIN")
    default:
        return ActionError("\(what): the card refused the PIN and is now blocked; unblock it with the PUK (pin-change ceremony, use-puk)", fatal: true)
    }
}
