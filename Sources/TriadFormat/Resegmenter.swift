/// Cuts a stream of plaintext pieces into segments of another size, with the STREAM rules of
/// docs/format.md §6.1: every segment but the last is full, the last is final (full or
/// short), and an empty stream is one empty final segment — never an empty final segment
/// after others.
///
/// Re-encryption needs it wherever the input and output segment sizes differ: a suite-1 file
/// (64 KiB segments) converted to suite 2 (4 KiB, docs/format.md §13.4), and a 4 KiB suite-2
/// file re-encrypted by `zone rekey --reencrypt` as suite 1 (docs/zone.md §7).
struct Resegmenter {
    private let size: Int
    private let buffer: SegmentBuffer
    private var buffered = 0
    private var index: UInt64 = 0

    /// - Parameter size: plaintext bytes per output segment.
    init(size: Int) {
        self.size = size
        buffer = SegmentBuffer(count: size)
    }

    /// Feeds the next piece; `isLast` when no byte follows it (an empty last piece just ends
    /// the stream). Calls `emit` with each output segment (plaintext, index, final flag) as
    /// soon as it is known whether it is final.
    mutating func feed(_ piece: UnsafeRawBufferPointer, isLast: Bool,
                       emit: (UnsafeRawBufferPointer, _ index: UInt64, _ isFinal: Bool) throws -> Void) throws {
        var offset = 0
        while offset < piece.count {
            let n = min(size - buffered, piece.count - offset)
            (buffer.prefix(size).baseAddress! + buffered).copyMemory(from: piece.baseAddress! + offset, byteCount: n)
            buffered += n
            offset += n
            // A full segment is final only when nothing follows it.
            if buffered == size && (offset < piece.count || !isLast) {
                try emit(UnsafeRawBufferPointer(buffer.prefix(size)), index, false)
                index += 1
                buffered = 0
            }
        }
        if isLast {
            try emit(UnsafeRawBufferPointer(buffer.prefix(buffered)), index, true)
        }
    }
}
