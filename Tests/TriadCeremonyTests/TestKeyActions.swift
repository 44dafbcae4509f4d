import Foundation
import TriadTestSupport
import TriadCrypto
import TriadJournal
@testable import TriadCeremony

/// Stand-ins for the recovery helper's key actions, declared exactly as real ones will
/// be: each presents one factor, and `test-unlock` combines all three. They hold real
/// `SecureBytes` in the ceremony's secret store; the PIN is read from `--pin-fd`.
enum TestKeyActions {
    static let all: [any CeremonyAction.Type] = [LoadBlob.self, InsertCard.self, TakePIN.self, Unlock.self, LockJournal.self, CountRuns.self, FailOnce.self]

    struct LoadBlob: CeremonyAction {
        static let name = "test-load-blob"
        static let summary = "test: IT presents the escrow blob"
        static let presents: [RecoveryFactor] = [.escrowBlob]
        func run(_ arguments: NoArguments, _ context: inout ActionContext) throws -> ActionOutcome {
            context.secrets.set("blob", SecureBytes(Array("escrow-blob-bytes".utf8)))
            return ActionOutcome(["blob_sha256": .string(Hex.encode(SHA256.hash(Array("escrow-blob-bytes".utf8))))])
        }
    }

    struct InsertCard: CeremonyAction {
        static let name = "test-insert-card"
        static let summary = "test: Management presents the card"
        static let presents: [RecoveryFactor] = [.recoveryCard]
        func run(_ arguments: NoArguments, _ context: inout ActionContext) throws -> ActionOutcome {
            context.secrets.set("card", SecureBytes(Array("card-key".utf8)))
            return ActionOutcome(["card_serial": "1234"])
        }
    }

    struct TakePIN: CeremonyAction {
        static let name = "test-take-pin"
        static let summary = "test: Medical types the PIN"
        static let presents: [RecoveryFactor] = [.cardPIN]
        func run(_ arguments: NoArguments, _ context: inout ActionContext) throws -> ActionOutcome {
            let pin = try context.readSecret(prompt: "PIN: ")
            context.secrets.set("pin", pin)
            return ActionOutcome(["pin_length_recorded": false])
        }
    }

    struct Unlock: CeremonyAction {
        static let name = "test-unlock"
        static let summary = "test: combine blob, card and PIN"
        static let combines: [RecoveryFactor] = [.escrowBlob, .recoveryCard, .cardPIN]
        static func produces(_ arguments: NoArguments) -> [String] { ["recovery-key-unlocked"] }
        func run(_ arguments: NoArguments, _ context: inout ActionContext) throws -> ActionOutcome {
            guard let b = context.secrets.get("blob"), let c = context.secrets.get("card"), let p = context.secrets.get("pin") else {
                throw ActionError("a factor is missing from this ceremony's memory")
            }
            let key = SHA256.hash(b.bytes + c.bytes + p.bytes)
            context.secrets.set("recovery-key", SecureBytes(key))
            return ActionOutcome(["key_check_value": .string(Hex.encode(Array(SHA256.hash(key).prefix(4))))])
        }
    }

    /// Takes an exclusive lock on the journal from another process (python3's sqlite3),
    /// so the engine's next append cannot commit.
    struct LockJournal: CeremonyAction {
        static let name = "test-lock-journal"
        static let summary = "test: another process locks the journal"
        struct Arguments: ActionArguments {
            static let parameters = [ParameterSpec("path", .text, required: true, "journal path")]
            var path: String
            init(from a: ArgumentReader) throws { path = try a.requiredText("path") }
        }
        nonisolated(unsafe) static var locker: RunningProcess?
        func run(_ arguments: Arguments, _ context: inout ActionContext) throws -> ActionOutcome {
            // python3 holds the lock until its standard input is closed (release()).
            var command = Command("python3", ["-c", """
                import sqlite3, sys
                c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
                c.execute('BEGIN EXCLUSIVE')
                print('locked', flush=True)
                sys.stdin.read()
                """, arguments.path])
            command.keepsStdinOpen = true
            let p = try command.start()
            let deadline = Date() + 30
            while p.isRunning && !p.stdoutSoFar.contains(UInt8(ascii: "\n")) && Date() < deadline { usleep(10_000) }
            let line = String(decoding: p.stdoutSoFar, as: UTF8.self)
            guard line.hasPrefix("locked") else { p.kill(); throw ActionError("could not lock: \(line)\(String(decoding: p.stderrSoFar, as: UTF8.self))") }
            Self.locker = p
            return ActionOutcome()
        }
        static func release() {
            locker?.closeStdin()
            locker?.wait()
            locker = nil
        }
    }

    /// Fails the first time with a lower layer's error (not an ActionError), as a wrong
    /// PIN from the card layer would.
    struct FailOnce: CeremonyAction {
        struct CardLayerError: Error, CustomStringConvertible { var description: String { "PIN incorrect, 2 tries left" } }
        static let name = "test-fail-once"
        static let summary = "test: fails once"
        nonisolated(unsafe) static var failed = false
        func run(_ arguments: NoArguments, _ context: inout ActionContext) throws -> ActionOutcome {
            if !Self.failed { Self.failed = true; throw CardLayerError() }
            return ActionOutcome()
        }
    }

    /// Counts how often it ran: proves a later action did not run.
    struct CountRuns: CeremonyAction {
        static let name = "test-count"
        static let summary = "test: count runs"
        nonisolated(unsafe) static var runs = 0
        func run(_ arguments: NoArguments, _ context: inout ActionContext) throws -> ActionOutcome {
            Self.runs += 1
            return ActionOutcome()
        }
    }
}
