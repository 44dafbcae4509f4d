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

    func validate() throws {
        if let serial, resolvedSerial(serial) == nil {
            throw ValidationError(VirtualCardError.serialOutOfRange(serial).description)
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
        try file.save(.blank(serial: number))
        print("virtual card \(number) created in \(state) (software card, no hardware protection): PIN 123456, PUK 12345678, default management key")
    }
}
