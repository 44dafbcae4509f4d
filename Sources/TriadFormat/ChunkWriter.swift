import Dispatch
import DurableFile

/// Writes sealed chunks on a second thread while the caller seals the next one, so on a
/// 2-core machine encryption overlaps the write(2) copies and writeback of a large file
/// (docs/format.md §7.3 and §12: a 1 GiB file near `cp`).
///
/// Two chunk buffers alternate: the caller fills one (`buffer`), hands it over (`submit`),
/// and gets the other once the writer has emptied it. The semaphores order every access
/// to a buffer and to `failure`, so no lock is needed. The caller must call `finish()` on
/// every path (it stops the writer and reports the first write error).
final class ChunkWriter: @unchecked Sendable {
    private let output: FileHandle
    private let buffers: [SegmentBuffer]
    private var lengths = [0, 0]
    private var failure: Error?
    private let full = DispatchSemaphore(value: 0)
    /// Starts at 0 and is signalled up: libdispatch traps when a semaphore is freed with a
    /// value below the one it was created with.
    private let empty = DispatchSemaphore(value: 0)
    private let stopped = DispatchSemaphore(value: 0)
    private var current = 0
    private var finished = false

    init(output: FileHandle, chunkSize: Int) {
        self.output = output
        buffers = [SegmentBuffer(count: chunkSize), SegmentBuffer(count: chunkSize)]
        empty.signal()   // the second buffer is free; the first is the caller's from the start
        DispatchQueue.global().async { self.run() }
    }

    /// The buffer to fill next (free: the writer is done with it).
    var buffer: SegmentBuffer { buffers[current] }

    /// Hands the first `count` bytes of `buffer` to the writer and waits for the other buffer.
    /// Throws the writer's error, if any, so the caller stops sealing.
    func submit(count: Int) throws {
        lengths[current] = count
        full.signal()
        current ^= 1
        empty.wait()
        if let failure { throw failure }
    }

    /// Stops the writer after everything submitted is written; throws the first write error.
    func finish() throws {
        guard !finished else { return }
        finished = true
        lengths[current] = -1
        full.signal()
        stopped.wait()
        if let failure { throw failure }
    }

    private func run() {
        var index = 0
        while true {
            full.wait()
            let count = lengths[index]
            if count < 0 { break }
            if failure == nil {
                do {
                    try output.writeAll(UnsafeRawBufferPointer(buffers[index].prefix(count)))
                } catch {
                    failure = error
                }
            }
            index ^= 1
            empty.signal()
        }
        stopped.signal()
    }
}

/// The output side of a stream (docs/format.md §7.3): bytes are gathered into 1 MiB chunks,
/// each written with one write(2) — on a second thread (`ChunkWriter`) when `overlap` is set —
/// and writeback is started every 8 MiB, so the final fsync of a large file finds little left
/// and the dirty data a stream holds stays bounded.
///
/// Encryption seals straight into the chunk (`space` then `advance`); decryption copies each
/// verified segment in (`append`). The caller calls `finish()` on every path that succeeded.
final class ChunkedOutput {
    private let output: FileHandle
    private let writer: ChunkWriter?
    private var chunk: SegmentBuffer
    private var filled = 0
    private var unsynced = 0

    init(output: FileHandle, overlap: Bool, chunkSize: Int) {
        self.output = output
        writer = overlap ? ChunkWriter(output: output, chunkSize: chunkSize) : nil
        chunk = writer?.buffer ?? SegmentBuffer(count: chunkSize)
    }

    deinit { try? writer?.finish() }

    /// `count` writable bytes at the end of the current chunk (flushing it first if they would
    /// not fit); `advance(count)` once they are written.
    func space(_ count: Int) throws -> UnsafeMutableRawBufferPointer {
        precondition(count <= chunk.count)
        if filled + count > chunk.count { try flush() }
        return chunk.slice(filled..<filled + count)
    }

    func advance(_ count: Int) { filled += count }

    func append(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        try space(bytes.count).copyMemory(from: bytes)
        advance(bytes.count)
    }

    /// Writes what is gathered and waits for the writer thread; errors from either surface here.
    func finish() throws {
        try flush()
        try writer?.finish()
    }

    private func flush() throws {
        guard filled > 0 else { return }
        if let writer {
            try writer.submit(count: filled)
            chunk = writer.buffer
        } else {
            try output.writeAll(UnsafeRawBufferPointer(chunk.prefix(filled)))
        }
        unsynced += filled
        filled = 0
        // A no-op on pipes; the last chunk's writeback is left to the caller's commit.
        if unsynced >= PayloadStream.writebackInterval {
            Writeback.start(output.fd)
            unsynced = 0
        }
    }
}
