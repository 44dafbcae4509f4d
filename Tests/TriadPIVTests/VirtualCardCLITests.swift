import Foundation
import XCTest

/// `virtual-card` as a user types it: exit codes 0/1/2, messages, init rules (docs/virtual-card.md).
final class VirtualCardCLITests: XCTestCase {
    var directory: URL!
    var binary: String { PCSCHarness.virtualCardExecutable.path }

    override func setUpWithError() throws { directory = try PCSCHarness.temporaryDirectory("cli") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func testHelpSaysSoftwareCard() {
        let help = PCSCHarness.run(binary, ["--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.stdout.contains("SOFTWARE PIV card"), help.stdout)
        XCTAssertTrue(help.stdout.contains("no hardware protection"), help.stdout)
        for sub in ["init", "run", "status"] {
            XCTAssertEqual(PCSCHarness.run(binary, [sub, "--help"]).status, 0, sub)
        }
    }

    func testInitRefusesToOverwriteWithoutForce() throws {
        let state = directory.appendingPathComponent("c.state").path
        let first = PCSCHarness.run(binary, ["init", "--state", state, "--serial", "7"])
        XCTAssertEqual(first.status, 0, first.stderr)
        let status = PCSCHarness.run(binary, ["status", "--state", state, "--json"])
        let json = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(json?["serial"] as? Int, 999_000_007, "small serials are placed in the software range")
        XCTAssertEqual(json?["pin_tries_left"] as? Int, 3)
        XCTAssertEqual(json?["software_card"] as? Bool, true)

        let before = try Data(contentsOf: URL(fileURLWithPath: state))
        let again = PCSCHarness.run(binary, ["init", "--state", state])
        XCTAssertEqual(again.status, 1)
        XCTAssertTrue(again.stderr.contains("already exists") && again.stderr.contains("--force"), again.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: state)), before, "the card is untouched")
        let absent = directory.appendingPathComponent("absent.state").path
        let missing = PCSCHarness.run(binary, ["status", "--state", absent])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("make a card there first; `virtual-card init --state \(absent)` makes one"), missing.stderr)
        let forced = PCSCHarness.run(binary, ["init", "--state", state, "--force", "--serial", "999999999"])
        XCTAssertEqual(forced.status, 0, forced.stderr)
        XCTAssertNotEqual(try Data(contentsOf: URL(fileURLWithPath: state)), before)
    }

    func testUsageErrorsExitTwoAndFailuresExitOne() {
        let state = directory.appendingPathComponent("c.state").path
        XCTAssertEqual(PCSCHarness.run(binary, ["init"]).status, 2, "missing --state")
        let serial = PCSCHarness.run(binary, ["init", "--state", state, "--serial", "123456789"])
        XCTAssertEqual(serial.status, 2)
        XCTAssertTrue(serial.stderr.contains("999000000"), serial.stderr)
        XCTAssertEqual(PCSCHarness.run(binary, ["run", "--state", state, "--port", "notaport"]).status, 2)
        let missing = PCSCHarness.run(binary, ["run", "--state", state])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains(state) && missing.stderr.contains("virtual-card init"), missing.stderr)
        let noDir = PCSCHarness.run(binary, ["init", "--state", directory.appendingPathComponent("no/such/dir/c.state").path])
        XCTAssertEqual(noDir.status, 1)
        XCTAssertTrue(noDir.stderr.contains("no/such/dir/c.state"), noDir.stderr)
    }
}
