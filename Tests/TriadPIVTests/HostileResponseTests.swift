import Foundation
import ISO7816
import XCTest
import TriadCrypto
import TriadPCSC
@testable import TriadPIV
import VirtualPIV

/// Every client operation against generated hostile answers from a real card: the project's
/// PIV applet in process, with the answer to one command replaced (`HostileCard`). Each case
/// must end in a `PIVError` — no crash, no hang, no silent success, no other error.
///
/// Each operation first runs twice with genuine answers — once straight from the card and once
/// through the replacement path with the answer unchanged — and must succeed both times, so a
/// failure in the hostile cases can only come from the mutation under test. The numbers of
/// operations and cases are those docs/piv-client.md states.
final class HostileResponseTests: XCTestCase {
    func testEveryOperationRefusesEveryHostileAnswerAndAcceptsTheGenuineOne() throws {
        let operations = HostileOperation.all()
        var total = 0
        var failures: [String] = []
        for (index, op) in operations.enumerated() {
            // Control 1: the card answers everything itself.
            let control = HostileCard(applet: op.card, isTarget: op.isTarget, behaviour: nil)
            do { try op.run(control) } catch { failures.append("\(op.name) / control: the genuine card was refused: \(error)") }
            if control.targetHits == 0 { failures.append("\(op.name) / control: the command under test was never sent") }
            // Control 2: the replacement path, with the genuine answer in one piece.
            let unchanged = HostileCard(applet: op.card, isTarget: op.isTarget,
                                        behaviour: HostileBehaviour(name: "genuine") { _, genuine in genuine })
            do { try op.run(unchanged) } catch { failures.append("\(op.name) / control: the unchanged answer was refused: \(error)") }
            let genuine = op.reusesGenuine ? unchanged.genuineAnswer : nil

            let behaviours = HostileCatalog.behaviours(shape: op.shape, variants: op.variants, seed: UInt64(1000 + index), excluding: op.excluded)
            for behaviour in behaviours {
                total += 1
                let card = HostileCard(applet: op.card, isTarget: op.isTarget, behaviour: behaviour, genuine: genuine)
                do {
                    try op.run(card)
                    failures.append("\(op.name) / \(behaviour.name): silent success")
                } catch is PIVError {
                    // Expected: a typed error.
                } catch {
                    failures.append("\(op.name) / \(behaviour.name): non-PIV error \(error)")
                }
                if card.runaway { failures.append("\(op.name) / \(behaviour.name): runaway exchange") }
                if card.targetHits == 0 { failures.append("\(op.name) / \(behaviour.name): never reached the command under test") }
            }
        }
        print("HostileResponseTests: \(total) hostile answers to \(operations.count) client operations")
        XCTAssertEqual(failures, [], "\(failures.count) of \(total) hostile cases misbehaved")
        let documented = try Self.documentedCounts()
        XCTAssertEqual(operations.count, documented.operations, "docs/piv-client.md states the number of operations")
        XCTAssertEqual(total, documented.cases, "docs/piv-client.md states the number of hostile cases")
    }

    /// The caps hold: an endless 61xx chain stops after `maximumRounds` GET RESPONSEs.
    func testEndlessResponseChainStopsAtTheCap() {
        let card = HostileCard(applet: HostileCards.p256, isTarget: { $0.ins == 0xCB },
                               behaviour: HostileBehaviour(name: "endless") { _, _ in ResponseAPDU(data: [0x53], sw: 0x6101) })
        XCTAssertThrowsError(try PIVClient(transport: card).getData(object: [0x5F, 0xC1, 0x0B])) { error in
            guard case PIVError.malformedResponse(let why) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(why.contains("GET RESPONSE"), why)
        }
        XCTAssertEqual(card.calls, APDUExchange.maximumRounds + 1)
    }

    /// The catalogue is deterministic: the same names and answers on every run.
    func testCatalogueIsDeterministic() {
        let genuine = ResponseAPDU(data: TLV(tag: 0x7C, value: TLV(tag: 0x82, value: [UInt8](repeating: 1, count: 32)).encoded).encoded, sw: .success)
        let a = HostileCatalog.behaviours(shape: .tlv(emptyIsValid: false), variants: HostileOperation.sharedSecretVariants(), seed: 7)
        let b = HostileCatalog.behaviours(shape: .tlv(emptyIsValid: false), variants: HostileOperation.sharedSecretVariants(), seed: 7)
        XCTAssertEqual(a.map(\.name), b.map(\.name))
        XCTAssertEqual(Set(a.map(\.name)).count, a.count, "every case has its own name")
        let probe = CommandAPDU(ins: 0x87, p1: 0x11, p2: 0x9D, data: [1], le: 256)
        XCTAssertEqual(a.map { $0.respond(probe, genuine) }, b.map { $0.respond(probe, genuine) })
        XCTAssertFalse(a.contains { $0.respond(probe, genuine) == genuine }, "no case is the genuine answer")
    }

    /// "N hostile answers to M client operations" in docs/piv-client.md.
    static func documentedCounts() throws -> (operations: Int, cases: Int) {
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/piv-client.md")
        let text = try String(contentsOf: docs, encoding: .utf8)
        let pattern = try NSRegularExpression(pattern: #"([0-9][0-9,]*) hostile answers to ([0-9]+) client operations"#)
        guard let match = pattern.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
              let cases = Range(match.range(at: 1), in: text), let operations = Range(match.range(at: 2), in: text) else {
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "docs/piv-client.md does not state the hostile-case counts"])
        }
        return (Int(text[operations])!, Int(text[cases].replacingOccurrences(of: ",", with: ""))!)
    }
}
