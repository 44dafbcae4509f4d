import Foundation
import XCTest
import TriadCrypto
@testable import TriadFormat

/// Memory stays flat whatever the size (docs/format.md §7.3): 256 MiB through a pipe into
/// the encryptor, then decrypted to a pipe (two passes), with peak RSS growth bounded.
final class StreamingMemoryTests: XCTestCase {
    /// The plaintext: a 1 MiB pseudo-random block repeated, so both ends can check it cheaply.
    let block = SecureRandom.bytes(count: 1 << 20)
    let total = 256 << 20

    /// Writing 5 to clear_refs resets VmHWM to the current RSS (Linux ≥ 4.0, proc(5)).
    func resetPeakRSS() {
        let fd = open("/proc/self/clear_refs", O_WRONLY)
        XCTAssertGreaterThanOrEqual(fd, 0, "cannot reset the peak RSS counter")
        XCTAssertEqual(write(fd, "5", 1), 1)
        close(fd)
    }

    func peakRSSKiB() throws -> Int {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }!
        return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1])!
    }

    func currentRSSKiB() throws -> Int {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }!
        return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1])!
    }

    func testLargeStreamKeepsMemoryFlatAndRandomAccessMatches() throws {
        let scratch = ScratchDirectory()
        let expected = SHA256Hasher()
        for _ in 0..<(total / block.count) { expected.update(block) }
        let expectedHash = expected.finalize()

        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        let block = self.block, total = self.total
        let writeEnd = fds[1]
        let producer = Thread {
            block.withUnsafeBytes { raw in
                for _ in 0..<(total / raw.count) {
                    var off = 0
                    while off < raw.count { let n = write(writeEnd, raw.baseAddress! + off, raw.count - off); if n <= 0 { return }; off += n }
                }
            }
            close(writeEnd)
        }
        resetPeakRSS()
        let baseline = try currentRSSKiB()
        producer.start()
        let out = open(scratch.file("big"), O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        try EncryptedFile.encrypt(readingFrom: fds[0], writingTo: out, zoneID: TestKeys.zoneID, recipients: [TestKeys.zone])
        close(out); close(fds[0])
        let encryptGrowth = try peakRSSKiB() - baseline
        XCTAssertLessThan(encryptGrowth, 24 * 1024, "encrypting 256 MiB grew RSS by \(encryptGrowth) KiB")

        resetPeakRSS()
        let baseline2 = try currentRSSKiB()
        let hasher = SHA256Hasher()
        var rfds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&rfds), 0)
        let done = DispatchSemaphore(value: 0)
        let readEnd = rfds[0]
        let consumer = Thread {
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while true { let n = read(readEnd, &buffer, buffer.count); if n <= 0 { break }; buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) } }
            close(readEnd)
            done.signal()
        }
        consumer.start()
        try EncryptedFile.decrypt(OpenedFile.at(scratch.file("big")), to: rfds[1], identities: [TestKeys.zone])
        close(rfds[1])
        done.wait()
        let decryptGrowth = try peakRSSKiB() - baseline2
        XCTAssertEqual(hasher.finalize(), expectedHash, "256 MiB round trip")
        XCTAssertLessThan(decryptGrowth, 24 * 1024, "decrypting 256 MiB grew RSS by \(decryptGrowth) KiB")

        let reader = try EncryptedFileReader(path: scratch.file("big"), identities: [TestKeys.zone])
        XCTAssertEqual(reader.plaintextLength, UInt64(total))
        for offset in [0, 65535, 1 << 20, 100_000_003, total - 70_000] {
            let got = try reader.read(offset: UInt64(offset), count: 70_000)
            let want = (0..<got.count).map { block[(offset + $0) % block.count] }
            XCTAssertEqual(got, want, "random access at \(offset)")
        }
        print("StreamingMemoryTests: peak RSS growth encrypt \(encryptGrowth) KiB, decrypt \(decryptGrowth) KiB for 256 MiB")
    }
}
