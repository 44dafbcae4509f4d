import SystemPackage

/// Commits many `StagedFile`s with one round of durability (docs/format.md §7.4):
///
/// 1. make every temporary durable: with one syncfs(2) when the batch has many files and the
///    machine has little other dirty data, otherwise by starting writeback of all of them
///    and then syncing each in a row;
/// 2. publish each temporary under its destination's name, in order;
/// 3. fsync each distinct folder once.
///
/// A crash before step 2 leaves every original untouched; a crash during step 2 or 3 leaves
/// each file either its original or its complete new content (the data was durable before
/// any rename), never a torn one: docs/format.md §7.1 holds per file, as in the one-file path.
public enum StagedBatch {
    /// Batches of at least this many files are made durable with one syncfs(2). Why: per file,
    /// fsync writes the file's inode and (for a new file) its folder synchronously and then
    /// flushes the disk cache; on ext4 without a journal that is four synchronous writes per
    /// 4 KiB file, while syncfs writes each inode-table and folder block once per batch and
    /// flushes once (docs/format.md §12 has the measurement).
    static let syncfsMinimumFiles = 16
    /// syncfs also writes other programs' dirty data on the filesystem; with more than this
    /// much dirty or under-writeback memory on the machine a batch uses fsync per file rather
    /// than wait for someone else's writes (a terminal server shared by a ward, say).
    static let syncfsDirtyLimit = 128 << 20

    /// How a batch was made durable.
    public enum Method: Equatable, Sendable { case syncfs, fsyncEach }

    /// Commits `files` in order. On an error the files before the failing one are committed
    /// (and their folders synced), the failing one and those after it are discarded, and the
    /// error is thrown.
    ///
    /// `admit` is asked just before each file's publication, with the file's index: false
    /// discards that file and the batch goes on (a caller that renames only under a lock it
    /// could not take, docs/mount.md §4); a throw fails the batch there. Whatever `admit`
    /// holds for a published file is to be released after `commit` returns, when its folder
    /// has been synced.
    @discardableResult
    public static func commit(_ files: [StagedFile], admit: (Int) throws -> Bool = { _ in true }) throws -> Method {
        if files.count >= syncfsMinimumFiles, let dirty = Writeback.systemDirtyBytes(), dirty <= syncfsDirtyLimit,
           let first = files.min(by: { $0.openOrder < $1.openOrder }),
           Writeback.syncFilesystem(first.fd) {
            try publish(files, admit: admit)
            return .syncfs
        }
        for file in files { Writeback.start(file.fd) }
        for (i, file) in files.enumerated() {
            do { try file.sync() } catch {
                for later in files[i...] { later.discard() }
                try publish(Array(files[..<i]), admit: admit)
                throw error
            }
        }
        try publish(files, admit: admit)
        return .fsyncEach
    }

    /// Steps 2 and 3 for files already durable: publish in order (after the first failure
    /// the rest are discarded), then fsync each folder that received a file, once.
    private static func publish(_ files: [StagedFile], admit: (Int) throws -> Bool) throws {
        var folders: [DurableFolder] = []
        var seen = Set<FilePath>()
        var failure: Error?
        for (index, file) in files.enumerated() {
            if failure != nil { file.discard(); continue }
            do {
                guard try admit(index) else { file.discard(); continue }
                try file.publish()
                if seen.insert(file.folder.path).inserted { folders.append(file.folder) }
            } catch {
                failure = error
                file.discard()
            }
        }
        for folder in folders { try folder.sync() }
        if let failure { throw failure }
    }
}
