import Foundation
import TriadTestSupport
import XCTest

/// docs/mount.md §3.3: whoever next opens a file — here a daemon — replays the journal a
/// killed daemon left beside it. A program writes a file through the mount and fsyncs it;
/// the daemon is killed before its checkpoint removes the journal; the in-place bytes the
/// journal covers are then damaged by hand (as a write torn by a power cut would leave
/// them). Mounted again, the file reads back whole through the mount, and the journal is gone:
/// only the replay at open can have restored those bytes.
final class JournalReplayTests: XCTestCase {
    func testADaemonReplaysAJournalLeftBesideAFileWhenItOpensIt() throws {
        let f = MountFixture()
        var journalLeft = false
        for attempt in 0..<5 where !journalLeft {
            XCTAssertEqual(f.mount().status, 0)
            guard let pid = f.daemonPID() else { return XCTFail("no daemon pid") }
            // Write, fsync (the commit: journal, then in place) and kill at once, the file
            // still open, so no checkpoint has removed the journal.
            let r = f.sh("""
            python3 -c 'import os, sys
            fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
            os.write(fd, bytes(range(256)) * 400); os.fsync(fd); os.kill(int(sys.argv[2]), 9)' "$M/r" \(pid)
            """)
            XCTAssertEqual(r.status, 0, "attempt \(attempt): \(r.stderr)")
            _ = shell("/bin/umount", ["-l", f.mountPoint])
            _ = f.unmount()
            journalLeft = f.sh("ls -A \"$Z\" | grep -c '^.triad-journal-' || true").out == "1\n"
        }
        guard journalLeft else { return XCTFail("no kill left a journal behind") }
        // Damage bytes of segment 0 in place; the journal holds them sealed.
        var bytes = try XCTUnwrap(readBytes(f.z("r")))
        for i in 1000..<1100 { bytes[i] ^= 0xff }
        writeBytes(f.z("r"), bytes)

        XCTAssertEqual(f.mount().status, 0)
        let expected = Array(repeating: Array(0...255) as [UInt8], count: 400).flatMap { $0 }
        let read = readBytes(f.m("r"))
        XCTAssertTrue(read == expected, "the daemon replayed the journal when it opened the file (read \(read?.count ?? -1) bytes)")
        XCTAssertEqual(f.sh("ls -A \"$Z\" | grep -c '^.triad-journal-' || true").out, "0\n", "the replayed journal is gone")
        XCTAssertEqual(f.unmount().status, 0)
    }
}
