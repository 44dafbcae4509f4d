import Foundation

/// Deterministic pseudo-random numbers and bytes (xorshift64), so a failing test reproduces
/// with the same data. Not for keys: only for test content.
public struct SeededGenerator: RandomNumberGenerator {
    public var state: UInt64

    public init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }

    public mutating func next() -> UInt64 {
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        return state
    }

    /// The next `count` bytes (eight per step, little-endian).
    public mutating func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var i = 0
        while i < count {
            var v = next()
            for _ in 0..<8 where i < count { out[i] = UInt8(v & 0xFF); v >>= 8; i += 1 }
        }
        return out
    }
}

/// A tree of files with deterministic names, sizes and contents, described before it is
/// written, so a test can write it, let the binaries work on it, and check every byte after.
///
/// File `i` is `d<i % folders>/<nested>f<i>.dat`, where every third folder nests its files one
/// level deeper (`sub/`), and its size is `sizes[i % sizes.count]`; its content is
/// `SeededGenerator(seed: seed &+ i)`'s first `size` bytes.
public struct SeededTree {
    public struct File: Hashable {
        /// The path relative to the tree's root.
        public var path: String
        public var size: Int
        public var seed: UInt64

        /// The file's content (computed again each time; nothing is kept in memory).
        public var contents: [UInt8] {
            var generator = SeededGenerator(seed: seed)
            return generator.bytes(size)
        }
    }

    public let files: [File]

    /// Sizes that cross the format's edges by default: empty, one byte, a segment, a segment
    /// and one byte, a few segments.
    public static let defaultSizes = [0, 1, 4096, 65_536, 65_537, 200_000]

    public init(seed: UInt64, count: Int, sizes: [Int] = SeededTree.defaultSizes, folders: Int = 4) {
        precondition(!sizes.isEmpty && folders > 0)
        files = (0..<count).map { i in
            let folder = i % folders
            let nested = folder % 3 == 2 ? "sub/" : ""
            return File(path: "d\(folder)/\(nested)f\(i).dat", size: sizes[i % sizes.count], seed: seed &+ UInt64(i))
        }
    }

    /// The relative paths, in order.
    public var paths: [String] { files.map(\.path) }

    /// Total bytes of content.
    public var totalSize: Int { files.reduce(0) { $0 + $1.size } }

    /// Writes every file under `root` (folders made on the way).
    public func write(to root: String) throws {
        for file in files {
            let full = root + "/" + file.path
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            guard FileManager.default.createFile(atPath: full, contents: Data(file.contents)) else {
                throw TestSupportError.io(path: full, reason: "cannot write")
            }
        }
    }

    /// The files under `root` whose bytes are not the tree's (missing, different or unreadable),
    /// each with a short reason; empty when every file matches.
    public func mismatches(in root: String) -> [String] {
        files.compactMap { file in
            guard let data = FileManager.default.contents(atPath: root + "/" + file.path) else { return "\(file.path): missing" }
            if data.count != file.size { return "\(file.path): \(data.count) bytes, expected \(file.size)" }
            return Array(data) == file.contents ? nil : "\(file.path): content differs"
        }
    }

    /// The files under `root` that still hold their plaintext (for checking encryption reached
    /// every file). Empty files are skipped: their plaintext is the empty string.
    public func stillPlain(in root: String) -> [String] {
        files.filter { $0.size > 0 }.compactMap { file in
            guard let data = FileManager.default.contents(atPath: root + "/" + file.path) else { return nil }
            return Array(data) == file.contents ? file.path : nil
        }
    }
}
