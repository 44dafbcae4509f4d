import Foundation
import TriadFormat

/// What a per-file job decided for one file.
public enum FileStep<Value> {
    /// The file's new content (or an output file) is complete in a temporary; the engine makes
    /// it durable and renames it with its batch (docs/format.md §7.4). `value` counts only once
    /// that commit succeeded.
    case write(PendingFile, Value)
    /// Nothing to write (already done, not this job's kind of file, or only observed).
    case leave(Value)
}

/// What a tree command does when one file fails (docs/zone.md §7).
public enum ErrorPolicy: Sendable {
    /// Start no file after the first failure; what was finished is still committed.
    case stop
    /// Name the file, go on with the rest, report every failure at the end.
    case keepGoing
}

/// How far a run is, reported from one worker at a time.
public struct TreeProgress: Sendable {
    /// Files whose job has finished (their writes may still be waiting for their batch).
    public var finished: Int
    /// Files in the run.
    public var total: Int
    /// The file just finished.
    public var path: String
}

/// A file a job could not process, and why.
public struct FileFailure: Error {
    /// The file, as listed.
    public var path: String
    /// What went wrong, from the job or the commit of its batch.
    public var error: Error

    /// A failure of the file at `path`.
    public init(path: String, error: Error) {
        self.path = path
        self.error = error
    }
}

/// What a run did.
public struct TreeRun<Value> {
    /// Files whose job finished and whose write (if any) is durable and in place, in listing order.
    public var outcomes: [(file: TreeFile, value: Value)] = []
    /// Files whose job threw, in listing order.
    public var failures: [FileFailure] = []
    /// A batch that could not be made durable: the run stopped there. Its files and every file
    /// not yet started are left as they were before the run (or, for some, already renamed).
    public var commitFailure: Error?
    /// Files the run never reached (a stop request, `ErrorPolicy.stop`, or a commit failure).
    public var notStarted = 0
    /// True when `shouldStop` ended the run early.
    public var interrupted = false
    /// Files whose job finished but whose batch failed to commit or was discarded after such
    /// a failure: each is either still as it was or already renamed into place.
    public var uncommitted = 0

    /// Whether every listed file was processed without error.
    public var isComplete: Bool { failures.isEmpty && commitFailure == nil && notStarted == 0 }
}

/// The one per-file engine of every tree job: encrypt, decrypt, rekey, re-encrypt, status,
/// and TriadRecovery's re-grant, decrypt, rotation and coverage (docs/zone.md §7).
///
/// - Workers: `workers` threads pull the next file from the listing. A job must therefore be
///   safe to run concurrently: software keys are; a card key goes through `SerializedKey`.
/// - Batched durability (docs/format.md §7.4): a job's pending file joins the open batch; a
///   batch is committed (made durable, then renamed) on a background thread while the workers
///   fill the next one. At most two batches of temporaries exist at once: when one batch is
///   committing and the next is full, workers wait. The first batches are small (16 files, then
///   doubling up to `batchFiles`), so a long run makes progress durable within its first
///   moments and a crash early in a run loses little.
/// - Errors: a job's error is the file's failure, handled by `errorPolicy`; a failed commit
///   stops the run (the filesystem is in trouble) and later batches are discarded.
/// - Interruption: `shouldStop` is asked before each file; once it says yes no file is started,
///   the files in hand finish, and the finished batch is committed before `run` returns.
public struct TreeEngine {
    /// Worker threads: two per core, so one core's worker can wait for the disk while the
    /// other encrypts (measured in docs/performance.md).
    public var workers = TreeEngine.defaultWorkers
    /// A batch is committed when it holds this many files …
    public var batchFiles = 256
    /// … or this many bytes of input (the dirty data one round of durability has to write).
    public var batchBytes = 64 << 20
    /// The first batch's size; each next batch doubles, up to `batchFiles`.
    public var firstBatchFiles = 16
    /// Whether a failed file stops the run or is reported while the others go on (the default).
    public var errorPolicy = ErrorPolicy.keepGoing
    /// Called from worker threads, one call at a time, after each file's job.
    public var progress: (TreeProgress) -> Void = { _ in }
    /// Asked before each file is started; from worker threads, one call at a time.
    public var shouldStop: () -> Bool = { false }

