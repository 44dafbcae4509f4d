#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import TriadCLI
import TriadZone

/// The zone of `path`: the nearest folder above it with a `.zone/`, refused when that zone lies
/// inside another one (docs/zone.md §1a), as tree walks skip it.
func zoneRoot(containing path: String) throws -> String {
    try Zone.findRoot(containing: path)
}

/// Opens the zone containing `path` and what `identity` may do in it.
func openAccess(_ path: String, identity: IdentityOptions, trust: TrustOptions) throws -> ZoneAccess {
    let context = try trust.context()
    let zone = try Zone.open(root: try zoneRoot(containing: path), context: context)
    let resolved = try identity.resolve()
    return try ZoneAccess(zone: zone, key: resolved.key, identityName: resolved.name)
}

/// All paths must lie in the same zone (one policy, one set of keys per command).
func checkSameZone(_ paths: [String], root: String) throws {
    for p in paths where try zoneRoot(containing: p) != root {
        throw CLIError.usage(message: "\(p) is not in the zone \(root); give paths of one zone per command")
    }
}

/// The tree operations' common set-up: one zone for all paths, the caller's identity, the batch
/// size, a progress bar (shown only on a terminal), and Ctrl-C/SIGTERM ending the run after the
/// files in hand (installed once the keys are unlocked).
func zoneFiles(_ paths: [String], identity: IdentityOptions, trust: TrustOptions, batch: BatchOptions,
               label: String) throws -> ZoneFiles {
    let access = try openAccess(paths[0], identity: identity, trust: trust)
    try checkSameZone(paths, root: access.zone.root)
    var files = ZoneFiles(access: access)
    files.engine.batchFiles = batch.batchFiles
    files.engine.firstBatchFiles = min(files.engine.firstBatchFiles, batch.batchFiles)
    var bar = ProgressBar(label: label)
    files.engine.progress = { bar.update(done: $0.finished, total: $0.total) }
    files.engine.shouldStop = { Interrupt.requested }
    files.notice = { printError("zone: note: " + $0) }
    Interrupt.install()
    return files
}

/// The summary counts of a tree command: what was done, then what was not.
func summary(_ report: ZoneFiles.Report, _ done: String, _ skipped: String) -> String {
    var parts = ["\(done) \(report.done) file(s)", "\(report.skipped) \(skipped)"]
    if !report.failures.isEmpty {
        let busy = report.busy
        parts.append("\(report.failures.count) failed" + (busy > 0 ? " (\(busy) busy: a mount was writing them; run again)" : ""))
    }
    if !report.nestedZones.isEmpty { parts.append("\(report.nestedZones.count) nested zone(s) not entered") }
    if report.notFinished > 0 { parts.append("\(report.notFinished) not reached") }
    return parts.joined(separator: "; ")
}

/// Names on stderr every file and folder the command could not process, then fails (exit 1)
/// unless the whole tree was processed (docs/zone.md §7: tree commands keep going).
func finish(_ report: ZoneFiles.Report) throws {
    for failure in report.failures {
        let text = ErrorReport.message(for: failure.error)
        printError("zone: " + (text.hasPrefix(failure.path) ? text : "\(failure.path): \(text)"))
    }
    for nested in report.nestedZones {
        printError("zone: \(nested) holds its own .zone/ (a zone inside this zone); not entered — zones inside zones are not used")
    }
    if let error = report.commitFailure {
        printError("zone: a batch of files could not be made durable: " + ErrorReport.message(for: error))
    }
    guard !report.isComplete else { return }
    if report.interrupted {
        throw CLIError.io(path: "stopped", problem: "interrupted after the files in hand; every finished file is durable; \(report.notFinished) file(s) not reached: run the command again to continue")
    }
    let problems = report.failures.count + report.nestedZones.count
    throw CLIError.io(path: "incomplete", problem: "\(problems) file(s) or folder(s) could not be processed (named above)"
        + (report.notFinished > 0 ? " and \(report.notFinished) file(s) were not reached" : "")
        + "; the others were processed: fix or move the ones named and run the command again")
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
            let files = try zoneFiles(paths, identity: identity, trust: trust, batch: batch, label: "encrypting")
            let report = try files.encrypt(paths)
            print(summary(report, "encrypted", "already encrypted"))
            try finish(report)
        }
    }

    struct Decrypt: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decrypt files in place, or into --output DIR keeping their paths relative to the zone (new files 0600; an existing file is never overwritten without --force).")

        @Argument(help: "Files or folders inside one zone.") var paths: [String]
        @Option(help: "Write plaintext copies under this folder instead of decrypting in place.") var output: String?
        @Flag(help: "With --output: replace files that already exist there (a symbolic link is replaced by the file, its target never written).") var force = false
        @OptionGroup var identity: IdentityOptions
        @OptionGroup var trust: TrustOptions
        @OptionGroup var batch: BatchOptions

        func run() throws {
            let files = try zoneFiles(paths, identity: identity, trust: trust, batch: batch, label: "decrypting")
            guard output != nil || !force else { throw CLIError.usage(message: "--force only applies with --output DIR") }
            let report = try files.decrypt(paths, output: output, force: force)
            print(summary(report, "decrypted", "were not encrypted") + (output.map { " (into \($0))" } ?? ""))
            try finish(report)
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
            let files = try zoneFiles([dir], identity: identity, trust: trust, batch: batch,
                                      label: reencrypt ? "re-encrypting" : "re-wrapping")
            let report = try files.rekey([dir], reencrypt: reencrypt)
            print(summary(report, reencrypt ? "re-encrypted or re-wrapped" : "re-wrapped", "already up to date or not encrypted"))
            try finish(report)
        }
    }
}
