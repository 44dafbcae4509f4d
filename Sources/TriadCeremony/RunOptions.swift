import TriadJournal

/// Options of one `ceremony run`.
public struct RunOptions {
    /// `--set KEY=VALUE` values: a text each, a list for a parameter declared `list: true`
    /// (`ParameterSettings.parse` builds them from the command line).
    public var parameters: [String: ParameterValue] = [:]
    /// A practice run: marked in the BEGIN entry, the ceremony id and every output name.
    public var practice = false
    /// `--pin-fd N`: PINs are read from this descriptor instead of the terminal.
    public var pinFD: Int32?
    /// `--attest-pin-fd N`: the PINs of the participants' own cards (`attest: card`) are read
    /// from this descriptor, one line per signature in the order asked; nil: from `pinFD` (or
    /// the terminal). Why a second descriptor: in an unattended rehearsal the custodians' card
    /// PINs and the recovery card's PIN are typed by different people at different moments,
    /// and one stream would make each run depend on the exact interleaving.
    public var attestationPinFD: Int32?

    /// Where the attesting participants' PINs come from.
    var attestationSecretInput: SecretInput { SecretInput(pinFD: attestationPinFD ?? pinFD) }
    /// Where the transcript and summary are written (never overwriting).
    public var outputDirectory: String
    /// The approved script SHA-256; the run is refused when the script differs.
    public var expectedScriptSHA256: String?
    /// The actions steps may call; tests register their key actions here.
    public var registry: ActionRegistry = .standard
    /// A fixed ceremony id instead of a fresh one (tests of id reuse).
    public var ceremonyID: String?
    /// Skip `Lint` (tests of the engine's own run-time checks only).
    var skipLint = false

    /// Options with outputs written to `outputDirectory`.
    public init(outputDirectory: String) { self.outputDirectory = outputDirectory }
}

/// How a run ended.
public struct RunResult {
    /// The id of the ceremony that ran.
    public var ceremonyID: String
    /// CLOSED or ABORTED.
    public var terminal: JournalEntry
    /// The transcript written at the end, if one was.
    public var transcriptPath: String?
    /// The one-page summary written beside the transcript, if one was.
    public var summaryPath: String?
    /// True when the ceremony completed (CLOSED), false when it was ABORTED.
    public var closed: Bool { terminal.event == EventType.closed }
}
