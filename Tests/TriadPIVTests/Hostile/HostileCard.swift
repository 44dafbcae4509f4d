import ISO7816
import TriadCrypto
import TriadPCSC
@testable import TriadPIV
import VirtualPIV

/// A real card — the project's PIV applet, in process — with the answer to one command (the
/// target) replaced by a hostile behaviour. Every other command, before and after the target,
/// is answered by the applet itself, so a client that misreads a hostile answer and carries on
/// meets a card that really checks what it sends next (a wrongly decrypted witness is refused,
/// a wrong signature does not verify). With no behaviour the card answers everything
/// genuinely: that run is the control, and it must succeed.
///
/// The behaviour sees the command and the applet's genuine answer (data assembled over any
/// `61xx` rounds), and also answers the GET RESPONSE rounds and `6Cxx` repeats that follow the
/// target. Exchanges are counted, so a runaway loop is caught instead of hanging the test.
final class HostileCard: CardTransport {
    private(set) var applet: VirtualPIVApplet
    let isTarget: (CommandAPDU) -> Bool
    let behaviour: HostileBehaviour?
    /// The genuine answer to the target, when it is known in advance (stateless commands:
    /// it saves an RSA key generation per case); otherwise asked from the applet.
    private var genuine: ResponseAPDU?
    private(set) var calls = 0
    private(set) var runaway = false
    /// How often the target command was sent.
    private(set) var targetHits = 0
    /// The genuine answer the behaviour was given (for reuse by later cases).
    var genuineAnswer: ResponseAPDU? { genuine }
    private var lastWasTarget = false
    static let callLimit = 400

    struct Runaway: Error {}

    init(applet: VirtualPIVApplet, isTarget: @escaping (CommandAPDU) -> Bool, behaviour: HostileBehaviour?, genuine: ResponseAPDU? = nil) {
        self.applet = applet
        self.isTarget = isTarget
        self.behaviour = behaviour
        self.genuine = genuine
    }

    func transmit(_ apdu: CommandAPDU) throws -> ResponseAPDU {
        calls += 1
        guard calls <= Self.callLimit else { runaway = true; throw Runaway() }
        if !apdu.isChained && isTarget(apdu) {
            targetHits += 1
            lastWasTarget = true
            guard let behaviour else { return try forward(apdu) }
            let answer = try genuine ?? assembled(apdu)
            genuine = answer
            return behaviour.respond(apdu, answer)
        }
        if lastWasTarget, apdu.ins == 0xC0, let behaviour, let genuine { return behaviour.respond(apdu, genuine) }
        lastWasTarget = false
        return try forward(apdu)
    }

    func withTransaction<T>(_ body: () throws -> T) throws -> T { try body() }

    /// The applet's answer to one APDU.
    private func forward(_ apdu: CommandAPDU) throws -> ResponseAPDU {
        guard let response = ResponseAPDU(raw: applet.process(try apdu.encoded())) else { throw Runaway() }
        return response
    }

    /// The applet's whole answer to `apdu`, its `61xx` rounds collected.
    private func assembled(_ apdu: CommandAPDU) throws -> ResponseAPDU {
        var response = try forward(apdu)
        var data = response.data
        while let waiting = response.sw.bytesAvailable {
            response = try forward(CommandAPDU(ins: 0xC0, p1: 0, p2: 0, le: waiting))
            data += response.data
        }
        return ResponseAPDU(data: data, sw: response.sw)
    }
}

/// One hostile behaviour for the target command and the GET RESPONSE / `6Cxx` exchanges that
/// follow it: a function of the command and the card's genuine answer.
struct HostileBehaviour {
    let name: String
    let respond: (CommandAPDU, ResponseAPDU) -> ResponseAPDU
}
