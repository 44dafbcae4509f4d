import Foundation
import ISO7816
@testable import VirtualPIV

/// Harness `applet`: command APDUs into the virtual card (docs/virtual-card.md), as a
/// hostile host would send them over vpcd. The input is a flags byte, then commands
/// (records). Flags bit 0 starts with the PIN verified, bit 1 with the management key
/// authenticated, so the fuzzer reaches commands behind both without forging a cryptogram.
func fuzzApplet(_ bytes: [UInt8]) {
    var input = FuzzRecords(bytes)
    guard let flags = input.byte() else { return }
    var applet = VirtualPIVApplet(state: FuzzCard.state)
    applet.pinVerified = flags & 1 != 0
    applet.adminAuthenticated = flags & 2 != 0
    var commands = 0
    while let command = input.record(), commands < 64 {
        commands += 1
        let response = applet.process(command)
        precondition(response.count >= 2, "every response carries a status word")
        if flags & 4 != 0 { applet.reset() }
    }
}
