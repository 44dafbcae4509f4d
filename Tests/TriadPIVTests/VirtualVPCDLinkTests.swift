import Foundation
import XCTest
import TriadTestSupport

/// The vpcd link of `virtual-card run` against a stand-in vpcd server written here from
/// the protocol (docs/virtual-card.md, "vpcd, ports and readers"): framing with the length and body in separate writes
/// (as Debian's vpcd 0.8 sends them), control bytes, reconnection, SIGTERM.
final class VirtualVPCDLinkTests: XCTestCase {
    /// A listening socket on 127.0.0.1 at a free port, speaking vpcd's side.
    final class FakeVPCD {
        let listener: Int32
        let port: UInt16
        var client: Int32 = -1

        init() throws {
            let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var one: Int32 = 1
            setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = 0
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0, listen(listener, 1) == 0 else { throw POSIXError(.EADDRINUSE) }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
            }
            self.listener = listener
            port = UInt16(bigEndian: address.sin_port)
        }

        /// Waits up to `seconds` for the card to connect.
        func accept(within seconds: Int32) -> Bool {
            var pfd = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, seconds * 1000) == 1 else { return false }
            client = Glibc.accept(listener, nil, nil)
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            return client >= 0
        }

        /// Sends a frame as vpcd 0.8 does: header and body in two writes with a pause.
        func sendFrame(_ body: [UInt8]) {
            let header = [UInt8(body.count >> 8), UInt8(body.count & 0xFF)]
            _ = header.withUnsafeBytes { Glibc.send(client, $0.baseAddress, 2, Int32(MSG_NOSIGNAL)) }
            usleep(20_000)
            _ = body.withUnsafeBytes { Glibc.send(client, $0.baseAddress, body.count, Int32(MSG_NOSIGNAL)) }
        }

        func readFrame() -> [UInt8]? {
            guard let header = readExactly(2) else { return nil }
            return readExactly(Int(header[0]) << 8 | Int(header[1]))
        }

        func readExactly(_ count: Int) -> [UInt8]? {
            var buffer = [UInt8](repeating: 0, count: count)
            var offset = 0
            while offset < count {
                let n = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress! + offset, count - offset, 0) }
                guard n > 0 else { return nil }
                offset += n
            }
            return buffer
        }

        func transmit(_ apdu: [UInt8]) -> [UInt8]? { sendFrame(apdu); return readFrame() }

        func dropClient() { close(client); client = -1 }

        deinit { if client >= 0 { close(client) }; close(listener) }
    }

    func testFramingControlsReconnectAndSigterm() throws {
        let directory = try PCSCHarness.temporaryDirectory("vpcd")
        defer { try? FileManager.default.removeItem(at: directory) }
        let state = directory.appendingPathComponent("card.state").path
        XCTAssertTrue(PCSCHarness.run(PCSCHarness.virtualCardExecutable.path, ["init", "--state", state]).succeeded)
        let vpcd = try FakeVPCD()
        let process = try PCSCHarness.startCard(state: state, port: vpcd.port)
        defer { process.terminate(); process.wait() }

        XCTAssertTrue(vpcd.accept(within: 5), "the card connects to vpcd")
        vpcd.sendFrame([0x01])                      // power on: no reply
        vpcd.sendFrame([0x04])                      // get ATR
        let atr = try XCTUnwrap(vpcd.readFrame())
        XCTAssertEqual(String(decoding: atr[3..<11], as: UTF8.self), "Triad-SW")
        let select = try XCTUnwrap(vpcd.transmit([0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08]))
        XCTAssertEqual(Array(select.suffix(2)), [0x90, 0x00])
        XCTAssertEqual(select.first, 0x61)
        let pin: [UInt8] = Array("123456".utf8) + [0xFF, 0xFF]
        XCTAssertEqual(vpcd.transmit([0x00, 0x20, 0x00, 0x80, 0x08] + pin), [0x90, 0x00])
        XCTAssertEqual(vpcd.transmit([0x00, 0x20, 0x00, 0x80]), [0x90, 0x00])
        vpcd.sendFrame([0x02])                      // reset clears the PIN status
        XCTAssertEqual(vpcd.transmit([0x00, 0x20, 0x00, 0x80]), [0x63, 0xC3])
        XCTAssertEqual(vpcd.transmit([0x00, 0x20, 0x00, 0x80, 0x08] + pin), [0x90, 0x00])
        vpcd.sendFrame([0x00])                      // power off too
        XCTAssertEqual(vpcd.transmit([0x00, 0x20, 0x00, 0x80]), [0x63, 0xC3])
        // A malformed APDU still gets a non-empty answer (an empty one would eject the card).
        XCTAssertEqual(vpcd.transmit([0x00, 0xA4]), [0x67, 0x00])

        // pcscd restarts: the connection drops; the card comes back by itself.
        vpcd.dropClient()
        XCTAssertTrue(vpcd.accept(within: 5), "the card reconnects")
        vpcd.sendFrame([0x04])
        XCTAssertEqual(vpcd.readFrame(), atr)

        // SIGTERM: clean exit 0, connection closed.
        process.terminate()
        XCTAssertEqual(process.wait().exitCode, 0)
        XCTAssertNil(vpcd.readFrame(), "the card closed the connection (removed)")
    }

    /// Commands that once crashed the applet in the fuzzer (Fixtures/fuzz/regressions/applet-*.bin,
    /// docs/testing.md §6), sent by a hostile host to the real `virtual-card run`: each gets a
    /// status word, the process stays up, and the card still answers SELECT and keeps its PIN.
    func testCommandsThatCrashedTheFuzzerAreAnsweredAndTheCardStaysUp() throws {
        let folder = Products.source("Fixtures/fuzz/regressions")
        let inputs = try FileManager.default.contentsOfDirectory(atPath: folder)
            .filter { $0.hasPrefix("applet-") && $0.hasSuffix(".bin") }.sorted()
        XCTAssertFalse(inputs.isEmpty, "the applet regressions are in \(folder)")
        let directory = try PCSCHarness.temporaryDirectory("vpcd-fuzz")
        defer { try? FileManager.default.removeItem(at: directory) }
        let state = directory.appendingPathComponent("card.state").path
        XCTAssertTrue(PCSCHarness.run(PCSCHarness.virtualCardExecutable.path, ["init", "--state", state]).succeeded)
        let vpcd = try FakeVPCD()
        let process = try PCSCHarness.startCard(state: state, port: vpcd.port)
        defer { process.terminate(); process.wait() }
        XCTAssertTrue(vpcd.accept(within: 5), "the card connects to vpcd")
        vpcd.sendFrame([0x01])

        var sent = 0
        for name in inputs {
            // The harness's framing: a flags byte, then commands with 2-byte lengths.
            var rest = Array(try Data(contentsOf: URL(fileURLWithPath: folder + "/" + name))).dropFirst()
            while rest.count >= 2 {
                let length = Int(rest[rest.startIndex]) << 8 | Int(rest[rest.startIndex + 1])
                let command = Array(rest.dropFirst(2).prefix(length))
                rest = rest.dropFirst(2 + command.count)
                let answer = vpcd.transmit(command)
                XCTAssertGreaterThanOrEqual(answer?.count ?? 0, 2, "\(name): \(command) got no status word")
                XCTAssertTrue(process.isRunning, "\(name): the card process died on \(command)")
                sent += 1
            }
        }
        XCTAssertGreaterThan(sent, 0)
        let select = try XCTUnwrap(vpcd.transmit([0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08]))
        XCTAssertEqual(Array(select.suffix(2)), [0x90, 0x00], "the card still answers")
        let pin: [UInt8] = Array("123456".utf8) + [0xFF, 0xFF]
        XCTAssertEqual(vpcd.transmit([0x00, 0x20, 0x00, 0x80, 0x08] + pin), [0x90, 0x00], "nothing changed its PIN")
    }

    func testASecondProcessOnTheSameCardIsRefused() throws {
        let directory = try PCSCHarness.temporaryDirectory("vpcd-lock")
        defer { try? FileManager.default.removeItem(at: directory) }
        let state = directory.appendingPathComponent("card.state").path
        XCTAssertTrue(PCSCHarness.run(PCSCHarness.virtualCardExecutable.path, ["init", "--state", state]).succeeded)
        let vpcd = try FakeVPCD()
        let first = try PCSCHarness.startCard(state: state, port: vpcd.port)
        defer { first.terminate(); first.wait() }
        XCTAssertTrue(vpcd.accept(within: 5))
        let second = PCSCHarness.run(PCSCHarness.virtualCardExecutable.path, ["run", "--state", state, "--port", String(vpcd.port)])
        XCTAssertEqual(second.status, 1)
        XCTAssertTrue(second.stderr.contains("already running"), second.stderr)
    }
}
