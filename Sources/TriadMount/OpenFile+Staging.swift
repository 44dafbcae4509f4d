#if canImport(Glibc)
import Glibc
#endif
import TriadCrypto
import TriadFormat

/// A new file's content built unnamed (docs/mount.md §3.5). A file this daemon created is
/// linked at once as an empty encrypted file (the *placeholder*, §4); when its writes first
/// reach the dirty limit, they go instead into an unnamed file (`O_TMPFILE`) with the same
/// header, in place, with no journal and no sync — nobody else can open it, and a crash
/// simply drops it, leaving the empty placeholder. At the file's first durable point (close,
/// `fsync`, `utimens`) the unnamed file is fdatasynced, linked under a temporary name and
/// renamed over the placeholder, and the folder is fsynced: a crash at any instant leaves
/// the name at the empty file or at the complete new one, both decryptable, and the data is
/// written once instead of twice (journal, then file) and flushed once instead of at every
/// commit at the dirty limit (2 MiB).
struct Staging {
    /// The placeholder, still open: its commit lock guards the replacement, its inode is
    /// what the name must still point at.
    let placeholderFD: Int32
    let placeholder: MutableFile
    let placeholderIdentity: OpenFile.Identity
}

extension OpenFile {
    /// Starts staging (the caller holds the file's mutex, `file` is the placeholder's
    /// content, created here and never committed). On any failure the file stays as it was
    /// and commits through the journal.
    func beginStaging(_ file: MutableFile, folder: JournalFolder) {
        var st = stat()
        guard fstat(fd, &st) == 0, Int(st.st_size) == file.emptyBackingSize else { return }
        let unnamed = openat(folder.fd, ".", O_RDWR | BackingTree.temporaryFile | O_CLOEXEC, st.st_mode & 0o7777)
        guard unnamed >= 0 else { return }
        do {
            let copy = try file.emptyCopy(fd: unnamed)
            staging = Staging(placeholderFD: fd, placeholder: file,
                              placeholderIdentity: Identity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino)))
            currentFD.store(unnamed, ordering: .releasing)
            content = .encrypted(copy)
        } catch {
            close(unnamed)
        }
    }

    /// The durable point of a staged file (the caller holds the mutex and has committed the
    /// pending writes into it). Returns 0 or an errno.
    func publish(folder: JournalFolder?) -> Int32 {
        guard let staged = staging, case .encrypted(let file) = content else { return 0 }
        // Unlinked through the mount: nothing to name; the handles keep the unnamed file.
        guard let folder, let path = lastPath else { return 0 }
        let name = BackingTree.split(path).name
        guard fdatasync(fd) == 0 else { return errno }
        var conflict = false
        do {
            try CommitLock.withExclusive(fd: staged.placeholderFD, path: path) {
                // The name must still be our untouched placeholder: no one wrote to it, replaced
                // it or left a journal for it while we staged.
                var now = stat(), mine = stat(), journal = stat()
                guard fstatat(folder.fd, name, &now, AT_SYMLINK_NOFOLLOW) == 0, fstat(staged.placeholderFD, &mine) == 0,
                      now.st_dev == mine.st_dev, now.st_ino == mine.st_ino,
                      Int(mine.st_size) == staged.placeholder.emptyBackingSize,
                      fstatat(folder.fd, WriteJournal.name(fileID: file.header.fileID), &journal, AT_SYMLINK_NOFOLLOW) != 0 else {
                    conflict = true
                    return
                }
                fchmod(fd, mine.st_mode & 0o7777)
                let temporary = "." + name + ".triad-tmp-" + Hex.encode(SecureRandom.bytes(count: 8))
                guard linkat(AT_FDCWD, "/proc/self/fd/\(fd)", folder.fd, temporary, AT_SYMLINK_FOLLOW) == 0 else {
                    throw Int32Error(code: errno)
                }
                guard renameat(folder.fd, temporary, folder.fd, name) == 0 else {
                    let e = errno
                    unlinkat(folder.fd, temporary, 0)
                    throw Int32Error(code: e)
                }
                guard fsync(folder.fd) == 0 else { throw Int32Error(code: errno) }
            }
        } catch let error as Int32Error {
            return error.code
        } catch let error as FormatError {
            return Self.errnoCode(for: error)
        } catch {
            return EIO
        }
        if conflict { return replay(staged, from: file, folder: folder) }
        retiredFDs.append(staged.placeholderFD)
        staging = nil
        fresh = false
        var st = stat()
        if fstat(fd, &st) == 0 {
            published = (staged.placeholderIdentity, Identity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino)))
        }
        return 0
    }

    /// Someone else wrote to, replaced or journaled the placeholder while we staged: our
    /// bytes go into the file at the name like any other writes, through the journal, and
    /// the unnamed file is dropped. Returns 0 or an errno.
    private func replay(_ staged: Staging, from file: MutableFile, folder: JournalFolder) -> Int32 {
        let size = file.plaintextSize
        retiredFDs.append(fd)
        currentFD.store(staged.placeholderFD, ordering: .releasing)
        content = .encrypted(staged.placeholder)
        staging = nil
        fresh = false
        guard size > 0 else { return 0 }
        let count = file.segmentCount(plaintext: size)
        for index in 0..<count {
            let buffer = scratch
            let n: Int
            do { n = try file.readSegment(index, into: buffer) } catch { return EIO }
            var overlay = SegmentOverlay(segmentSize: file.segmentSize)
            overlay.write(UnsafeRawBufferPointer(rebasing: buffer[0..<n]), at: 0)
            overlays[index] = overlay
            dirtyBytes += overlay.allocatedBytes
            if dirtyBytes >= Self.dirtyLimit || index == count - 1 {
                guard case .encrypted(let current) = content else { return EIO }
                if let e = commitLocked(current, truncate: nil, folder: folder) { return e }
            }
        }
        return 0
    }
}
