import XCTest
@testable import TriadCeremony
import TriadJournal

/// Path-list parameters (`paths`, `zones`; docs/ceremony.md §2 "Parameters"): space-separated,
/// with quotes or a backslash to keep a space inside a folder's name.
final class PathListTests: XCTestCase {
    func testSpacesSeparateAndQuotesOrABackslashKeepASpaceInAName() {
        let cases: [(String, [String])] = [
            ("", []),
            ("   ", []),
            ("/srv/zones/ward-3", ["/srv/zones/ward-3"]),
            ("/srv/a /srv/b", ["/srv/a", "/srv/b"]),
            ("  /srv/a\t/srv/b\n", ["/srv/a", "/srv/b"]),
            ("\"/srv/zones/Radiology Reports\" /srv/lab", ["/srv/zones/Radiology Reports", "/srv/lab"]),
            ("'/srv/zones/Radiology Reports'", ["/srv/zones/Radiology Reports"]),
            ("/srv/zones/Radiology\\ Reports /srv/lab", ["/srv/zones/Radiology Reports", "/srv/lab"]),
            ("/srv/\"Cardiology A\"/2026", ["/srv/Cardiology A/2026"]),
            ("'it''s'", ["its"]),
            ("\"a \\\"quoted\\\" name\"", ["a \"quoted\" name"]),
            ("'/srv/unclosed quote", ["/srv/unclosed quote"]),
        ]
        for (text, expected) in cases {
            XCTAssertEqual(PathList.split(text), expected, text)
        }
    }

    /// A step's argument may be one text (from `--set`) or a list in the script; every text is
    /// split the same way.
    func testAStepArgumentListIsSplitTextByText() {
        let arguments = StepArguments(["paths": .array([.string("/srv/a \"/srv/b c\""), .string("/srv/d")]),
                                    "zones": .string("")])
        XCTAssertEqual(arguments.paths("paths"), ["/srv/a", "/srv/b c", "/srv/d"])
        XCTAssertEqual(arguments.paths("zones"), [])
        XCTAssertEqual(arguments.paths("missing"), [])
    }
}