    /// Two workers per core: a worker waiting on the disk or a card leaves the core to another.
    public static var defaultWorkers: Int { max(2, 2 * ProcessInfo.processInfo.activeProcessorCount) }

    /// An engine with the defaults above.
    public init() {}

    /// Rounds in which files found busy (`FileBusy`: a mount was writing them while they were
    /// to be replaced, docs/mount.md §4) are tried again after the run; the pause before round
    /// n is n × `busyPause` seconds. Files still busy after the last round are failures.
    public var busyRounds = 4
    /// See `busyRounds`.
    public var busyPause = 0.25

    /// Runs `job` on every file of `files` and commits what it writes; files found busy are
    /// run again, up to `busyRounds` times, once the rest is done.
    public func run<Value>(_ files: [TreeFile], _ job: @escaping (TreeFile) throws -> FileStep<Value>) -> TreeRun<Value> {
        var result = runOnce(files, job, holding: false)
        for round in 1...max(1, busyRounds) where busyRounds > 0 {
            guard !result.interrupted, result.commitFailure == nil else { break }
            let busy = result.failures.filter { $0.error is FileBusy }
            guard !busy.isEmpty else { break }
            usleep(useconds_t(busyPause * Double(round) * 1_000_000))
            let paths = Set(busy.map(\.path))
            // Each busy file alone, its lock held from the read to the rename: a file a program
            // writes all the time cannot change between the two.
            var single = self
            single.batchFiles = 1
            single.firstBatchFiles = 1
            let again = single.runOnce(files.filter { paths.contains($0.path) }, job, holding: true)
            result.failures = result.failures.filter { !paths.contains($0.path) } + again.failures
            result.outcomes += again.outcomes
            result.commitFailure = again.commitFailure
            result.interrupted = again.interrupted
            result.notStarted += again.notStarted
            result.uncommitted += again.uncommitted
        }
        let order = Dictionary(files.enumerated().map { ($1.path, $0) }, uniquingKeysWith: { a, _ in a })
        result.outcomes.sort { order[$0.file.path, default: 0] < order[$1.file.path, default: 0] }
        result.failures.sort { order[$0.path, default: 0] < order[$1.path, default: 0] }
        return result
    }

    private func runOnce<Value>(_ files: [TreeFile], _ job: @escaping (TreeFile) throws -> FileStep<Value>,
                                holding: Bool) -> TreeRun<Value> {
        let state = RunState<Value>(engine: self, files: files)
        // Threads of their own rather than Dispatch's pool: a worker may wait for the committer
        // (at most two batches of temporaries), and the pool may be as narrow as the core count.
        let group = DispatchGroup()
        for _ in 0..<max(1, min(workers, files.count)) {
            group.enter()
            Thread {
                ReplacementLock.holdUntilCommit(holding)
                state.work(job)
                ReplacementLock.holdUntilCommit(false)
                group.leave()
            }.start()
        }
        group.wait()
        return state.finish()
    }
}

/// The shared state of one run, guarded by one condition lock.
private final class RunState<Value>: @unchecked Sendable {
    struct Batch {
        var number = 0
        var reserved = 0
        var bytes = 0
        var inFlight = 0
        var pending: [(index: Int, file: PendingFile, value: Value)] = []
    }

    let engine: TreeEngine
    let files: [TreeFile]
    let condition = NSCondition()
    let committer = DispatchQueue(label: "triad.tree-commit")

    var next = 0
    var finished = 0
    var open = Batch()
    /// A full batch waiting for the one committing to finish.
    var queued: Batch?
    var committing = false
    var stopped = false
    var values: [Value?]
    var failures: [(index: Int, failure: FileFailure)] = []
    var commitFailure: Error?
    var interrupted = false

