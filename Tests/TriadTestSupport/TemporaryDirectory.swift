import Foundation

/// A fresh folder for one test (mkdtemp under the system temporary folder), removed when the
/// value goes away unless `TRIAD_TEST_KEEP` is set (to look at what a failing test left).
public final class TemporaryDirectory: @unchecked Sendable {
    /// The folder's absolute path.
    public let root: String

    /// `label` becomes part of the name (`triad-<label>-XXXXXX`) to tell test folders apart.
    public init(_ label: String = "test") throws {
        let safe = label.filter { $0.isLetter || $0.isNumber || $0 == "-" }
        var template = Array((NSTemporaryDirectory() + "triad-\(safe.isEmpty ? "test" : safe)-XXXXXX").utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw TestSupportError.io(path: NSTemporaryDirectory(), reason: "mkdtemp: \(String(cString: strerror(errno)))")
        }
        root = String(cString: template)
    }

    deinit {
        if ProcessInfo.processInfo.environment["TRIAD_TEST_KEEP"] == nil { try? FileManager.default.removeItem(atPath: root) }
    }

    /// The absolute path of `relativePath` inside the folder.
    public func path(_ relativePath: String) -> String { root + "/" + relativePath }

    /// Writes `bytes` to `relativePath`, making the folders on the way.
    public func write(_ relativePath: String, _ bytes: [UInt8]) throws {
        let full = path(relativePath)
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: full))
    }

    /// Writes UTF-8 `text` to `relativePath`, making the folders on the way.
    public func write(_ relativePath: String, text: String) throws {
        try write(relativePath, Array(text.utf8))
    }

    /// The bytes of `relativePath`.
    public func read(_ relativePath: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path(relativePath))))
    }

    /// Makes a folder (and its parents) and returns its absolute path.
    @discardableResult
    public func makeDirectory(_ relativePath: String) throws -> String {
        try FileManager.default.createDirectory(atPath: path(relativePath), withIntermediateDirectories: true)
        return path(relativePath)
    }

    /// Every entry directly in the folder, sorted (to check nothing was left behind).
    public func entries(_ relativePath: String = "") throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: relativePath.isEmpty ? root : path(relativePath)).sorted()
    }
}
