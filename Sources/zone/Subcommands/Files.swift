#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import TriadCLI
import TriadZone

/// Opens the zone containing `path` and what `identity` may do in it.
func openAccess(_ path: String, identity: IdentityOptions, trust: TrustOptions) throws -> ZoneAccess {
    let context = try trust.context()
    let zone = try Zone.open(root: try Zone.findRoot(containing: path), context: context)
    let resolved = try identity.resolve()
    return try ZoneAccess(zone: zone, key: resolved.key, identityName: resolved.name)
}

/// All paths must lie in the same zone (one policy, one set of keys per command).
func checkSameZone(_ paths: [String], root: String) throws {
    for p in paths where try Zone.findRoot(containing: p) != root {
        throw CLIError.usage("\(p) is not in the zone \(root); give paths of one zone per command")
    }
}

/// The tree operations' common set-up: one zone for all paths, the caller's identity,
/// the batch size and a progress bar (shown only on a terminal).
func zoneFiles(_ paths: [String], identity: IdentityOptions, trust: TrustOptions, batch: BatchOptions,
               label: String) throws -> ZoneFiles {
    let access = try openAccess(paths[0], identity: identity, trust: trust)
    try checkSameZone(paths, root: access.zone.root)
    var files = ZoneFiles(access: access)
    files.batchFiles = batch.batchFiles
    files.progress = progressCallback(label)
    return files
}

extension ZoneCommand {
    struct Encrypt: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Encrypt files and folder trees of a zone in place (skips .zone/ and files already encrypted; crash-safe, re-run to continue).")

        @Argument(help: "Files or folders inside one zone.") var paths: [String]
        @OptionGroup var identity: IdentityOptions
        @OptionGroup var trust: TrustOptions
        @OptionGroup var batch: BatchOptions

        func run() throws {
            var files = try zoneFiles(paths, identity: identity, trust: trust, batch: batch, label: "encrypting")
            files.notice = { printError("zone: note: " + $0) }
            let counts = try files.encrypt(paths)
            print("encrypted \(counts.done) file(s); \(counts.skipped) already encrypted")
        }
    }

    struct Decrypt: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decrypt files in place, or into --output DIR keeping their paths relative to the zone.")

        @Argument(help: "Files or folders inside one zone.") var paths: [String]
        @Option(help: "Write plaintext copies under this folder instead of decrypting in place.") var output: String?
        @OptionGroup var identity: IdentityOptions
        @OptionGroup var trust: TrustOptions
        @OptionGroup var batch: BatchOptions

        func run() throws {
            var files = try zoneFiles(paths, identity: identity, trust: trust, batch: batch, label: "decrypting")
            let counts = try files.decrypt(paths, output: output)
            print("decrypted \(counts.done) file(s)" + (output == nil ? "" : " into \(output!)") + "; \(counts.skipped) were not encrypted")
        }
    }

    struct Cat: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write the plaintext of an encrypted file to stdout.")

        @Argument(help: "An encrypted file of a zone.") var file: String
        @OptionGroup var identity: IdentityOptions
        @OptionGroup var trust: TrustOptions

        func run() throws {
            let access = try openAccess(file, identity: identity, trust: trust)
            try ZoneFiles(access: access).cat(file, to: 1)
        }
    }

    struct Rekey: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-wrap file headers to the newest epoch and every pinned recovery certificate; --reencrypt re-encrypts files whose key predates the newest epoch. Resumable.")

        @Argument(help: "The zone folder (or files/folders inside it).") var dir: String
        @Flag(help: "Fully re-encrypt (new file key) files whose key predates the newest epoch.") var reencrypt = false
        @OptionGroup var identity: IdentityOptions
        @OptionGroup var trust: TrustOptions
        @OptionGroup var batch: BatchOptions

        func run() throws {
            var files = try zoneFiles([dir], identity: identity, trust: trust, batch: batch,
                                      label: reencrypt ? "re-encrypting" : "re-wrapping")
            files.notice = { printError("zone: note: " + $0) }
            let counts = try files.rekey([dir], reencrypt: reencrypt)
            print("\(reencrypt ? "re-encrypted or re-wrapped" : "re-wrapped") \(counts.done) file(s); \(counts.skipped) already up to date or not encrypted")
        }
    }
}
