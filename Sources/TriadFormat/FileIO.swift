#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import TriadCrypto

/// An open file descriptor, closed when the last reference goes away. All reads and writes
/// retry on EINTR and on short transfers, so pipes and files behave alike.
final class FileHandle {
    let fd: Int32
    let path: String
    private let owned: Bool

    /// Opens `path` with `flags` (and `mode` when creating).
    init(path: String, flags: Int32, mode: mode_t = 0o600) throws {
        let fd = open(path, flags | O_CLOEXEC, mode)
        guard fd >= 0 else { throw FormatError.io(path: path, operation: "open", errno: errno) }
        self.fd = fd
        self.path = path
        self.owned = true
    }

    /// Wraps a descriptor the caller owns (it is not closed here).
    init(borrowing fd: Int32, path: String) {
        self.fd = fd
        self.path = path
        self.owned = false
    }

    deinit { if owned { close(fd) } }

    /// Reads until `buffer` is full or end of file; returns the byte count.
    func readFully(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var total = 0
        while total < buffer.count {
            let n = Glibc.read(fd, buffer.baseAddress! + total, buffer.count - total)
            if n > 0 { total += n; continue }
            if n == 0 { break }
            if errno == EINTR { continue }
            throw FormatError.io(path: path, operation: "read", errno: errno)
        }
        return total
    }

    /// Reads up to `count` bytes into a new array (header parsing only).
    func read(count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let n = try out.withUnsafeMutableBytes { try readFully(into: $0) }
        out.removeLast(count - n)
        return out
    }

    /// Reads exactly `buffer.count` bytes at `offset`, or fewer at end of file.
    func readFully(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws -> Int {
        var total = 0
        while total < buffer.count {
            let n = pread(fd, buffer.baseAddress! + total, buffer.count - total, off_t(offset + total))
            if n > 0 { total += n; continue }
            if n == 0 { break }
            if errno == EINTR { continue }
            throw FormatError.io(path: path, operation: "read", errno: errno)
        }
        return total
    }

    func writeAll(_ buffer: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < buffer.count {
            let n = Glibc.write(fd, buffer.baseAddress! + done, buffer.count - done)
            if n >= 0 { done += n; continue }
            if errno == EINTR { continue }
            throw FormatError.io(path: path, operation: "write", errno: errno)
        }
    }

    func writeAll(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try writeAll($0) }
    }

    func seek(to offset: Int) throws {
        guard lseek(fd, off_t(offset), SEEK_SET) >= 0 else {
            throw FormatError.io(path: path, operation: "seek", errno: errno)
        }
    }

    func status() throws -> stat {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw FormatError.io(path: path, operation: "stat", errno: errno) }
        return st
    }

    func sync() throws {
        guard fsync(fd) == 0 else { throw FormatError.io(path: path, operation: "fsync", errno: errno) }
    }
}

/// A page-aligned buffer allocated once per stream and wiped before it is freed, so the
/// per-segment loop never allocates and no plaintext lingers in freed memory.
final class SegmentBuffer {
    let pointer: UnsafeMutableRawBufferPointer
    init(count: Int) {
        pointer = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 64)
        pointer.initializeMemory(as: UInt8.self, repeating: 0)
    }
    deinit {
        wipeBytes(pointer)
        pointer.deallocate()
    }
    var count: Int { pointer.count }
    func prefix(_ n: Int) -> UnsafeMutableRawBufferPointer { UnsafeMutableRawBufferPointer(rebasing: pointer[0..<n]) }
}

/// Overwrites memory that held plaintext or keys.
func wipeBytes(_ buffer: UnsafeMutableRawBufferPointer) {
    guard buffer.count > 0 else { return }
    explicit_bzero(buffer.baseAddress!, buffer.count)
}
