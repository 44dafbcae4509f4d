import ArgumentParser
import Foundation
import VirtualPIV

/// `virtual-card status --state PATH [--json]`: what the card holds, without secrets.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a card's serial, PIN/PUK tries left and which slots hold keys (no secrets).")

    @Option(help: "The card's state file.")
    var state: String

    @Flag(help: "Print one JSON document.")
    var json = false

    func run() throws {
        let card = try CardStateFile(path: state).load()
        let slots = card.keys.keys.sorted().map { String(format: "%02x", $0) }
        let algorithms = Dictionary(uniqueKeysWithValues: card.keys.map { (String(format: "%02x", $0.key), Int($0.value.algorithm)) })
        if json {
            let document: [String: Any] = [
                "serial": Int(card.serial), "software_card": true,
                "pin_tries_left": card.pinTriesLeft, "pin_retries": card.pinRetries,
                "puk_tries_left": card.pukTriesLeft, "puk_retries": card.pukRetries,
                "pin_is_default": card.pinIsDefault, "management_key_is_default": card.managementKeyIsDefault,
                "management_key_algorithm": Int(card.managementAlgorithm.pivAlgorithmID),
                "key_slots": slots, "key_algorithms": algorithms,
                "objects": card.objects.keys.sorted().map { String(format: "%x", $0) },
            ]
            let data = try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print("serial: \(card.serial) (software card, no hardware protection)")
        print("PIN tries left: \(card.pinTriesLeft) of \(card.pinRetries)\(card.pinTriesLeft == 0 ? " (blocked: unblock with the PUK)" : "")")
        print("PUK tries left: \(card.pukTriesLeft) of \(card.pukRetries)\(card.pukTriesLeft == 0 ? " (blocked)" : "")")
        print("management key: \(card.managementKeyIsDefault ? "default" : "changed"), algorithm \(String(format: "%02X", card.managementAlgorithm.pivAlgorithmID))")
        print("key slots: \(slots.isEmpty ? "none" : slots.joined(separator: " "))")
    }
}
