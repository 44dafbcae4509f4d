import Foundation
import XCTest

/// Policies published while a zone is mounted (docs/mount.md §2.1), performed through the real
/// binaries: the officer revokes a member or adds a recovery certificate while alice's mount
/// runs, and someone with write access to the folder plants a policy that does not verify.
final class PolicyChangeTests: XCTestCase {
    /// The watch looks at `.zone/` at most once a second.
    func waitForTheWatch() { usleep(1_200_000) }

    func auditOperations(_ path: String) -> [String] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["op"] as? String
        }
    }

    /// What bob gets from `name` with the copy of the zone he kept while a member: the file
    /// copied next to his copy's policy (which still lists him), opened with his key on his own
    /// machine (his own local state).
    func bobReads(_ f: MountFixture, _ name: String, copy: String) -> RunResult {
        guard FileManager.default.fileExists(atPath: f.z(name)) else { return RunResult(status: 66, stdout: Data(), stderr: "no such file") }
        _ = shell("/bin/cp", [f.z(name), copy + "/" + name])
        var env = f.environment
        env["XDG_STATE_HOME"] = f.root + "/bob-state"
        return shell(MountFixture.zoneBinary, ["cat", copy + "/" + name, "--identity", "file:" + f.bob.key], environment: env)
    }

    func testARevocationAfterTheMountMakesNoNewFileTheRevokedMemberCanOpen() throws {
        let f = MountFixture()
        let audit = f.root + "/audit.jsonl"
        XCTAssertEqual(f.mount(extra: ["--audit", audit]).status, 0)
        XCTAssertEqual(f.sh("echo before > \"$M/before\"").status, 0)
        // bob keeps a copy of the zone folder while he is a member (he may read it).
        let copy = f.root + "/bob-copy"
        XCTAssertEqual(shell("/bin/cp", ["-a", f.zone, copy]).status, 0)
        XCTAssertEqual(bobReads(f, "before", copy: copy).out, "before\n", "the copy works for what bob could read")
        let revoke = f.run(["revoke", f.zone, "--cert", f.bob.cert, "--identity", "file:" + f.officer.key])
        XCTAssertEqual(revoke.status, 0, revoke.stderr)
        waitForTheWatch()

        // alice's mount lacks the new epoch's key (her key was dropped after the mount): it
        // makes no file for the epoch bob holds.
        let made = f.sh("echo 'written after bob left' > \"$M/after\"")
        XCTAssertNotEqual(made.status, 0, "a new file for the old epoch")
        XCTAssertTrue(made.stderr.contains("Permission denied"), made.stderr)
        XCTAssertFalse(bobReads(f, "after", copy: copy).out.contains("written after"), "the revoked member opens a file written after his revocation")
        XCTAssertTrue(auditOperations(audit).contains("policy-epoch-missing"), auditOperations(audit).joined(separator: " "))
        // What was there reads as before.
        XCTAssertEqual(f.sh("cat \"$M/before\"").out, "before\n")

        // Mounted again, alice's key unwraps the new epoch: new files are for it, bob is out.
        XCTAssertEqual(f.unmount().status, 0)
        XCTAssertEqual(f.mount().status, 0)
        XCTAssertEqual(f.sh("echo 'written after bob left' > \"$M/after2\"").status, 0)
        XCTAssertEqual(f.cat("after2", key: f.alice.key).out, "written after bob left\n")
        let bob = bobReads(f, "after2", copy: copy)
        XCTAssertNotEqual(bob.status, 0)
        XCTAssertTrue(bob.stderr.contains("no key slot"), bob.stderr)
        XCTAssertFalse(bob.out.contains("written after"))
    }

    func testTheRevokedMembersOwnMountEndsAtTheRevocation() throws {
        let f = MountFixture()
        XCTAssertEqual(f.mount(as: "bob").status, 0)
        XCTAssertEqual(f.sh("echo ward > \"$M/ward\"").status, 0)
        XCTAssertEqual(f.run(["revoke", f.zone, "--cert", f.bob.cert, "--identity", "file:" + f.officer.key]).status, 0)
        waitForTheWatch()
        let read = f.sh("cat \"$M/ward\"")
        XCTAssertNotEqual(read.status, 0, "bob's mount still reads after his revocation")
        XCTAssertTrue(read.stderr.contains("Permission denied"), read.stderr)
    }

    func testARecoveryCertificateAddedAfterTheMountIsInNewFiles() throws {
        let f = MountFixture()
        XCTAssertEqual(f.mount().status, 0)
        let second = PKI.make("recovery-second", "p384")
        let added = f.run(["recovery", f.zone, "--add-cert", second.cert, "--identity", "file:" + f.officer.key])
        XCTAssertEqual(added.status, 0, added.stderr)
        waitForTheWatch()
        XCTAssertEqual(f.sh("echo 'for both recovery keys' > \"$M/new\"").status, 0)
        XCTAssertEqual(f.cat("new", key: second.key).out, "for both recovery keys\n", "the new recovery key opens a file made after it was pinned")
        XCTAssertEqual(f.cat("new", key: f.recovery.key).out, "for both recovery keys\n")
    }

    /// The daemon makes new files' headers ahead (docs/mount.md §1.3): after a few creates it
    /// holds headers made for the recipients of the time. Once a newer policy is taken in, not
    /// one of them may be used — the next file must carry a slot for the recovery certificate
    /// pinned since, like every file made after it.
    func testHeadersMadeAheadAreNotUsedAfterAPolicyChange() throws {
        let f = MountFixture()
        XCTAssertEqual(f.mount().status, 0)
        XCTAssertEqual(f.sh("set -e; for i in 1 2 3 4; do echo $i > \"$M/early-$i\"; done").status, 0)
        let second = PKI.make("recovery-ahead", "p384")
        let added = f.run(["recovery", f.zone, "--add-cert", second.cert, "--identity", "file:" + f.officer.key])
        XCTAssertEqual(added.status, 0, added.stderr)
        waitForTheWatch()
        XCTAssertEqual(f.sh("set -e; for i in 1 2 3; do echo later $i > \"$M/later-$i\"; done").status, 0)
        for i in 1...3 {
            XCTAssertEqual(f.cat("later-\(i)", key: second.key).out, "later \(i)\n", "file \(i) after the change lacks the new recovery slot")
        }
        XCTAssertNotEqual(f.cat("early-1", key: second.key).status, 0, "a file from before the change has no slot for it")
    }

    func testAPolicyThatDoesNotVerifyStopsNewFilesUntilItIsGone() throws {
        let f = MountFixture()
        let audit = f.root + "/audit.jsonl"
        XCTAssertEqual(f.mount(extra: ["--audit", audit]).status, 0)
        // Someone with write access to the folder puts a next version there that no officer signed.
        let planted = f.zone + "/.zone/policy.2"
        XCTAssertTrue(FileManager.default.createFile(atPath: planted, contents: Data("not a policy".utf8)))
        waitForTheWatch()
        let made = f.sh("echo x > \"$M/during\"")
        XCTAssertNotEqual(made.status, 0, "a new file while the folder's policy does not verify")
        XCTAssertTrue(auditOperations(audit).contains("policy-unverifiable"), auditOperations(audit).joined(separator: " "))
        XCTAssertEqual(unlink(planted), 0)
        waitForTheWatch()
        XCTAssertEqual(f.sh("echo x > \"$M/after\"").status, 0, "new files again once the folder verifies")
    }
}
