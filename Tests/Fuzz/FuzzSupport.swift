import Foundation

/// Shared by every harness (docs/testing.md §6): the fuzz input as bytes, and a private
/// scratch file for parsers that only read from a path.
enum FuzzInput {
    /// The bytes libFuzzer hands over, copied (the buffer is only valid during the call).
    static func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
        guard let data, size > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: size))
    }

    /// A per-process folder (mode 0700) under TMPDIR for the scratch file.
    static let folder: String = {
        var template = Array((NSTemporaryDirectory() + "/triad-fuzz.XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { fatalError("cannot create a scratch folder under TMPDIR") }
        return String(cString: made)
    }()

    /// Writes `bytes` to the harness's scratch file (replacing it) and returns its path.
    static func file(_ bytes: [UInt8], name: String = "input") -> String {
        let path = folder + "/" + name
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { fatalError("cannot write \(path)") }
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { fatalError("cannot write \(path)") }
            written += n
        }
        close(fd)
        return path
    }
}

/// The repository's Fixtures folder, for harnesses that need a committed test key.
enum FuzzFixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures").path

    static func text(_ relative: String) -> String {
        guard let text = try? String(contentsOfFile: root + "/" + relative, encoding: .utf8) else {
            fatalError("missing fixture \(root)/\(relative)")
        }
        return text
    }
}
