import Foundation

/// Runs a per-file job over a list with a few worker threads, keeping the CLI's contract:
/// the first error stops the run (files already done stay done, each atomically), counts and
/// progress are exact, and progress is reported from one thread at a time.
enum ParallelFiles {
    static func run(_ files: [String], workers: Int, progress: @escaping (Int, Int) -> Void,
                    _ job: @escaping (String) throws -> Bool) throws -> ZoneFiles.Counts {
        let lock = NSLock()
        var next = 0, finished = 0
        var counts = ZoneFiles.Counts()
        var firstError: (index: Int, error: Error)?
        progress(0, files.count)
        DispatchQueue.concurrentPerform(iterations: max(1, min(workers, files.count))) { _ in
            while true {
                lock.lock()
                guard firstError == nil, next < files.count else { lock.unlock(); return }
                let index = next
                next += 1
                lock.unlock()
                let outcome: Result<Bool, Error> = Result { try job(files[index]) }
                lock.lock()
                switch outcome {
                case .success(true): counts.done += 1
                case .success(false): counts.skipped += 1
                case .failure(let error):
                    if firstError == nil || index < firstError!.index { firstError = (index, error) }
                }
                finished += 1
                progress(finished, files.count)
                lock.unlock()
            }
        }
        if let firstError { throw firstError.error }
        return counts
    }
}
