import Foundation

/// Runs a per-file job over a list with a few worker threads, keeping the CLI's contract:
/// the first error stops the run (files already done stay done, each atomically), counts and
/// progress are exact, and progress is reported from one thread at a time.
enum ParallelFiles {
    /// What one batch produced: the job's values in list order (nil = skipped), the number of
    /// files handled, and the first error by list position (files after it were not started
    /// or their values are dropped by the caller).
    struct Outcome<T> {
        var values: [T?]
        var firstError: (index: Int, error: Error)?
    }

    /// Runs `job` on every file until the first error; progress counts from `offset` of `total`.
    static func map<T>(_ files: [String], workers: Int, offset: Int = 0, total: Int? = nil,
                       progress: @escaping (Int, Int) -> Void,
                       _ job: @escaping (String) throws -> T?) -> Outcome<T> {
        let lock = NSLock()
        let total = total ?? files.count
        var next = 0, finished = offset
        var outcome = Outcome<T>(values: Array(repeating: nil, count: files.count))
        DispatchQueue.concurrentPerform(iterations: max(1, min(workers, files.count))) { _ in
            while true {
                lock.lock()
                guard outcome.firstError == nil, next < files.count else { lock.unlock(); return }
                let index = next
                next += 1
                lock.unlock()
                let result: Result<T?, Error> = Result { try job(files[index]) }
                lock.lock()
                switch result {
                case .success(let value): outcome.values[index] = value
                case .failure(let error):
                    if outcome.firstError == nil || index < outcome.firstError!.index { outcome.firstError = (index, error) }
                }
                finished += 1
                progress(finished, total)
                lock.unlock()
            }
        }
        return outcome
    }

    /// Runs a job that reports done (true) or skipped (false) for each file.
    static func run(_ files: [String], workers: Int, progress: @escaping (Int, Int) -> Void,
                    _ job: @escaping (String) throws -> Bool) throws -> ZoneFiles.Counts {
        progress(0, files.count)
        let outcome = map(files, workers: workers, progress: progress) { try job($0) }
        if let firstError = outcome.firstError { throw firstError.error }
        var counts = ZoneFiles.Counts()
        for value in outcome.values {
            if value == true { counts.done += 1 } else if value == false { counts.skipped += 1 }
        }
        return counts
    }
}
