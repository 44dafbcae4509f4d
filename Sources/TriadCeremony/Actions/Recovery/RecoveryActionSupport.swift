import DurableFile
import Foundation
import SystemPackage
import TriadCrypto
import TriadJournal
import TriadPCSC
import TriadPIV
import TriadRecovery

/// The recovery key actions (docs/recovery.md §7), registered with the engine through this list.
let recoveryActions: [any CeremonyAction.Type] = [
    GenerateRecoveryKeyAction.self, EnrolRecoveryCardAction.self, WriteEscrowBlobAction.self,
    LoadEscrowBlobAction.self, IdentifyRecoveryCardAction.self, TakePINAction.self, UnlockRecoveryKeyAction.self,
    RegrantFilesAction.self, DecryptToQuarantineAction.self, RecoverFilesAction.self, RewrapRecoverySlotsAction.self,
    StartDrillAction.self, DrillCanaryAction.self, DrillReportAction.self,
    ChangeCardPINAction.self, ZeroiseAction.self,
]

/// Names under which recovery actions keep their state in the ceremony's `SecretStore`.
/// Everything lives only in this process and is overwritten at CLOSED/ABORTED; public
/// values (certificates, the blob) sit there too so that nothing crosses ceremonies.
enum Slot {
    static let recoveryKey = "recovery-key"                 // PKCS#8 of the unlocked / generated key
    static let recoveryCertificate = "recovery-certificate" // DER
    static let newRecoveryKey = "new-recovery-key"
    static let newRecoveryCertificate = "new-recovery-certificate"
    static let blob = "escrow-blob"
    static let record = "enrolment-record"                  // JSON as read
    static let cardReader = "card-reader"
    static let cardCertificate = "card-certificate"         // DER of the identified card's 9D certificate
    static let cardTries = "card-pin-tries"
    static let pin = "card-pin"
    static let enrolledCards = "enrolled-cards"             // JSON [EnrolmentRecord.Card]
    static let drillReport = "drill-report"                 // JSON DrillReport
    static let drillReportPath = "drill-report-path"
}

extension SecretStore {
    func text(_ name: String) -> String? { get(name).map { String(decoding: $0.bytes, as: UTF8.self) } }
    func setText(_ name: String, _ value: String) { set(name, SecureBytes(Array(value.utf8))) }
    func certificate(_ name: String) -> Certificate? { get(name).flatMap { try? Certificate(der: $0.bytes) } }
    func setCertificate(_ name: String, _ cert: Certificate) { set(name, SecureBytes(cert.der)) }
    func privateKey(_ name: String) throws -> PrivateKey? { try get(name).map { try PrivateKey(pkcs8DER: $0) } }
}

/// Runs a factor or key operation; any failure becomes a *fatal* `ActionError` that names
/// the factor and what to do, so the engine closes the ceremony ABORTED at this step.
func factorStep<T>(_ what: String, _ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as ActionError {
        throw ActionError(e.message, fatal: true)
    } catch let e as RecoveryError {
        throw ActionError("\(what): \(e.description)", fatal: true)
    } catch {
        throw ActionError("\(what): \(error)", fatal: true)
    }
}

func hex(_ b: [UInt8]) -> String { Hex.encode(b) }
func words(_ b: [UInt8]) -> String { AnchorWords.words(Array(b.prefix(8))).joined(separator: " ") }

func readFile(_ path: String, what: String) throws -> [UInt8] {
    guard let d = FileManager.default.contents(atPath: path) else {
        throw ActionError("\(what) \(path) cannot be read: check the path", fatal: true)
    }
    return Array(d)
}

/// Writes a new file, never over an existing one (docs/ceremony.md §9, item 17), through the
/// durable-write module (docs/format.md §7.1): complete and durable before it takes the name.
func writeNew(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws {
    do {
        try Durable.write(bytes, to: FilePath(path), mode: mode, publication: .noReplace)
    } catch let error as DurableError {
        throw ActionError("\(path): \(error.reason); outputs are never overwritten — choose a new path", fatal: true)
    }
}

func loadRecord(_ context: ActionContext) throws -> EnrolmentRecord {
    guard let bytes = context.secrets.get(Slot.record) else {
        throw ActionError("no enrolment record is loaded: run the load-escrow-blob step first", fatal: true)
    }
    return try factorStep("enrolment record") { try EnrolmentRecord(json: bytes.bytes) }
}

/// Connects to the reader named in the step (`reader`) or the ceremony (`--set reader=`).
func connectCard(_ context: ActionContext, reader: String?) throws -> any CardTransport {
    let name = reader ?? context.secrets.text(Slot.cardReader) ?? context.parameters["reader"]?.textValue ?? ""
    return try factorStep("recovery card") { try RecoveryCard.connect(readerSubstring: name) }
}

/// Drill bookkeeping: when a drill is running, factor actions record their result in the
/// report, which is rewritten on disk at every change, so an aborted drill still leaves a
/// report saying which factor failed.
func updateDrill(_ context: ActionContext, _ change: (inout DrillReport) -> Void) {
    guard let json = context.secrets.get(Slot.drillReport),
          var report = try? JSONDecoder().decode(DrillReport.self, from: Data(json.bytes)) else { return }
    change(&report)
    if let data = try? report.json() { context.secrets.set(Slot.drillReport, SecureBytes(data)) }
    if let path = context.secrets.text(Slot.drillReportPath) {
        // Replaced whole at every change (docs/format.md §7.1): a crash leaves the last report.
        try? Durable.write(Array(report.text.utf8), to: FilePath(path + ".txt"), mode: 0o644)
        try? Durable.write((try? report.json()) ?? [], to: FilePath(path + ".json"), mode: 0o644)
    }
}

func drillReport(_ context: ActionContext) -> DrillReport? {
    guard let json = context.secrets.get(Slot.drillReport) else { return nil }
    return try? JSONDecoder().decode(DrillReport.self, from: Data(json.bytes))
}

/// A factor action inside a drill: on failure, mark the factor FAIL in the report first.
func drillFactor<T>(_ context: ActionContext, _ factor: String, _ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as ActionError {
        updateDrill(context) { $0.set(factor, .fail, e.message) }
        throw e
    }
}
