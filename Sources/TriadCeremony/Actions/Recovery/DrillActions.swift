import Foundation
import TriadCrypto
import TriadJournal
import TriadRecovery

/// Starts the drill report (every factor NOT REACHED) at `report` (.txt and .json).
struct StartDrillAction: CeremonyAction {
    static let name = "start-drill"
    static let summary = "The tool opens the drill report; each factor is marked as the ceremony reaches it."
    /// Where the report goes.
    struct Arguments: ActionArguments {
        static let parameters = [ParameterSpec("report", .text, required: true, "report path without extension (.txt and .json are written)")]
        var report: String
        init(from a: ArgumentReader) throws { report = try a.requiredText("report") }
    }
    static func produces(_ a: Arguments) -> [String] { ["drill-started"] }
    init() {}

    func run(_ arguments: Arguments, _ context: inout ActionContext) throws -> ActionOutcome {
        let path = context.outputPath(arguments.report)
        for ext in [".txt", ".json"] where FileManager.default.fileExists(atPath: path + ext) {
            throw ActionError("\(path)\(ext) exists; reports are never overwritten — choose a new report path", fatal: true)
        }
        var report = DrillReport()
        report.ceremonyID = context.ceremonyID
        report.practice = context.practice ? true : nil
        for f in DrillReport.factorNames { report.set(f, .notReached, "") }
        context.secrets.set(Slot.drillReport, SecureBytes(try report.json()))
        context.secrets.setText(Slot.drillReportPath, path)
        updateDrill(context) { _ in }
        context.stampWhenClosed(path + ".txt")
        context.stampWhenClosed(path + ".json")
        try context.record(DrillStartedRecord(report: path))
        return ActionOutcome()
    }
}

/// Recovers the canary in memory and compares its digest with the enrolment record.
struct DrillCanaryAction: CeremonyAction {
    static let name = "drill-canary"
    static let summary = "The tool recovers the drill canary in memory with the unlocked key and compares it with the enrolment record; no zone file is touched."
    /// Where the canary is, directly or next to the record.
    struct Arguments: ActionArguments {
        static let parameters = [ParameterSpec("canary", .text, "canary path (default: the record's canary next to the record)"),
                                 ParameterSpec("record", .text, check: .existingFile, "the enrolment record path, to find the canary")]
        var canary: String?, record: String?
        init(from a: ArgumentReader) throws { canary = try a.text("canary"); record = try a.text("record") }
    }
    static func requires(_ a: Arguments) -> [String] { ["recovery-key-unlocked"] }
    static func produces(_ a: Arguments) -> [String] { ["canary-recovered"] }
    init() {}

    func run(_ arguments: Arguments, _ context: inout ActionContext) throws -> ActionOutcome {
        try drillFactor(context, "canary recovered") {
            let (key, cert) = try unlockedKey(context)
            let record = try loadRecord(context)
            guard let canary = record.canary else { throw ActionError("the enrolment record names no canary", fatal: true) }
            let dir = arguments.record.map { ($0 as NSString).deletingLastPathComponent } ?? "."
            let path = arguments.canary ?? (dir + "/" + canary.file)
            let ok = try factorStep("canary \(path)") {
                try Canary.verify(at: path, expectedSHA256: canary.plaintextSHA256, key: key, recoveryCertificate: cert)
            }
            guard ok else { throw ActionError("canary \(path): recovered, but its content is not the recorded one: the canary was replaced", fatal: true) }
            try context.record(CanaryRecoveredRecord(canary: path, plaintextSHA256: canary.plaintextSHA256))
            updateDrill(context) { $0.set("canary recovered", .pass, "content SHA-256 matches the enrolment record") }
            context.show("✓ Canary \(path) recovered in memory; its content matches the enrolment record.")
            return ActionOutcome(["canary": .string(path)])
        }
    }
}

/// Finishes the drill report: coverage of the given zones, expiry, the verdict; the
/// report goes into the journal as well as to disk.
struct DrillReportAction: CeremonyAction {
    static let name = "drill-report"
    static let summary = "The tool completes the drill report (factors, retry counter, expiry dates, coverage of the zones) and journals it."
    /// The zones whose coverage is counted, a YAML list (may be empty).
    struct Arguments: ActionArguments {
        static let parameters = [ParameterSpec("zones", .textList, "zone roots whose recovery-slot coverage is reported")]
        var zones: [String]
        init(from a: ArgumentReader) throws { zones = try a.list("zones") }
    }
    static func requires(_ a: Arguments) -> [String] { ["drill-started"] }
    init() {}

