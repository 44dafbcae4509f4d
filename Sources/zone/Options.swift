import ArgumentParser
import Foundation
import TriadCLI
import TriadCrypto
import TriadZone

/// `--identity` and how its secrets are read.
struct IdentityOptions: ParsableArguments {
    @Option(help: "The private key: file:PATH (PEM) or piv:[READER] (PIV card slot 9D).")
    var identity: String

    @Option(name: .customLong("passphrase-fd"), help: "Read the key file's passphrase from this file descriptor.")
    var passphraseFD: Int32?

    @Option(name: .customLong("pin-fd"), help: "Read the card PIN from this file descriptor.")
    var pinFD: Int32?

    @Flag(name: .customLong("allow-last-pin-try"), help: "Allow spending the card's last PIN try.")
    var allowLastPinTry = false

    func validate() throws {
        _ = try IdentitySpec(parsingForValidation: identity)
    }

    func resolve() throws -> ResolvedIdentity {
        try IdentityResolver(passphraseFD: passphraseFD, pin: PINOptions(pinFD: pinFD, allowLastPinTry: allowLastPinTry),
                             warn: { printError("zone: warning: " + $0) })
            .resolve(identity)
    }

    /// Officer operations sign the policy, which needs a software key.
    func resolveSigningKey() throws -> (ResolvedIdentity, PrivateKey) {
        // Refuse a card before opening it: no PIN is asked for an operation that cannot work.
        if case .piv = try IdentitySpec(parsing: identity) { throw ZoneError.signingNeedsKeyFile(identity: identity) }
        let resolved = try resolve()
        guard let key = resolved.privateKey else { throw ZoneError.signingNeedsKeyFile(identity: resolved.name) }
        return (resolved, key)
    }
}

extension IdentitySpec {
    init(parsingForValidation text: String) throws {
        do { try self.init(parsing: text) } catch { throw ValidationError(ErrorReport.message(for: error)) }
    }
}

/// `--trust FILE`.
struct TrustOptions: ParsableArguments {
    @Option(help: "The organisation's trust file (PEM officer CAs/certificates and recovery certificates). Default: TRIAD_TRUST, then /etc/triad/trust.")
    var trust: String?

    func context() throws -> ZoneContext {
        let env = ProcessInfo.processInfo.environment
        return ZoneContext(trust: try TrustFile.resolve(explicit: trust, environment: env),
                           state: LocalState(environment: env),
                           notice: { printError("zone: note: " + $0) })
    }
}

/// Reads a PEM certificate named on the command line.
func loadCertificate(_ path: String, option: String) throws -> Certificate {
    let bytes: [UInt8]
    do { bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path))) } catch {
        throw CLIError.io(path: path, problem: "cannot read the certificate given with \(option); check the path")
    }
    do { return try Certificate(pem: String(decoding: bytes, as: UTF8.self)) } catch {
        throw CLIError.io(path: path, problem: "is not a PEM X.509 certificate (\(error)); give the file made by openssl req -x509 or your CA")
    }
}

/// Builds a progress callback that draws on stderr only when it is a terminal.
func progressCallback(_ label: String) -> (Int, Int) -> Void {
    var bar = ProgressBar(label: label)
    return { done, total in bar.update(done: done, total: total) }
}

/// How many files are made durable together (docs/format.md §7.4). Each batch costs one round
/// of fsyncs; a crash leaves every file old or complete whatever the size, so this only trades
/// the number of leftover temporaries after a crash against speed.
struct BatchOptions: ParsableArguments {
    @Option(name: .customLong("batch-files"),
            help: "Files made durable together: their temporaries are fsynced in a row, then renamed (default 256).")
    var batchFiles = 256

    func validate() throws {
        guard batchFiles >= 1 else { throw ValidationError("--batch-files must be at least 1") }
    }
}
