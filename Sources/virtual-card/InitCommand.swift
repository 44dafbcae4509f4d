import ArgumentParser
import Foundation
import VirtualPIV

/// `virtual-card init --state PATH [--serial N] [--force]`: a blank card.
struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Make a blank software PIV card: PIN 123456, PUK 12345678, default 3DES management key, no keys.")

    @Option(help: "The card's state file to create (mode 0600).")
    var state: String

    @Option(help: "Serial number in 999000000-999999999 (the software-card range); a number below 1000000 is added to 999000000. Default: random in the range.")
    var serial: UInt64?

    @Flag(help: "Replace an existing card at --state (its keys are lost).")
    var force = false

    @Option(help: "Algorithm of the default management key: 3des (default; yubico-piv-tool 2.2.0 can only use 3DES) or aes192 (as a YubiKey 5.7 ships).")
    var managementKeyAlgorithm: ManagementAlgorithm = .tripleDES

    enum ManagementAlgorithm: String, ExpressibleByArgument {
        case tripleDES = "3des"
        case aes192

        /// PIV algorithm identifier (SP 800-78-4 Table 6-1).
        var pivAlgorithmID: UInt8 { self == .tripleDES ? 0x03 : 0x0A }
    }

    func validate() throws {
        if let serial, resolvedSerial(serial) == nil {
            throw ValidationError(VirtualCardError.serialOutOfRange(serial: serial).description)
        }
    }

    func resolvedSerial(_ n: UInt64) -> UInt32? {
        if n < 1_000_000 { return VirtualCardState.serialRange.lowerBound + UInt32(n) }
        guard n <= UInt64(UInt32.max), VirtualCardState.serialRange.contains(UInt32(n)) else { return nil }
        return UInt32(n)
    }

    func run() throws {
        let file = CardStateFile(path: state)
        if file.exists && !force { throw VirtualCardError.stateExists(path: state) }
        let number = serial.flatMap(resolvedSerial) ?? UInt32.random(in: VirtualCardState.serialRange)
        try file.save(.blank(serial: number, managementAlgorithmID: managementKeyAlgorithm.pivAlgorithmID))
        print("virtual card \(number) created in \(state) (software card, no hardware protection): PIN 123456, PUK 12345678, default management key")
    }
}
