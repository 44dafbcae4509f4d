import Foundation
import TriadTestSupport
import XCTest

/// docs/mount.md §6 and §9: what a folder listing through a mount gives programs and what it
/// does ahead of them — each name's type, so `find -type f` and `rm -rf` need no LOOKUP per
/// name, and the headers of the listed files read ahead, so the LOOKUP and OPEN that follow
/// (`md5sum`, `ls -l`, `cp -r`) find them in memory instead of each waiting for the disk.
final class DirectoryListingTests: XCTestCase {
    /// Every entry carries its type (d_type) and the inode number `stat` shows (d_ino).
    func testEntriesCarryTheirTypeAndInode() throws {
        let f = MountFixture()
        XCTAssertEqual(f.mount().status, 0)
        XCTAssertEqual(f.sh("set -e; mkdir \"$M/ward\"; echo record > \"$M/ward/a.txt\"; mkdir \"$M/ward/sub\"").status, 0)

        var seen: [String: (type: UInt8, inode: UInt64)] = [:]
        let dir = try XCTUnwrap(opendir(f.m("ward")), String(cString: strerror(errno)))
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.baseAddress!.assumingMemoryBound(to: CChar.self)) }
            seen[name] = (entry.pointee.d_type, UInt64(entry.pointee.d_ino))
        }
        closedir(dir)

        XCTAssertEqual(seen["a.txt"]?.type, UInt8(DT_REG), "\(seen)")
        XCTAssertEqual(seen["sub"]?.type, UInt8(DT_DIR), "\(seen)")
        for name in ["a.txt", "sub"] {
            var st = stat()
            XCTAssertEqual(lstat(f.m("ward/" + name), &st), 0)
            XCTAssertEqual(seen[name]?.inode, UInt64(st.st_ino), "d_ino of \(name) is the inode stat shows")
        }
    }

    /// Listing a folder asks the kernel for the first page of each file's backing file: with
    /// the page cache dropped, that page is in memory after the listing alone (mincore), before
    /// any program looked the file up. Without the read-ahead it stays on disk.
    func testListingReadsTheHeadersAhead() throws {
        guard geteuid() == 0 else { throw XCTSkip("drops the page cache: needs root (CI runs as root)") }
        let f = MountFixture()
        XCTAssertEqual(f.mount().status, 0)
        XCTAssertEqual(f.sh("set -e; mkdir \"$M/ward\"; for i in 1 2 3 4 5 6; do echo record $i > \"$M/ward/$i.txt\"; done").status, 0)
        sync()
        XCTAssertEqual(f.sh("echo 3 > /proc/sys/vm/drop_caches").status, 0)
        XCTAssertEqual((1...6).filter { residentFirstPage(f.z("ward/\($0).txt")) }, [], "the cache was dropped")

        let dir = try XCTUnwrap(opendir(f.m("ward")))
        while readdir(dir) != nil {}
        closedir(dir)

        // POSIX_FADV_WILLNEED starts the reads; give the disk a moment.
        var resident: [Int] = []
        for _ in 0..<50 {
            resident = (1...6).filter { residentFirstPage(f.z("ward/\($0).txt")) }
            if resident.count == 6 { break }
            usleep(20_000)
        }
        XCTAssertEqual(resident, Array(1...6), "each listed file's header is in the page cache")
    }

    /// IT, with write access to the zone folder, plants a FIFO, a link to /dev/zero and a link
    /// out of the zone beside a record. Listing the folder through the mount (which reads the
    /// listed files' headers ahead) neither hangs nor shows them (§1.2), and `find -type f`,
    /// which now goes by the entries' types, finds only the record.
    func testPlantedFIFOsAndLinksNeitherHangNorShow() throws {
        let f = MountFixture()
        XCTAssertEqual(f.mount().status, 0)
        XCTAssertEqual(f.sh("set -e; mkdir \"$M/ward\"; echo record > \"$M/ward/a.txt\"").status, 0)
        XCTAssertEqual(mkfifo(f.z("ward/pipe"), 0o644), 0)
        XCTAssertEqual(symlink("/dev/zero", f.z("ward/zero")), 0)
        XCTAssertEqual(symlink("../../outside", f.z("ward/out")), 0)

        let listed = f.sh("timeout 10 ls -a \"$M/ward\"")
        XCTAssertEqual(listed.status, 0, "the listing ends (124: it hung) \(listed.stderr)")
        XCTAssertEqual(listed.out.split(separator: "\n").sorted(), [".", "..", "a.txt"], listed.out)
        let found = f.sh("cd \"$M\" && timeout 10 find . -type f")
        XCTAssertEqual(found.status, 0, found.stderr)
        XCTAssertEqual(found.out, "./ward/a.txt\n")
        XCTAssertEqual(f.sh("cat \"$M/ward/a.txt\"").out, "record\n")
    }

    /// True when the first page of `path` is in the page cache (mincore(2) of a shared mapping,
    /// which itself reads nothing).
    private func residentFirstPage(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        guard let map = mmap(nil, page, PROT_READ, MAP_SHARED, fd, 0), map != MAP_FAILED else { return false }
        defer { munmap(map, page) }
        var vector: UInt8 = 0
        guard mincore(map, page, &vector) == 0 else { return false }
        return vector & 1 == 1
    }
}
