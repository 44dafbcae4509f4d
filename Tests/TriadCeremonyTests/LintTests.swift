import Foundation
import XCTest
@testable import TriadCeremony

final class LintTests: XCTestCase {
    func testEveryShippedScriptLintsClean() throws {
        let paths = ScriptLoader.scriptPaths(in: Support.ceremonies.path)
        XCTAssertFalse(paths.isEmpty)
        for path in paths {
            let s = try ScriptLoader.load(path: path)
            XCTAssertEqual(Lint.check(s), [], path)
            XCTAssertEqual(s.sha256.count, 64)
        }
        XCTAssertEqual(Lint.check(try ScriptLoader.load(path: Support.fixtures.appendingPathComponent("factor-test.yaml").path),
                                  registry: Support.registry), [])
        XCTAssertEqual(Lint.check(try ScriptLoader.load(path: Support.fixtures.appendingPathComponent("attest-test.yaml").path)), [])
    }

    /// Every fixture in Fixtures/ceremony/lint has one mistake, named on its first line as
    /// `# expect: …`; lint must report exactly that.
    func testEveryBadScriptIsRejectedWithTheExpectedReason() throws {
        let dir = Support.fixtures.appendingPathComponent("lint").path
        let paths = ScriptLoader.scriptPaths(in: dir)
        XCTAssertGreaterThanOrEqual(paths.count, 15)
        for path in paths {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            let expected = String(text.split(separator: "\n")[0].dropFirst("# expect: ".count))
            var problems: [String]
            do {
                problems = Lint.check(try ScriptLoader.parse(text, origin: path), registry: Support.registry)
            } catch {
                problems = ["\(error)"]
            }
            XCTAssertFalse(problems.isEmpty, "\(path) passed lint")
            XCTAssertTrue(problems.contains { $0.contains(expected) }, "\(path): expected '\(expected)', got \(problems)")
        }
    }

    func testCLILintAndShowRefuseABadScript() throws {
        let bad = Support.fixtures.appendingPathComponent("lint/unknown-action.yaml").path
        let lint = try Support.cli(["lint", bad])
        XCTAssertEqual(lint.status, 1)
        XCTAssertTrue(lint.err.contains("unknown action 'frobnicate'"), lint.err)
        XCTAssertTrue(lint.err.contains("line"), lint.err)
        XCTAssertEqual(try Support.cli(["show", bad]).status, 1)
        XCTAssertEqual(try Support.cli(["lint", Support.testScript]).status, 0)
    }
}
