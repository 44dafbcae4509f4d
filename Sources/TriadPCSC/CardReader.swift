/// The one way Triad picks a card: every command, identity and ceremony step that needs a
/// card goes through `CardReader.open` (or `connect`, its plain form), so reader matching,
/// empty readers and error reporting behave the same everywhere.
///
/// A reader matches when its name contains the wanted text, ignoring case, as
/// `yubico-piv-tool -r` matches; no text (nil or empty) means every reader. Readers are tried
/// in pcscd's order; empty ones are skipped; the first card that `open` accepts wins.
public enum CardReader {
    /// Connects to the first matching reader's card that `open` accepts and returns what
    /// `open` made of it.
    ///
    /// - Parameters:
    ///   - substring: part of the reader's name; nil or empty for any reader.
    ///   - share: `.shared` (other programs may use the card between our transactions) or
    ///     `.exclusive`.
    ///   - open: looks at the card (for example selects an application and reads a
    ///     certificate) and returns the caller's handle on it; throwing rejects this card and
    ///     the next reader is tried.
    /// - Throws: `CardSelectionError`: no service, no reader, no reader matching, no card,
    ///   or the card refused by `open` (with `open`'s error).
    public static func open<T>(matching substring: String?, share: PCSCContext.ShareMode = .shared,
                               _ open: (any CardTransport) throws -> T) throws -> T {
        let context: PCSCContext
        let all: [String]
        do {
            context = try PCSCContext()
            all = try context.readers()
        } catch let error as PCSCError {
            throw CardSelectionError.service(cause: error)
        }
        guard !all.isEmpty else { throw CardSelectionError.noReader }
        let wanted = substring.flatMap { $0.isEmpty ? nil : $0.lowercased() }
        let candidates = wanted.map { w in all.filter { $0.lowercased().contains(w) } } ?? all
        guard !candidates.isEmpty else { throw CardSelectionError.noMatchingReader(wanted: substring ?? "", available: all) }

        var problems: [CardSelectionError] = []
        for reader in candidates {
            let card: PCSCCard
            do {
                guard try context.state(of: reader).isCardPresent else {
                    problems.append(.noCard(reader: reader))
                    continue
                }
                card = try context.connect(reader: reader, share: share)
            } catch let error as PCSCError {
                problems.append(error.kind == .noCard ? .noCard(reader: reader) : .connectFailed(reader: reader, error))
                continue
            }
            do {
                return try open(card)
            } catch {
                problems.append(.refused(reader: reader, error))
            }
        }
        // A card that is there but unusable says more than the empty readers beside it.
        if let first = problems.first(where: { if case .noCard = $0 { return false } else { return true } }) { throw first }
        if candidates.count == 1, let first = problems.first { throw first }
        throw CardSelectionError.noCardInAnyReader(readers: candidates)
    }

    /// The first matching reader's card, connected (`open` with nothing to check).
    public static func connect(matching substring: String?, share: PCSCContext.ShareMode = .shared) throws -> any CardTransport {
        try open(matching: substring, share: share) { $0 }
    }
}

/// Why no card could be picked; each case names the readers involved.
public enum CardSelectionError: Error, CustomStringConvertible {
    /// pcscd cannot be reached (or listing readers failed).
    case service(cause: PCSCError)
    /// pcscd knows no reader at all.
    case noReader
    /// No reader name contains `wanted`; `available` lists the readers there are.
    case noMatchingReader(wanted: String, available: [String])
    /// The (only) matching reader is empty.
    case noCard(reader: String)
    /// Every matching reader is empty.
    case noCardInAnyReader(readers: [String])
    /// The card is there but connecting to it failed (held exclusively, reset, mute…).
    case connectFailed(reader: String, PCSCError)
    /// The card is there but the caller's check refused it; `error` says why.
    case refused(reader: String, any Error)

    /// The reader a case is about, when it names one.
    public var reader: String? {
        switch self {
        case .noCard(let reader), .connectFailed(let reader, _), .refused(let reader, _): return reader
        case .service, .noReader, .noMatchingReader, .noCardInAnyReader: return nil
        }
    }

    /// One sentence naming the reader(s) and what to do.
    public var description: String {
        switch self {
        case .service(let e): return "cannot reach the smartcard service: \(e)"
        case .noReader: return "no smartcard reader is attached: attach a reader (and check that pcscd runs)"
        case let .noMatchingReader(wanted, available):
            return "no reader name contains \"\(wanted)\"; readers present: \(available.joined(separator: ", "))"
        case .noCard(let reader): return "the reader \"\(reader)\" holds no card: insert the card"
        case .noCardInAnyReader(let readers): return "no card in any reader (\(readers.joined(separator: ", "))): insert the card"
        case let .connectFailed(reader, e): return "the card in \"\(reader)\": \(e)"
        case let .refused(reader, e): return "the card in \"\(reader)\": \(e)"
        }
    }
}
