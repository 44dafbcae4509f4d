import Foundation
import TriadJournal

/// Records the machine the ceremony runs on: host, kernel, the tool binary's SHA-256 and
/// the attached USB devices (docs/ceremony.md §9, item 22: the environment fingerprint).
public struct RecordEnvironmentAction: CeremonyAction {
    /// The name scripts give in `action:`.
    public static let name = "record-environment"
    /// What `ceremony show` prints for a step running this action.
    public static let summary = "The tool records the host, kernel, its own SHA-256 and the attached USB devices."

    /// `environment-recorded`, which later steps may require.
    public static func produces(_ arguments: NoArguments) -> [String] { ["environment-recorded"] }

    /// Actions hold no state; the engine makes one for each step.
    public init() {}

    /// Reads the environment now and journals it in a RECORD entry.
    public func run(_ arguments: NoArguments, _ context: inout ActionContext) throws -> ActionOutcome {
        let env = Environment.current()
        context.show("  host \(env.host), kernel \(env.kernel)\n  tool SHA-256 \(env.toolSHA256)\n  USB devices: \(env.usbDevices.isEmpty ? "none" : env.usbDevices.joined(separator: ", "))")
        try context.record(EnvironmentRecord(host: env.host, kernel: env.kernel, toolSHA256: env.toolSHA256, usbDevices: env.usbDevices))
        return ActionOutcome(["usb_device_count": .int(Int64(env.usbDevices.count))])
    }
}
