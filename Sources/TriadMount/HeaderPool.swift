#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization
import TriadCrypto
import TriadFormat

/// New files' headers, made ahead (docs/mount.md §1.3). A new file's header costs the daemon
/// about 100 µs of CPU — a fresh file key, its zone slot, the key-origin marker's ECDSA
/// signature, the recovery slot, the header MAC — and nothing in it depends on the file's
/// name. While programs create files one after another (`tar x`, `cp -r`), a thread of its
/// own makes the next few on another processor, and `create` takes one that is ready instead
/// of making it while the program waits.
///
/// Every header is made for one set of recipients, numbered by `KeyVault` (its generation):
/// any change of them — a newer policy, a revocation, the card leaving, the hourly rotation —
/// changes the number, and a header made for another number is never handed out; it is
/// dropped, and its file key wiped as it goes (`SecureBytes`). The pool makes headers only
/// after a create asked for one, so an idle daemon uses no CPU.
final class HeaderPool: @unchecked Sendable {
    struct Made {
        let generation: UInt64
        let header: FileHeader
        let fileKey: SecureBytes
    }

    private struct State {
        var ready: [Made] = []
        /// The recipients to make headers for, and their generation; nil: make none.
        var order: (generation: UInt64, recipients: [any Recipient])?
        var started = false
    }

    private let state = Mutex<State>(State())
    /// Signalled at each take: the thread sleeps here while nobody creates files.
    private let wake = DispatchSemaphore(value: 0)
    private let zoneID: [UInt8]

    /// Headers kept ready: enough for a burst of creates from several programs at once.
    static let capacity = 8

    init(zoneID: [UInt8]) {
        self.zoneID = zoneID
    }

    /// A ready header for the recipients of `generation`, or nil. Either way the thread is
    /// asked to have more ready for these recipients; headers of any other generation go.
    func take(generation: UInt64, recipients: [any Recipient]) -> Made? {
        let (made, start) = state.withLock { s -> (Made?, Bool) in
            s.ready.removeAll { $0.generation != generation }
            s.order = (generation, recipients)
            let start = !s.started
            s.started = true
            return (s.ready.isEmpty ? nil : s.ready.removeFirst(), start)
        }
        if start { Thread { [self] in run() }.start() }
        wake.signal()
        return made
    }

    /// Drops every ready header (their file keys wiped) and stops making them until the next
    /// take: the keys they were made with are gone.
    func clear() {
        state.withLock { s in
            s.ready = []
            s.order = nil
        }
    }

    /// The thread: after each signal, makes headers until `capacity` are ready for the current
    /// order. One finished for an order that changed meanwhile is dropped.
    private func run() {
        while true {
            wake.wait()
            while let order = state.withLock({ s in s.ready.count < Self.capacity ? s.order : nil }) {
                guard let (header, fileKey) = try? MutableFile.makeHeader(zoneID: zoneID, recipients: order.recipients) else { break }
                state.withLock { s in
                    guard s.order?.generation == order.generation, s.ready.count < Self.capacity else { return }
                    s.ready.append(Made(generation: order.generation, header: header, fileKey: fileKey))
                }
            }
        }
    }
}
