import Dispatch

/// Commits batches of `PendingFile`s on a background thread while the caller prepares the
/// next batch (docs/format.md §7.4).
///
/// Why: a batch's commit is fsyncs, renames and folder fsyncs — mostly waiting for the disk
/// and the filesystem — and while the caller waited for it the encryption workers sat idle.
/// Overlapping the two lets a 2-core machine keep both cores on crypto and small syscalls.
///
/// Batches are committed one at a time and in the order submitted, each exactly as
/// `PendingBatch.commit` does, so every per-file guarantee of §7.4 is unchanged. A failed
/// commit is reported by the next `submit` or by `finish`; a batch submitted after a failure
/// is discarded (its originals stay as they were), so nothing is renamed past an error.
public final class CommitPipeline: @unchecked Sendable {
    private let queue = DispatchQueue(label: "triad.commit")
    private let group = DispatchGroup()
    // Written on `queue`, read after `group.wait()`: the group orders the two.
    private var failure: Error?

    /// A pipeline with no batch in flight.
    public init() {}

    /// Waits for the previous batch; if it failed, discards `files` and throws its error,
    /// otherwise starts committing `files` and returns at once.
    public func submit(_ files: [PendingFile]) throws {
        group.wait()
        if let failure {
            for file in files { file.discard() }
            throw failure
        }
        guard !files.isEmpty else { return }
        queue.async(group: group) {
            do { try PendingBatch.commit(files) } catch { self.failure = error }
        }
    }

    /// Waits for the last batch; throws the first commit error, if any.
    public func finish() throws {
        group.wait()
        if let failure { throw failure }
    }

    deinit { group.wait() }
}