    func run(_ arguments: Arguments, _ context: inout ActionContext) throws -> ActionOutcome {
        let zones = arguments.zones
        if let cert = context.secrets.certificate(Slot.recoveryCertificate) {
            for zone in zones {
                let c = try factorStep("coverage of \(zone)") { try RecoveryFiles.coverage([zone], certificate: cert) }
                updateDrill(context) { $0.coverage.append(DrillReport.ZoneCoverage(zone: zone, encrypted: c.encrypted, covered: c.covered)) }
            }
        }
        guard let report = drillReport(context) else { throw ActionError("no drill was started in this ceremony", fatal: true) }
        context.show(report.text)
        let json = String(decoding: try report.json(), as: UTF8.self)
        try context.record(DrillReportRecord(result: report.passed ? "PASS" : "FAIL", report: json))
        return ActionOutcome(["result": .string(report.passed ? "PASS" : "FAIL")])
    }
}

/// PIN change (or unblock with the PUK) by the Medical custodian, card held by Management.
/// The retry counter is read first: a blocked PIN is unblocked with the PUK (RESET RETRY
/// COUNTER, SP 800-73-4 Part 2 §3.2.3) without being told; the last PIN try is not spent
/// unless a witnessed exception allows it; two different new PINs, or a wrong current PIN
/// while tries remain, are retried with the witness.
struct ChangeCardPINAction: CeremonyAction {
    static let name = "change-card-pin"
    static let summary = "The Medical custodian types the current PIN (or the PUK when the PIN is blocked) and the new PIN twice; the card changes it and the tool shows the tries left."
    /// Whether to unblock with the PUK although the PIN is not blocked.
    struct Arguments: ActionArguments {
        static let parameters = [ParameterSpec("use-puk", .flag, "unblock with the PUK even if the PIN is not blocked")]
        var usePUK: Bool
        init(from a: ArgumentReader) throws { usePUK = try a.flag("use-puk") }
    }
    static func requires(_ a: Arguments) -> [String] { ["card-identified"] }
    static func produces(_ a: Arguments) -> [String] { ["pin-changed"] }
    init() {}

    func run(_ arguments: Arguments, _ context: inout ActionContext) throws -> ActionOutcome {
        let card = try waitForCard(&context, reader: nil)
        let id = try factorStep("recovery card in \(card.reader)") { try RecoveryCard.identify(transport: card) }
        let usePUK = arguments.usePUK || id.pinBlocked
        if !usePUK && id.pinTriesLeft == 1 && !context.facts.contains(Grant.fact(Grant.lastPINTry)) {
            throw lastTryRefusal("PIN change")
        }
        context.show(usePUK ? "The PIN is \(id.pinBlocked ? "blocked" : "to be reset"): type the PUK, then the new PIN twice."
                            : "PIN tries left: \(id.pinTriesLeft.map(String.init) ?? "unknown"). Type the current PIN, then the new PIN twice.")
        let old = try context.readSecret(prompt: usePUK ? "PUK: " : "Current PIN: ")
        let new = try context.readSecret(prompt: "New PIN: ")
        let again = try context.readSecret(prompt: "New PIN again: ")
        guard new == again else {
            try context.record(NewPINEntriesDifferRecord(what: nil))
            throw ActionError("the two new PIN entries differ; nothing was sent to the card. The witness may allow a retry.")
        }
        do {
            try RecoveryCard.changePIN(transport: card, old: usePUK ? nil : old, puk: usePUK ? old : nil, new: new)
        } catch RecoveryError.pinIncorrect(let left) {
            try context.record(PINRefusedRecord(during: .pinChange(byPUK: usePUK), triesLeftAfter: left.map(Int64.init)))
            if usePUK { throw ActionError("the card refused the PUK\(left.map { "; \($0) PUK tries left" } ?? ""). The witness may allow a retry.", fatal: left == 0) }
            throw wrongPIN("PIN change", left: left)
        } catch {
            throw ActionError("PIN change: \(error)", fatal: true)
        }
        let after = try? RecoveryCard.identify(transport: card)
        try context.record(PINChangedRecord(byPUK: usePUK, reader: card.reader, triesLeftBefore: id.pinTriesLeft.map(Int64.init),
                                            triesLeftAfter: after?.pinTriesLeft.map(Int64.init)))
        context.show("✓ The card's PIN was \(usePUK ? "unblocked and " : "")changed; \(after?.pinTriesLeft.map { "\($0) tries left" } ?? "tries left unknown").")
        return ActionOutcome(["by_puk": .bool(usePUK)])
    }
}

/// Overwrites and drops every secret of the ceremony (the engine does it again at close).
struct ZeroiseAction: CeremonyAction {
    static let name = "zeroise"
    static let summary = "The tool overwrites the recovery key, the PIN and every other secret in memory."
    static func produces(_ a: NoArguments) -> [String] { ["zeroised"] }
    init() {}

    func run(_ arguments: NoArguments, _ context: inout ActionContext) throws -> ActionOutcome {
        let names = context.secrets.names.filter { $0 != Slot.drillReport && $0 != Slot.drillReportPath }
        for n in names { context.secrets.remove(n) }
        try context.record(ZeroisedRecord(secrets: names))
        return ActionOutcome(["zeroised": .int(Int64(names.count))])
    }
}
