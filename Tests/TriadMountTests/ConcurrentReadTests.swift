import Foundation
import XCTest
import TriadCrypto

/// Whole-segment reads outside the file's mutex (docs/mount.md §3.1): the kernel's read-ahead
/// requests of one file are authenticated on several threads at once, each with a cipher
/// context of its own. That path may only serve a file this daemon holds nothing uncommitted
/// for; everything else goes to the path under the mutex, which lays the uncommitted writes
/// over the segments on disk.
final class ConcurrentReadTests: XCTestCase {
    /// Readers in several processes at once, the page cache dropped before each pass so every
    /// byte comes from the daemon: each pass reads the file exactly as written.
    func testParallelColdReadersSeeTheFileAsWritten() throws {
        let f = MountFixture()
        XCTAssertEqual(f.mount().status, 0)
        // Not a multiple of the segment size: the final, shorter segment is read whole too.
        let data = SecureRandom.bytes(count: 8 << 20 | 1234)
        writeBytes(f.m("scan.bin"), data)
        let expected = Hex.encode(SHA256.hash(data))
        let reader = """
        import hashlib, os, sys
        for _ in range(3):
            fd = os.open(sys.argv[1], os.O_RDONLY)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            h = hashlib.sha256()
            while True:
                chunk = os.read(fd, 1 << 20)
                if not chunk: break
                h.update(chunk)
            os.close(fd)
            if h.hexdigest() != sys.argv[2]:
                print("digest", h.hexdigest()); sys.exit(1)
        """
        let results = Box<[RunResult]>([]), lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            let r = shell("python3", ["-c", reader, f.m("scan.bin"), expected])
            lock.withLock { results.value.append(r) }
        }
        XCTAssertEqual(results.value.count, 4)
        for r in results.value { XCTAssertEqual(r.status, 0, "a cold reader read other bytes: " + r.out + r.stderr) }
        XCTAssertEqual(f.unmount().status, 0)
    }

    /// A handle writes whole segments and keeps them uncommitted (no fsync, no close); the
    /// cached pages are dropped, so the next read goes to the daemon as one aligned request of
    /// whole segments — the shape the concurrent path takes. It must return the written bytes,
    /// not the committed ones on disk. Forty rounds, each within a second of the last read, so
    /// the concurrent path is the one asked.
    func testUncommittedWritesAreReadBackThroughWholeSegmentRequests() throws {
        let f = MountFixture()
        XCTAssertEqual(f.mount().status, 0)
        let original = SecureRandom.bytes(count: 1 << 20)
        writeBytes(f.m("chart.bin"), original)
        let script = """
        import os, sys
        path = sys.argv[1]
        model = bytearray(open(path, 'rb').read())
        fd = os.open(path, os.O_RDWR)
        for i in range(40):
            data = bytes([i + 1]) * 8192
            offset = 65536 + (i % 8) * 8192
            os.pwrite(fd, data, offset); model[offset:offset + 8192] = data
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            got = os.pread(fd, 262144, 0)
            if got != bytes(model[:262144]):
                first = next(j for j in range(len(got)) if got[j] != model[j])
                print("round", i, "byte", first, "reads", got[first], "written", model[first]); sys.exit(1)
        os.close(fd)
        sys.stdout.buffer.write(model)
        """
        let r = shell("python3", ["-c", script, f.m("chart.bin")])
        XCTAssertEqual(r.status, 0, "a read returned committed bytes over uncommitted writes: " + r.out + r.stderr)
        XCTAssertEqual(f.unmount().status, 0)
        guard r.status == 0 else { return }
        XCTAssertTrue(f.cat("chart.bin", key: f.alice.key).stdout == r.stdout, "zone cat must read every write, committed at the close")
    }
}
