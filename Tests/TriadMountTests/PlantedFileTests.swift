import Foundation
import XCTest

/// Someone with write access to the zone folder but no zone key (IT, a sync tool, a restore)
/// puts a plaintext file there under a record's name (docs/mount.md §1.2). Through a mount it
/// must neither read as a genuine record nor become a member's encrypted file at the first
/// write: its content is not authenticated.
final class PlantedFileTests: XCTestCase {
    func testAPlantedPlaintextRecordIsListedButNeitherReadNorTakenOver() throws {
        let f = MountFixture()
        let audit = f.root + "/audit.jsonl"
        XCTAssertEqual(f.mount(extra: ["--audit", audit]).status, 0)
        writeBytes(f.z("ward-4711.txt"), Array("patient 4711: no known allergies\n".utf8))

        XCTAssertTrue(f.sh("ls \"$M\"").out.contains("ward-4711.txt"), "listed, so its owner can see it is there")
        let read = f.sh("cat \"$M/ward-4711.txt\"")
        XCTAssertNotEqual(read.status, 0)
        XCTAssertTrue(read.stderr.contains("Permission denied"), read.stderr)
        XCTAssertFalse(read.out.contains("allergies"), "the planted text reads as a record")

        let append = f.sh("echo 'seen by Dr Meda Cal' >> \"$M/ward-4711.txt\"")
        XCTAssertNotEqual(append.status, 0, "a member's write would make the planted text the member's encrypted file")
        XCTAssertEqual(readBytes(f.z("ward-4711.txt")), Array("patient 4711: no known allergies\n".utf8), "the backing file is as planted")

        let records = ((try? String(contentsOfFile: audit, encoding: .utf8)) ?? "").split(separator: "\n")
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .filter { $0["path"] as? String == "ward-4711.txt" }
            .map { "\($0["op"] ?? "") \($0["result"] ?? "")" }
        XCTAssertEqual(records, ["open-read EACCES", "open-write EACCES"])

        // A member who has checked the file encrypts it on purpose; then it opens.
        XCTAssertEqual(f.run(["encrypt", f.z("ward-4711.txt"), "--identity", "file:" + f.alice.key]).status, 0)
        XCTAssertEqual(f.sh("cat \"$M/ward-4711.txt\"").out, "patient 4711: no known allergies\n")
    }

    func testAnEmptyFileFromOutsideIsAnEmptyFile() throws {
        let f = MountFixture()
        XCTAssertEqual(f.mount().status, 0)
        writeBytes(f.z("empty.txt"), [])
        XCTAssertEqual(f.sh("cat \"$M/empty.txt\"").status, 0, "nothing to vouch for in zero bytes")
        XCTAssertEqual(f.sh("echo 'ward 7' > \"$M/empty.txt\"").status, 0)
        XCTAssertEqual(f.cat("empty.txt", key: f.alice.key).out, "ward 7\n", "written through the mount: an encrypted file")
    }
}
