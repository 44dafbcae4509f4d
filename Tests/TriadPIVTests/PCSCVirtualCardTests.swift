import ISO7816
import Foundation
import XCTest
import TriadCrypto
import TriadPCSC
@testable import TriadPIV
import VirtualPIV
import TriadTestSupport

/// A `virtual-card run` process inserted into the real pcscd through vpcd, for the PIV client
/// tests: port 35964 ("Virtual PCD 00 01"), so it does not collide with the virtual-card
/// tests on 35963. Built on `PCSCHarness` (pcscd start, executable location); unlike
/// `VirtualCardProcess` it can also pull the card hard (SIGKILL) and owns a temporary folder
/// for the tools' files.
final class PIVTestCard {
    static let port = 35964
    static let reader = "Virtual PCD 00 01"

    let directory: URL
    let state: URL
    /// A random serial, so the tests can tell their card from another test process's card
    /// on the same reader (other suites also use vpcd slot 1 on a shared machine).
    let serial = UInt32.random(in: 999_100_000...999_999_999)
    private var process: RunningProcess?

    /// Creates a blank card (PIN 123456, PUK 12345678, default management key) and inserts it.
    init(file: StaticString = #filePath) throws {
        try PCSCHarness.ensurePCSCD()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("triad-piv-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        state = directory.appendingPathComponent("card.state")
        let initResult = try Tool.run(Self.binary(), ["init", "--state", state.path, "--serial", String(serial)])
        guard initResult.status == 0 else { throw ToolFailure("virtual-card init: \(initResult.stderr)") }
        try insert()
    }

    deinit {
        remove(kill: false)
        try? FileManager.default.removeItem(at: directory)
    }

    static func binary() throws -> String {
        let p = PCSCHarness.virtualCardExecutable.path
        guard FileManager.default.isExecutableFile(atPath: p) else {
            throw ToolFailure("no virtual-card executable at \(p): run swift build first")
        }
        return p
    }

    /// Starts `virtual-card run` and waits until pcscd reports the card present.
    func insert() throws {
        do { try insertOnce() } catch {
            // vpcd accepts a new card only after noticing the old one left; give it one more go.
            remove(kill: true)
            try insertOnce()
        }
    }

    private func insertOnce() throws {
        try Self.waitUntilReaderEmpty()
        var command = Command(try Self.binary(), ["run", "--state", state.path, "--port", String(Self.port)])
        command.stdout = .discard
        command.stderr = .discard
        let p = try command.start()
        process = p
        // The reader must show a card, and it must be ours (vpcd queues our connection while
        // another process's card holds the slot).
        let context = try PCSCContext()
        let deadline = Date().addingTimeInterval(90)
        while Date() < deadline {
            if try context.waitForCard(in: Self.reader, timeoutMilliseconds: 1_000), cardSerial() == serial { return }
            guard p.isRunning else { break }
            usleep(200_000)
        }
        throw ToolFailure("the virtual card \(serial) did not appear in \(Self.reader)")
    }

    /// The serial of whatever card is in the reader now, or nil.
    private func cardSerial() -> UInt32? {
        guard let card = try? PCSCContext().connect(reader: Self.reader) else { return nil }
        let client = PIVClient(transport: card)
        return try? card.withTransaction { try client.select(); return try client.serial() } ?? nil
    }

    /// Pulls the card: SIGKILL (a yanked card) or SIGTERM (a clean stop).
    func remove(kill: Bool) {
        guard let p = process, p.isRunning else { process = nil; return }
        p.kill(kill ? SIGKILL : SIGTERM)
        p.wait()
        process = nil
    }

    /// Waits until the reader no longer shows a card (a previous card's socket is closed).
    static func waitUntilReaderEmpty() throws {
        let context = try PCSCContext()
        for _ in 0..<50 {
            if !(try context.state(of: reader).isCardPresent) { return }
            usleep(100_000)
        }
    }

    /// A PC/SC connection to this card.
    func connect() throws -> PCSCCard {
        try PCSCContext().connect(reader: Self.reader)
    }
}

struct ToolFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Runs an external tool (yubico-piv-tool, openssl, pkcs11-tool) with a timeout.
enum Tool {
    struct Result { let status: Int32; let stdout: Data; let stderr: String }

    static func run(_ path: String, _ arguments: [String], stdin: Data? = nil, timeout: TimeInterval = 60) throws -> Result {
        var command = Command(path.hasPrefix("/") ? path : "/usr/bin/\(path)", arguments, stdin: stdin ?? Data())
        command.timeout = timeout
        let r = try command.run()
        if r.timedOut { throw ToolFailure("\(path) \(arguments.joined(separator: " ")) timed out") }
        return Result(status: r.status, stdout: r.stdout, stderr: r.err)
    }