    init(engine: TreeEngine, files: [TreeFile]) {
        self.engine = engine
        self.files = files
        values = Array(repeating: nil, count: files.count)
    }

    func limit(_ batch: Batch) -> Int {
        let shift = min(batch.number, 20)
        return max(1, min(engine.batchFiles, engine.firstBatchFiles << shift))
    }

    func isFull(_ batch: Batch) -> Bool {
        batch.reserved >= limit(batch) || batch.bytes >= engine.batchBytes
    }

    /// One worker: take the next file, run the job, file the result, until nothing is left.
    func work(_ job: (TreeFile) throws -> FileStep<Value>) {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if stopped || next >= files.count { return }
            // Wait while the open batch is full (its last file is still in hand) or a full batch
            // waits behind the one committing: at most two batches of temporaries exist.
            if isFull(open) || queued != nil { condition.wait(); continue }
            if engine.shouldStop() {
                stopped = true
                interrupted = true
                condition.broadcast()
                return
            }
            let index = next
            next += 1
            open.reserved += 1
            open.bytes += files[index].size
            open.inFlight += 1
            condition.unlock()
            let result = Result { try job(files[index]) }
            condition.lock()
            open.inFlight -= 1
            switch result {
            case .success(.write(let pending, let value)): open.pending.append((index, pending, value))
            case .success(.leave(let value)): values[index] = value
            case .failure(let error):
                failures.append((index, FileFailure(path: files[index].path, error: error)))
                if engine.errorPolicy == .stop { stopped = true }
            }
            finished += 1
            engine.progress(TreeProgress(finished: finished, total: files.count, path: files[index].path))
            if isFull(open) && open.inFlight == 0 { cut() }
            condition.broadcast()
        }
    }

    /// Closes the open batch (no file of it in hand) and hands it to the committer, or, once a
    /// commit has failed, discards it: nothing is renamed past a failed commit, whichever of the
    /// two threads gets the lock first (a batch can complete after the failure). Lock held.
    func cut() {
        let batch = open
        open = Batch(number: batch.number + 1)
        guard !batch.pending.isEmpty else { return }
        if commitFailure != nil {
            for item in batch.pending { item.file.discard() }
        } else if committing { queued = batch } else { submit(batch) }
    }

    /// Commits `batch` on the committer thread. Lock held.
    func submit(_ batch: Batch) {
        committing = true
        committer.async {
            let result = Result { try PendingBatch.commit(batch.pending.map(\.file)) }
            self.condition.lock()
            defer { self.condition.unlock() }
            switch result {
            case .success:
                for item in batch.pending {
                    if let busy = item.file.busy {
                        self.failures.append((item.index, FileFailure(path: self.files[item.index].path, error: busy)))
                    } else {
                        self.values[item.index] = item.value
                    }
                }
            case .failure(let error):
                if self.commitFailure == nil { self.commitFailure = error }
                self.stopped = true
            }
            if let queued = self.queued {
                self.queued = nil
                if self.commitFailure == nil { self.submit(queued) } else {
                    for item in queued.pending { item.file.discard() }
                    self.committing = false
                }
            } else {
                self.committing = false
            }
            self.condition.broadcast()
        }
    }

    /// After every worker returned: commit the last batch, wait for the committer, report.
    func finish() -> TreeRun<Value> {
        condition.lock()
        defer { condition.unlock() }
        while queued != nil { condition.wait() }
        cut()
        while committing || queued != nil { condition.wait() }

        var run = TreeRun<Value>()
        for (index, value) in values.enumerated() {
            if let value { run.outcomes.append((files[index], value)) }
        }
        run.failures = failures.sorted { $0.index < $1.index }.map(\.failure)
        run.commitFailure = commitFailure
        run.notStarted = files.count - next
        run.interrupted = interrupted
        run.uncommitted = next - run.outcomes.count - run.failures.count
        return run
    }
}
