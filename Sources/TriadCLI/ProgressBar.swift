#if canImport(Glibc)
import Glibc
#endif

/// A one-line progress bar on stderr, drawn only when stderr is a terminal, so logs, pipes
/// and tests never see control characters.
public struct ProgressBar {
    /// What is being done ("encrypting").
    public let label: String
    /// False when stderr is not a terminal: nothing is drawn.
    public let enabled: Bool
    private var lastDrawn = -1

    /// A bar for `label`, drawn when `enabled`.
    public init(label: String, enabled: Bool = isatty(2) == 1) {
        self.label = label
        self.enabled = enabled
    }

    /// Redraws when the percentage changed, so a tree of 100,000 files does not flood the terminal.
    public mutating func update(done: Int, total: Int) {
        guard enabled, total > 0 else { return }
        let width = 30
        let filled = done * width / total
        let percent = done * 100 / total
        guard percent != lastDrawn else { return }
        lastDrawn = percent
        let bar = String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled)
        let line = "\r\(label) [\(bar)] \(done)/\(total) (\(percent)%)"
        _ = line.withCString { fputs($0, stderr) }
        if done >= total { _ = "\n".withCString { fputs($0, stderr) } }
    }
}
