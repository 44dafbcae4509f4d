#if canImport(Glibc)
import Glibc
#endif
@testable import DurableFile
import SystemPackage
import XCTest

/// The durable-write module on a real filesystem: what is visible under which name and with
/// which mode at each step, what the no-replace publication refuses, and what an error leaves.
final class StagedFileTests: XCTestCase {
    var folder: FilePath!

    override func setUpWithError() throws {
        let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array((base + "/durable-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        folder = FilePath(String(cString: try XCTUnwrap(made)))
    }

    override func tearDownWithError() throws {
        for name in names() { unlink(folder.appending(name).string) }
        rmdir(folder.string)
    }

    /// The names in the test folder, sorted.
    func names() -> [String] {
        guard let d = opendir(folder.string) else { return [] }
        defer { closedir(d) }
        var out: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name != "." && name != ".." { out.append(name) }
        }
        return out.sorted()
    }

    func contents(_ name: String) -> String? {
        let fd = open(folder.appending(name).string, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = read(fd, &buffer, buffer.count)
        return n >= 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : nil
    }

    func mode(_ path: FilePath) -> mode_t? {
        var st = stat()
        return lstat(path.string, &st) == 0 ? st.st_mode & 0o7777 : nil
    }

    func write(_ text: String, to name: String) throws {
        try Durable.write(Array(text.utf8), to: folder.appending(name), mode: 0o644)
    }

    func testTheTemporaryIsNeverVisibleUnderTheFinalName() throws {
        try write("old", to: "report")
        let file = try StagedFile(path: folder.appending("report"), finalMode: 0o644)
        try file.write(Array("new content".utf8))
        XCTAssertEqual(contents("report"), "old", "the destination keeps its old content until the commit")
        XCTAssertEqual(names(), [file.temporaryName, "report"].sorted())
        XCTAssertTrue(file.temporaryName.hasPrefix(StagedFile.temporaryPrefix) && file.temporaryName.count == 27, file.temporaryName)
        // A fixed length (27 bytes) whatever the random value, so every name up to NAME_MAX works.
        for _ in 0..<256 { XCTAssertEqual(StagedFile.randomSuffix().count, 16) }
        try file.sync()
        XCTAssertEqual(contents("report"), "old", "a synced temporary still is not the destination")
        try file.commit()
        XCTAssertEqual(contents("report"), "new content")
        XCTAssertEqual(names(), ["report"], "the temporary took the name; nothing else is left")
    }

    func testTheTemporaryIsPrivateUntilTheCommit() throws {
        let old = umask(0)
        defer { umask(old) }
        let file = try StagedFile(path: folder.appending("public"), finalMode: 0o644)
        try file.write(Array("plaintext".utf8))
        XCTAssertEqual(mode(file.temporaryPath), 0o600, "0600 until the commit, whatever the umask")
        try file.sync()
        XCTAssertEqual(mode(file.temporaryPath), 0o600)
        try file.commit()
        XCTAssertEqual(mode(folder.appending("public")), 0o644, "the final mode is applied at the commit")
    }

    func testNoReplaceRefusesAnExistingFile() throws {
        try write("first", to: "transcript")
        XCTAssertThrowsError(try Durable.write(Array("second".utf8), to: folder.appending("transcript"), mode: 0o644,
                                               publication: .noReplace)) {
            XCTAssertEqual($0 as? DurableError, .exists(path: folder.appending("transcript")))
        }
        XCTAssertEqual(contents("transcript"), "first", "the existing file is untouched")
        XCTAssertEqual(names(), ["transcript"], "the refused temporary is gone")
    }

    func testNoReplaceRefusesAPlantedLinkAndNeverWritesItsTarget() throws {
        let target = folder.appending("elsewhere")
        XCTAssertEqual(symlink(target.string, folder.appending("output").string), 0)
        XCTAssertThrowsError(try Durable.write(Array("secret".utf8), to: folder.appending("output"), mode: 0o600,
                                               publication: .noReplace)) {
            XCTAssertEqual($0 as? DurableError, .exists(path: folder.appending("output")))
        }
        XCTAssertNil(contents("elsewhere"), "the link's target was not created")
        XCTAssertEqual(names(), ["output"], "only the planted link is there")
        var st = stat()
        XCTAssertEqual(lstat(folder.appending("output").string, &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFLNK, "the link itself is untouched")
    }

    func testReplaceReplacesALinkItselfNotItsTarget() throws {
        try write("outside", to: "target")
        XCTAssertEqual(symlink(folder.appending("target").string, folder.appending("state").string), 0)
        try write("state", to: "state")
        XCTAssertEqual(contents("target"), "outside", "the link's target was never written")
        var st = stat()
        XCTAssertEqual(lstat(folder.appending("state").string, &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFREG, "the name now holds a regular file")
        XCTAssertEqual(contents("state"), "state")
    }

    func testAWriteErrorLeavesNothing() throws {
        try write("kept", to: "big")
        // A real write failure: a file-size limit of 4 KiB makes write(2) fail with EFBIG.
        let ignored = signal(SIGXFSZ, SIG_IGN)
        var limit = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &limit)
        var small = limit
        small.rlim_cur = 4096
        XCTAssertEqual(setrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &small), 0)
        defer {
            setrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &limit)
            signal(SIGXFSZ, ignored)
        }
        XCTAssertThrowsError(try Durable.write([UInt8](repeating: 7, count: 64 << 10), to: folder.appending("big"), mode: 0o644)) {
            guard case .failed(_, .write, EFBIG)? = $0 as? DurableError else { return XCTFail("\($0)") }
        }
        XCTAssertEqual(contents("big"), "kept", "the destination is as it was")
        XCTAssertEqual(names(), ["big"], "the temporary was removed on the error path")
    }

    func testADroppedStagedFileRemovesItsTemporary() throws {
        var file: StagedFile? = try StagedFile(path: folder.appending("dropped"))
        try file?.write(Array("half".utf8))
        XCTAssertEqual(names().count, 1)
        file = nil
        XCTAssertEqual(names(), [], "nothing under any name")
    }

    func testABatchPublishesOnlyAtItsCommitAndSyncsEachFolderOnce() throws {
        XCTAssertEqual(mkdir(folder.appending("sub").string, 0o755), 0)
        defer { for n in 0..<10 { unlink(folder.appending("sub/f\(n)").string) }; rmdir(folder.appending("sub").string) }
        let sub = try DurableFolder.open(folder.appending("sub"))
        let top = try DurableFolder.open(folder)
        var files: [StagedFile] = []
        for n in 0..<20 {
            let file = try StagedFile(in: n % 2 == 0 ? top : sub, name: "f\(n / 2)", finalMode: 0o640)
            try file.write(Array("file \(n)".utf8))
            files.append(file)
        }
        XCTAssertFalse(names().contains("f0"), "nothing is published before the commit")
        let method = try StagedBatch.commit(files)
        XCTAssertTrue([.syncfs, .fsyncEach].contains(method))
        XCTAssertEqual(names(), (0..<10).map { "f\($0)" }.sorted() + ["sub"])
        XCTAssertEqual(contents("f3"), "file 6")
        XCTAssertEqual(contents("sub/f3"), "file 7")
        XCTAssertEqual(mode(folder.appending("sub/f9")), 0o640)
        for n in 0..<10 { unlink(folder.appending("f\(n)").string) }
    }

    func testABatchStopsAtTheFirstRefusalAndKeepsWhatCameBefore() throws {
        try write("taken", to: "b")
        var files: [StagedFile] = []
        for name in ["a", "b", "c"] {
            let file = try StagedFile(path: folder.appending(name), publication: .noReplace, finalMode: 0o644)
            try file.write(Array("new \(name)".utf8))
            files.append(file)
        }
        XCTAssertThrowsError(try StagedBatch.commit(files)) {
            XCTAssertEqual($0 as? DurableError, .exists(path: folder.appending("b")))
        }
        XCTAssertEqual(contents("a"), "new a", "the file before the refusal is committed")
        XCTAssertEqual(contents("b"), "taken", "the refused name is untouched")
        XCTAssertNil(contents("c"), "the file after it is discarded")
        XCTAssertEqual(names(), ["a", "b"], "no temporary is left")
    }

    func testAFileTheBatchDoesNotAdmitIsDiscardedAndTheRestPublished() throws {
        try write("original b", to: "b")
        var files: [StagedFile] = []
        for name in ["a", "b", "c"] {
            let file = try StagedFile(path: folder.appending(name), finalMode: 0o644)
            try file.write(Array("new \(name)".utf8))
            files.append(file)
        }
        var asked: [Int] = []
        try StagedBatch.commit(files) { index in
            asked.append(index)
            return index != 1
        }
        XCTAssertEqual(asked, [0, 1, 2], "asked once per file, in order, just before each publication")
        XCTAssertEqual(contents("a"), "new a")
        XCTAssertEqual(contents("b"), "original b", "the file not admitted is left as it was")
        XCTAssertEqual(contents("c"), "new c", "the batch goes on after it")
        XCTAssertEqual(names(), ["a", "b", "c"], "its temporary is gone")
        XCTAssertEqual(files.map(\.isPublished), [true, false, true])
    }

    func testAMissingFolderIsNamedInTheError() {
        let missing = folder.appending("no/such/file")
        XCTAssertThrowsError(try Durable.write([1], to: missing, mode: 0o644)) {
            XCTAssertEqual($0 as? DurableError, .failed(path: folder.appending("no/such"), step: .openFolder, errno: ENOENT))
            XCTAssertTrue("\($0)".hasPrefix("\(folder.appending("no/such")): cannot open the folder"), "\($0)")
        }
    }
}