    /// Runs and insists on exit 0.
    @discardableResult
    static func ok(_ path: String, _ arguments: [String], stdin: Data? = nil) throws -> Data {
        let r = try run(path, arguments, stdin: stdin)
        guard r.status == 0 else { throw ToolFailure("\(path) \(arguments.joined(separator: " ")) failed (\(r.status)): \(r.stderr)") }
        return r.stdout
    }
}

/// The PC/SC layer itself against real pcscd: readers, status, transmit, transactions, removal.
final class PCSCVirtualCardTests: XCTestCase {
    func testReaderListStatusAndSelect() throws {
        let card = try PIVTestCard()
        let context = try PCSCContext()
        XCTAssertTrue(try context.readers().contains(PIVTestCard.reader))
        XCTAssertTrue(try context.state(of: PIVTestCard.reader).isCardPresent)
        let handle = try card.connect()
        let status = try handle.status()
        XCTAssertTrue(status.present)
        XCTAssertEqual(status.atr, VirtualPIVApplet(state: .blank(serial: 999_000_001)).atr)
        let r = try handle.withTransaction {
            try handle.transmit(CommandAPDU(ins: 0xA4, p1: 0x04, p2: 0x00, data: PIVIdentifiers.applicationID, le: 256))
        }
        XCTAssertEqual(r.sw, 0x9000)
        XCTAssertEqual(r.data.first, 0x61)
        // An unknown AID is refused with 6A82, and the client maps it.
        let foreign = try handle.transmit(CommandAPDU(ins: 0xA4, p1: 0x04, p2: 0x00, data: [0xA0, 0, 0, 0, 0x62, 0x03, 0x01], le: 256))
        XCTAssertEqual(foreign.sw, 0x6A82)
    }

    func testUnknownReaderIsATypedError() throws {
        let context = try PCSCContext()
        XCTAssertThrowsError(try context.connect(reader: "No Such Reader 99")) { error in
            guard let e = error as? PCSCError else { return XCTFail("\(error)") }
            XCTAssertEqual(e.kind, .noReader)
            XCTAssertEqual(e.name, "SCARD_E_UNKNOWN_READER")
            XCTAssertTrue(e.description.contains("SCARD_E_UNKNOWN_READER"))
        }
    }

    /// The one reader selection: matching by part of the name (any case), empty readers
    /// skipped, the caller's check deciding, and each failure naming its reader.
    func testCardReaderPicksTheFirstAcceptedCardAndNamesItsReader() throws {
        let card = try PIVTestCard()
        let transport = try CardReader.connect(matching: "pcd 00 01")
        XCTAssertEqual(transport.reader, PIVTestCard.reader)
        XCTAssertEqual(try transport.transmit(CommandAPDU(ins: 0xA4, p1: 0x04, p2: 0x00, data: PIVIdentifiers.applicationID, le: 256)).sw, 0x9000)
        if try !PCSCContext().state(of: "Virtual PCD 00 00").isCardPresent {
            XCTAssertEqual(try CardReader.connect(matching: "VIRTUAL PCD").reader, PIVTestCard.reader, "the empty reader 00 00 is skipped")
            XCTAssertEqual(try CardReader.connect(matching: nil).reader, PIVTestCard.reader, "no text: any reader")
        }
        struct NotThisOne: Error {}
        XCTAssertThrowsError(try CardReader.open(matching: "pcd 00 01") { _ in throw NotThisOne() }) { error in
            guard case CardSelectionError.refused(let reader, let why) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(reader, PIVTestCard.reader)
            XCTAssertTrue(why is NotThisOne)
        }
        XCTAssertThrowsError(try CardReader.connect(matching: "no such reader")) { error in
            guard case CardSelectionError.noMatchingReader(let wanted, let available) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(wanted, "no such reader")
            XCTAssertTrue(available.contains(PIVTestCard.reader))
            XCTAssertTrue(String(describing: error).contains(PIVTestCard.reader), "lists the readers present")
        }
        card.remove(kill: false)
        try PIVTestCard.waitUntilReaderEmpty()
        XCTAssertThrowsError(try CardReader.connect(matching: "pcd 00 01")) { error in
            guard case CardSelectionError.noCard(let reader) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(reader, PIVTestCard.reader)
            XCTAssertTrue(String(describing: error).contains("insert the card"))
        }
    }

    /// A card pulled while we hold a handle gives SCARD_W_REMOVED_CARD (or a reader error),
    /// mapped to `.cardRemoved` — not a hang and not a crash.
    func testRemovedCardIsATypedError() throws {
        let card = try PIVTestCard()
        let handle = try card.connect()
        XCTAssertEqual(try handle.transmit(CommandAPDU(ins: 0xA4, p1: 0x04, p2: 0x00, data: PIVIdentifiers.applicationID, le: 256)).sw, 0x9000)
        card.remove(kill: true)
        let started = Date()
        XCTAssertThrowsError(try PIVClient(transport: handle).select()) { error in
            XCTAssertEqual(error as? PIVError, .cardRemoved, "\(error)")
            XCTAssertTrue(String(describing: error).contains("removed"))
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 10)
    }
}
