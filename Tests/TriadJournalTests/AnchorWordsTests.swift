import Foundation
import TriadCrypto
import TriadTestSupport
import XCTest
@testable import TriadJournal

/// Anchor words (docs/ceremony.md §7): the PGP word lists and every vector in
/// Fixtures/ceremony/anchor-vectors.json.
final class AnchorWordsTests: XCTestCase {
    /// The PGP word list's well-known properties: 256 distinct words per list, no word in
    /// both.
    func testListsHave256UniqueWordsEach() {
        XCTAssertEqual(AnchorWords.evenList.count, 256)
        XCTAssertEqual(AnchorWords.oddList.count, 256)
        XCTAssertEqual(Set(AnchorWords.evenList.map { $0.lowercased() }).count, 256)
        XCTAssertEqual(Set(AnchorWords.oddList.map { $0.lowercased() }).count, 256)
        XCTAssertTrue(Set(AnchorWords.evenList.map { $0.lowercased() }).isDisjoint(with: AnchorWords.oddList.map { $0.lowercased() }))
        // Two-syllable words for even positions, three-syllable for odd: the odd words are longer.
        XCTAssertEqual(AnchorWords.evenList.first, "aardvark"); XCTAssertEqual(AnchorWords.evenList.last, "Zulu")
        XCTAssertEqual(AnchorWords.oddList.first, "adroitness"); XCTAssertEqual(AnchorWords.oddList.last, "Yucatan")
    }

    func testEveryVectorEncodesAndDecodes() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Products.source("Fixtures/ceremony/anchor-vectors.json")))
        let vectors = try JSONDecoder().decode([[String: String]].self, from: data)
        XCTAssertGreaterThanOrEqual(vectors.count, 3)
        for v in vectors {
            let bytes = try XCTUnwrap(Hex.decode(v["hex"]!))
            let words = v["words"]!.split(separator: " ").map(String.init)
            XCTAssertEqual(AnchorWords.words(bytes), words, v["comment"]!)
            for (i, w) in words.enumerated() { XCTAssertEqual(AnchorWords.byte(for: w.uppercased(), at: i), bytes[i]) }
        }
    }

    /// Fixtures/ceremony/pgp-words.json — the lists the second verifier
    /// (scripts/verify-transcript.py) reads — is these lists, word for word.
    func testTheWordListFixtureIsTheseLists() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Products.source("Fixtures/ceremony/pgp-words.json")))
        let lists = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        XCTAssertEqual(lists["even"] as? [String], AnchorWords.evenList)
        XCTAssertEqual(lists["odd"] as? [String], AnchorWords.oddList)
    }

    func testAnchorIsFirst16BytesOfTheHash() {
        let hash = String(repeating: "ab", count: 32)
        let anchor = AnchorWords.anchor(hexHash: hash)
        XCTAssertEqual(anchor.count, 16)
        XCTAssertEqual(anchor, AnchorWords.words([UInt8](repeating: 0xAB, count: 16)))
    }
}

final class CanonicalTests: XCTestCase {
    func testKeysSortedNoWhitespaceShortEscapes() {
        let v: CanonicalValue = ["b": 1, "a": ["z": true, "y": .null], "é": "x\"\\\n\u{01}é"]
        XCTAssertEqual(v.canonicalText, #"{"a":{"y":null,"z":true},"b":1,"é":"x\"\\\n\u0001é"}"#)
    }

    func testParseThenEncodeIsIdentityOnCanonicalText() throws {
        let texts = [#"{"a":[1,-2,"x"],"b":{"c":false}}"#, #"{"":"\t\u001f"}"#, "[]", "{}", #""ü""#]
        for t in texts { XCTAssertEqual(try CanonicalValue.parse(t).canonicalText, t) }
    }

    func testFractionsAreRejectedAndSpacingIsNotCanonical() throws {
        XCTAssertThrowsError(try CanonicalValue.parse(#"{"a":1.5}"#))
        XCTAssertNotEqual(try CanonicalValue.parse(#"{"a": 1}"#).canonicalText, #"{"a": 1}"#)
    }
}
