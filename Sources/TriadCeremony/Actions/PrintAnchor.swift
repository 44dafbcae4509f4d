import TriadJournal

/// Prints the journal head (sequence number and hash words) for everyone to write down —
/// an extra paper anchor inside an act (docs/ceremony.md §9, item 19). The engine prints one at every
/// act boundary anyway.
public struct PrintAnchorAction: CeremonyAction {
    /// The name scripts give in `action:`.
    public static let name = "print-anchor"
    /// What `ceremony show` prints for a step running this action.
    public static let summary = "The tool prints the journal head as words; everyone writes them down."

    /// Actions hold no state; the engine makes one for each step.
    public init() {}

    /// Prints the head's anchor words and journals which entry they name.
    public func run(_ arguments: NoArguments, _ context: inout ActionContext) throws -> ActionOutcome {
        let head = context.head
        let words = AnchorWords.anchor(hexHash: head.hash)
        context.show(AnchorBanner.text(seq: head.seq, words: words, reason: "checkpoint in step \(context.step.id)"))
        return ActionOutcome(["anchor_seq": .int(head.seq), "anchor_words": .string(words.joined(separator: " "))])
    }
}

/// The box printed for witnesses to copy.
enum AnchorBanner {
    static func text(seq: Int64, words: [String], reason: String) -> String {
        let line = String(repeating: "=", count: 72)
        return """
        \(line)
          WRITE DOWN (\(reason)): journal entry \(seq)
            \(AnchorWords.display(words))
          Check later: ceremony verify TRANSCRIPT --anchor "\(seq): \(words.prefix(8).joined(separator: " ")) …"
        \(line)
        """
    }
}
