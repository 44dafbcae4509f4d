#if canImport(Glibc)
import Glibc
#endif
internal import CFUSE
import Foundation
import Synchronization

/// Checkpoints of closed files, batched (docs/format.md §14.2 step 4): a file closed after a
/// commit is durable already (its journal was fdatasynced at close); what remains — making the
/// file's own data durable and removing its journal — is done for every file closed in the
/// last half second with one `syncfs(2)` instead of one `fdatasync` each. Until then the
/// closed file's descriptor stays open here.
final class Checkpointer: @unchecked Sendable {
    private let pending = Mutex<[(OpenFile, JournalFolder)]>([])
    private let rootFD: Int32
    private let stopped = Atomic<Bool>(false)
    private var thread: Thread?
    /// Signalled when a file is added (or at stop): an idle daemon's thread sleeps here and
    /// uses no CPU.
    private let wake = DispatchSemaphore(value: 0)

    static let interval: useconds_t = 500_000

    init(rootFD: Int32) {
        self.rootFD = rootFD
    }

    func start() {
        let t = Thread { [self] in
            while !stopped.load(ordering: .relaxed) {
                wake.wait()
                usleep(Self.interval)
                drain()
            }
        }
        t.start()
        thread = t
    }

    /// Hands over a closed file that needs its checkpoint (takes ownership of `folder`).
    func add(_ file: OpenFile, folder: JournalFolder) {
        let first = pending.withLock { p -> Bool in
            p.append((file, folder))
            return p.count == 1
        }
        if first { wake.signal() }
    }

    /// One syncfs, then every pending journal is removed (each under its file's commit lock).
    func drain() {
        let batch = pending.withLock { p -> [(OpenFile, JournalFolder)] in
            defer { p = [] }
            return p
        }
        guard !batch.isEmpty else { return }
        // A file deleted since its close needs no durable data (no name reaches it); only
        // its journal goes. A batch of only such files (a program's last file, then `rm`)
        // costs no syncfs.
        let deleted = batch.map { $0.0.isUnlinked }
        let synced = deleted.allSatisfy { $0 } || triad_syncfs(rootFD) == 0
        for ((file, folder), gone) in zip(batch, deleted) {
            file.checkpoint(folder: folder, synced: synced || gone)
            folder.close()
        }
    }

    /// After an unlink of `identity`: a file deleted since its close leaves the batch now (no sync, their
    /// journal removed, their descriptor closed), in the unlink's own request, instead of
    /// waking the daemon half a second later — an idle daemon stays idle after `rm`.
    func dropDeleted(_ identity: OpenFile.Identity) {
        let gone = pending.withLock { p -> [(OpenFile, JournalFolder)] in
            let gone = p.filter { $0.0.identity == identity && $0.0.isUnlinked }
            p.removeAll { entry in gone.contains { $0.0 === entry.0 } }
            return gone
        }
        for (file, folder) in gone {
            file.checkpoint(folder: folder, synced: true)
            folder.close()
        }
    }

    /// Stops the thread and checkpoints what is left.
    func stop() {
        stopped.store(true, ordering: .relaxed)
        wake.signal()
        while thread?.isFinished == false { usleep(10_000) }
        drain()
    }
}
