import Foundation
import TriadCrypto
import TriadJournal

/// What an action sees of the running ceremony (docs/ceremony.md §"Writing an action").
///
/// It carries the ceremony's `--set` parameters, the participants, the secret store, the
/// way to ask a participant, the PIN input, and `record` to journal what the action did.
/// The action cannot write any other kind of entry, skip a step or change the order.
public struct ActionContext {
    /// The running ceremony's id, for output names and messages.
    public let ceremonyID: String
    /// Random per-ceremony nonce (hex), for binding factor operations to this ceremony
    /// (docs/ceremony.md §9, item 9).
    public let nonce: String
    /// The hash of entry 1 (BEGIN), hex: with the nonce it binds a card's signature to this
    /// ceremony and its ceremony key (docs/recovery.md §2a).
    public let beginHash: String
    /// True in a practice run; actions mark what they write as practice.
    public let practice: Bool
    /// The act the step belongs to.
    public let act: Act
    /// The step being run, as the script gives it.
    public let step: Step
    /// `--set KEY=VALUE` values (with script defaults). An action reads its own `with:`
    /// arguments only through its decoded `Arguments`, which `run` receives.
    public let parameters: [String: ParameterValue]
    /// Who fills which role; only the roll call changes it.
    public internal(set) var participants: Participants
    /// Role id → title from the script, for prompts.
    public let roleTitles: [String: String]
    /// The ceremony's in-memory secrets (docs/ceremony.md §3 rule 9).
    public let secrets: SecretStore
    /// Facts established so far; the engine checked the step's requirements against them.
    public let facts: Set<String>
    /// Where PINs come from (`--pin-fd` or the terminal), never the journal.
    public let secretInput: SecretInput
    /// Where the ceremony writes its outputs (transcript, summary, quarantine …).
    public let outputDirectory: String
    let prompter: Prompter
    /// Outputs this step created that an aborted ceremony removes again (key generation), so
    /// that a re-run into the same folder is not blocked by a half-finished result.
    public internal(set) var discardOnAbort: [String] = []
    /// Reports written during the ceremony that get its end (terminal entry, final hash) once
    /// it is closed or aborted.
    public internal(set) var stampAtClose: [String] = []
    let append: (_ event: EventType, _ role: String, _ payload: CanonicalValue) throws -> JournalEntry
    /// The newest entry (the head) as the action starts.
    public internal(set) var head: JournalEntry
    /// Roles the script declares `attest: card`: the roll call reads their cards.
    public internal(set) var attestingRoles: Set<String> = []
    /// SHA-256 (hex) of the 9C certificate recorded for each role so far: a card one person
    /// presented is not taken for another's.
    public internal(set) var claimedCards: [String: String] = [:]
    /// Where the attesting people's card PINs come from (`--attest-pin-fd`, else as `secretInput`).
    public internal(set) var attestationSecretInput: SecretInput?

    /// The person filling the acting role.
    public var actor: Person? { participants.person(for: step.role) }

    /// Shows `text` to the room (not journaled; use `record` for what must be).
    public func show(_ text: String) { prompter.show(text) }

    /// Asks a question; the answers-file key is `<step-id>.<key>`.
    public func ask(_ key: String, _ question: String, default defaultAnswer: String? = nil) throws -> String {
        try prompter.ask(key: "\(step.id).\(key)", question: question, defaultAnswer: defaultAnswer)
    }

    /// Asks for yes/no until one of them is given.
    public func askYesNo(_ key: String, _ question: String, default defaultAnswer: String? = nil) throws -> Bool {
        while true {
            let a = try ask(key, "\(question) (yes/no)", default: defaultAnswer).lowercased()
            if ["yes", "y"].contains(a) { return true }
            if ["no", "n"].contains(a) { return false }
            if prompter.mode != .interactive { throw ActionError("answer to \(step.id).\(key) must be yes or no, not '\(a)'") }
            show("Please answer yes or no.")
        }
    }

    /// Admits a participant to a role (roll call); refuses one person in two roles.
    public mutating func admit(_ person: Person, to role: String) throws {
        try participants.admit(person, to: role)
    }

    /// Marks `path`, just created by this step, for removal if the ceremony ends ABORTED.
    public mutating func discardIfAborted(_ path: String) { discardOnAbort.append(path) }

    /// Names `path` (a report this step wrote) to receive the ceremony's end and final hash.
    public mutating func stampWhenClosed(_ path: String) { stampAtClose.append(path) }

    /// Where a practice run writes an output: the same folder, the name prefixed `PRACTICE-`
    /// (docs/ceremony.md §9, item 6: practice is marked in every output name).
    public func outputPath(_ path: String) -> String {
        guard practice else { return path }
        let url = URL(fileURLWithPath: path)
        if url.lastPathComponent.contains("PRACTICE") { return path }
        return url.deletingLastPathComponent().appendingPathComponent("PRACTICE-" + url.lastPathComponent).path
    }

    /// Puts another person in a role this roll call filled (a correction before the witness
    /// confirms); still refuses one person in two roles.
    public mutating func replace(_ person: Person, in role: String) throws {
        var corrected = participants
        corrected.remove(role)
        try corrected.admit(person, to: role)
        participants = corrected
    }

    /// Reads a secret from `--pin-fd` or the terminal (never from an answers file).
    public func readSecret(prompt: String) throws -> SecureBytes { try secretInput.read(prompt: prompt) }
}
