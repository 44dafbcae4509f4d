import Foundation
import TriadCrypto
import TriadPCSC
import TriadPIV

/// How a `piv:` identity gets its PIN and how careful it must be with the retry counter
/// (docs/piv-client.md, "PIN policy").
public struct PINOptions: Sendable {
    /// Read the PIN from this file descriptor instead of the terminal (`--pin-fd N`).
    public var pinFD: Int32?
    /// Spend the last remaining PIN try (`--allow-last-pin-try`); refused otherwise.
    public var allowLastPinTry: Bool
    /// Options as the command line gave them; the terminal and no last try by default.
    public init(pinFD: Int32? = nil, allowLastPinTry: Bool = false) {
        self.pinFD = pinFD
        self.allowLastPinTry = allowLastPinTry
    }
}

/// Opens the card behind a `piv:` / `piv:READER` identity.
public enum CardIdentity {
    /// Finds the card and reads its 9D certificate; the PIN is asked at the first key
    /// operation (after showing the tries left on stderr) and then kept for this run.
    ///
    /// - Parameter readerSubstring: nil or empty picks the first reader holding a PIV card;
    ///   otherwise the first reader whose name contains it (case-insensitive, as
    ///   yubico-piv-tool's `-r`).
    /// - Returns: the card's slot 9D key, usable wherever a software key is.
    /// - Throws: `CardIdentityError` naming the reader and what to do.
    public static func open(readerSubstring: String?, pin: PINOptions) throws -> any PrivateKeyOperations {
        try openCard(readerSubstring: readerSubstring, pin: pin)
    }

    /// As `open`, with the concrete type (reader name, certificate) for callers that show them.
    public static func openCard(readerSubstring: String?, pin: PINOptions,
                                notify: @escaping (String) -> Void = CardIdentity.printToStandardError) throws -> PIVKeyOperations {
        do {
            return try PIVKeyOperations.open(reader: readerSubstring, slot: .keyManagement, allowLastPinTry: pin.allowLastPinTry) { reader, triesLeft in
                let tries = triesLeft.map { "\($0) PIN \($0 == 1 ? "try" : "tries") left" } ?? "PIN already verified"
                notify("triad: PIV card in \"\(reader)\": \(tries)")
                return try PINEntry.read(pinFD: pin.pinFD, prompt: "PIN for the card in \(reader): ")
            }
        } catch let error as CardSelectionError {
            throw CardIdentityError(error)
        }
    }

    /// As `openCard`, with the PIN already in hand: a mount daemon gets it from `zone unlock`
    /// over its control socket when the card comes back (docs/mount.md §7).
    public static func openCard(readerSubstring: String?, pin: SecureBytes, allowLastPinTry: Bool) throws -> PIVKeyOperations {
        do {
            return try PIVKeyOperations.open(reader: readerSubstring, slot: .keyManagement, allowLastPinTry: allowLastPinTry) { _, _ in pin }
        } catch let error as CardSelectionError {
            throw CardIdentityError(error)
        }
    }

    /// Default notice sink: one line on stderr (never stdout, which may carry plaintext).
    public static func printToStandardError(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}

/// Why a `piv:` identity could not be opened, with what to do.
public enum CardIdentityError: Error, CustomStringConvertible {
    case pcsc(cause: PCSCError)
    case noReader
    case noMatchingReader(wanted: String, available: [String])
    case noCard(reader: String)
    case noCardInAnyReader(readers: [String])
    case noPIVApplet(reader: String)
    case noCertificate(reader: String)
    case card(reader: String, cause: PIVError)

    /// The reader selection's error, with the PIV reasons a card was refused named.
    init(_ error: CardSelectionError) {
        switch error {
        case .service(let e): self = .pcsc(cause: e)
        case .noReader: self = .noReader
        case let .noMatchingReader(wanted, available): self = .noMatchingReader(wanted: wanted, available: available)
        case .noCard(let reader): self = .noCard(reader: reader)
        case .noCardInAnyReader(let readers): self = .noCardInAnyReader(readers: readers)
        case let .connectFailed(reader, e): self = e.kind == .noCard ? .noCard(reader: reader) : .card(reader: reader, cause: .transport(problem: e.description))
        case let .refused(reader, PIVError.noPIVApplet): self = .noPIVApplet(reader: reader)
        case let .refused(reader, PIVError.notFound): self = .noCertificate(reader: reader)
        case let .refused(reader, e as PIVError): self = .card(reader: reader, cause: e)
        case let .refused(reader, e): self = .card(reader: reader, cause: .transport(problem: String(describing: e)))
        }
    }

    /// One sentence naming the reader and what to do.
    public var description: String {
        switch self {
        case .pcsc(let e): return "piv: cannot reach the smartcard service: \(e)"
        case .noReader: return "piv: no smartcard reader is attached: attach a reader (and check that pcscd runs)"
        case .noMatchingReader(let w, let all):
            return "piv: no reader name contains \"\(w)\"; readers present: \(all.joined(separator: ", ")); use piv:PART-OF-A-NAME"
        case .noCard(let r): return "piv: the reader \"\(r)\" holds no card: insert the card"
        case .noCardInAnyReader(let rs): return "piv: no card in any reader (\(rs.joined(separator: ", "))): insert the card"
        case .noPIVApplet(let r): return "piv: the card in \"\(r)\" has no PIV application: use a PIV card"
        case .noCertificate(let r):
            return "piv: the card in \"\(r)\" has no certificate in slot 9D (key management): enrol the card first (generate a 9D key and import its certificate)"
        case .card(let r, let e): return "piv: card in \"\(r)\": \(e)"
        }
    }
}
