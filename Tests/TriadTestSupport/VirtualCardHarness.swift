import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The machine's real pcscd with vsmartcard's vpcd reader driver, as the card tests use it
/// (docs/virtual-card.md): vpcd slot i listens on 127.0.0.1:35963+i and pcscd names its reader
/// "Virtual PCD 00 0i". Presence is read with OpenSC's `opensc-tool -l`, an independent client,
/// so the harness does not depend on the project's own PC/SC code it helps to test.
///
/// Every test that uses a card must run under `flock /tmp/triad-cards.lock` (the ports cannot
/// be shared between test runs).
public enum PCSCReaders {
    public static let socket = "/run/pcscd/pcscd.comm"
    /// The vpcd ports: "Virtual PCD 00 00" and "Virtual PCD 00 01", then readers B and C
    /// ("Virtual PCD B 00 00" … "Virtual PCD C 00 01"): vpcd serves two slots per driver
    /// instance, so scripts/lib/pcsc.sh has pcscd load it three times (docs/virtual-card.md).
    public static let ports: [UInt16] = [35963, 35964, 35965, 35966, 35967, 35968]

    /// pcscd's name for the reader of vpcd `port`.
    public static func readerName(port: UInt16) -> String {
        let index = Int(port) - 35963
        let instance = ["", "", "B ", "B ", "C ", "C "][max(0, min(5, index))]
        return "Virtual PCD \(instance)00 " + String(format: "%02d", index % 2)
    }

    /// Waits up to `timeout` seconds for pcscd's socket and for pcscd to list the vpcd reader of
    /// `port`; the error says how to start them. The harness never starts or stops pcscd (one
    /// pcscd serves everyone), and never probes vpcd's TCP port (vpcd would take the probe for a
    /// card, and stops listening on a port while a card holds it).
    public static func requireService(port: UInt16 = ports[0], timeout: TimeInterval = 10) throws {
        let deadline = Date() + timeout
        repeat {
            if FileManager.default.fileExists(atPath: socket) && cardPresent(in: readerName(port: port)) != nil { return }
            usleep(100_000)
        } while Date() < deadline
        throw TestSupportError.pcscUnavailable(
            "pcscd with vsmartcard-vpcd is not answering (socket \(socket), no reader \(readerName(port: port)) in opensc-tool -l): run "
            + "the tests through scripts/test, or start pcscd with `. scripts/lib/pcsc.sh && pcsc_up` (scripts/setup installs pcscd and vsmartcard-vpcd)")
    }

    /// True when something accepts TCP connections on 127.0.0.1:`port` (vpcd's listener).
    public static func isListening(port: UInt16) -> Bool {
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// Whether pcscd shows a card in the reader whose name contains `reader`; nil when no such
    /// reader is listed (or opensc-tool cannot run).
    public static func cardPresent(in reader: String) -> Bool? {
        guard let listing = try? Command("opensc-tool", ["-l"]).run(), listing.succeeded else { return nil }
        guard let line = listing.out.split(separator: "\n").first(where: { $0.contains(reader) }) else { return nil }
        return line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first == "Yes"
    }

    /// Waits until the reader shows (or no longer shows) a card; false if `timeout` ran out.
    @discardableResult
    public static func waitForCard(in reader: String, present: Bool = true, timeout: TimeInterval = 15) -> Bool {
        let deadline = Date() + timeout
        repeat {
            if cardPresent(in: reader) == present { return true }
            usleep(100_000)
        } while Date() < deadline
        return false
    }
}

/// One virtual PIV card (`virtual-card run`) inserted into a vpcd reader of the real pcscd.
///
///     let card = try VirtualCardHarness(state: dir.path("card.state"), port: 35964)
///     try card.insert()          // waits until pcscd shows it
///     … yubico-piv-tool -r card.reader …, zone --identity "piv:\(card.reader)" …
///     card.remove()              // also on deinit
public final class VirtualCardHarness: @unchecked Sendable {
    /// The card's state file.
    public let state: String
    public let port: UInt16
    /// `virtual-card run`'s output (standard output and error), appended across insertions.
    public let logPath: String
    /// Arguments added to `virtual-card run` (`--trace`).
    public var runArguments: [String] = []
    private var process: RunningProcess?
    /// How the last `virtual-card run` ended (after ``remove()`` or ``pull()``).
    public private(set) var lastExit: ProcessResult?

    /// pcscd's name for the reader the card goes into.
    public var reader: String { PCSCReaders.readerName(port: port) }
    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
    /// True while `virtual-card run` is running.
    public var isInserted: Bool { process?.isRunning ?? false }

    /// Makes the card's state with `virtual-card init` (plus `initArguments`: `--serial N`,
    /// `--management-key-algorithm aes192`) when `state` does not exist yet.
    public init(state: String, port: UInt16 = PCSCReaders.ports[0], serial: UInt32? = nil, initArguments: [String] = []) throws {
        self.state = state
        self.port = port
        self.logPath = state + ".run.log"
        if !FileManager.default.fileExists(atPath: state) {
            var args = ["init", "--state", state] + initArguments
            if let serial { args += ["--serial", String(serial)] }
            let result = try Command(Products.virtualCard, args).run()
            guard result.succeeded else { throw TestSupportError.toolFailed(result) }
        }
    }

    /// Starts `virtual-card run` and returns once vpcd talks to this process (its log says
    /// "card inserted", which a TCP connect alone never prints) and pcscd shows the card. A card
    /// still leaving the reader gets `timeout` seconds to go first.
    public func insert(timeout: TimeInterval = 20) throws {
        guard !isInserted else { return }
        try PCSCReaders.requireService(port: port)
        guard PCSCReaders.waitForCard(in: reader, present: false, timeout: timeout) else {
            throw TestSupportError.readerBusy(reader: reader)
        }
        let before = log.count
        var command = Command(Products.virtualCard, ["run", "--state", state, "--port", String(port), "--exit-with-parent"] + runArguments)
        command.stdout = .file(logPath)
        command.stderr = .file(logPath)
        let started = try command.start()
        process = started
        let deadline = Date() + timeout
        while started.isRunning && Date() < deadline && !String(log.dropFirst(before)).contains("card inserted") {
            usleep(50_000)
        }
        guard String(log.dropFirst(before)).contains("card inserted"),
              PCSCReaders.waitForCard(in: reader, present: true, timeout: max(1, deadline.timeIntervalSinceNow)) else {
            remove()
            throw TestSupportError.cardDidNotAppear(reader: reader, log: String(log.dropFirst(before)))
        }
    }

    /// SIGTERM, wait for the process, then until pcscd has noticed the card is gone (so the
    /// next card on this port is not mistaken for this one).
    public func remove() {
        guard let running = process else { return }
        process = nil
        running.terminate()
        lastExit = running.wait(timeout: 10)
        PCSCReaders.waitForCard(in: reader, present: false, timeout: 5)
    }

    /// Kills `virtual-card run` with SIGKILL (a card pulled out mid-operation).
    public func pull() {
        guard let running = process else { return }
        process = nil
        running.kill(SIGKILL)
        lastExit = running.wait(timeout: 10)
        PCSCReaders.waitForCard(in: reader, present: false, timeout: 5)
    }

    deinit { remove() }
}
