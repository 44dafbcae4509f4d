import Foundation
import TriadCrypto

/// The link between the applet and pcscd through vsmartcard's vpcd reader driver
/// (docs/virtual-card.md, "vpcd, ports and readers"). vpcd listens on 127.0.0.1:35963 + slot; the card connects as a
/// TCP client — connecting is "inserting the card", closing is "removing it".
///
/// Framing: every message is a 2-byte big-endian length and that many bytes. A 1-byte
/// message is a control: `00` power off, `01` power on, `02` reset (no reply to any of
/// them), `04` get ATR (reply: the ATR). Anything longer is a command APDU, answered with
/// exactly one response APDU. An empty reply would make vpcd eject the card, so the applet
/// never produces one. Debian's vpcd sends the length and body in separate writes, so
/// both are read with loops until complete.
public final class VPCDLink {
    /// The vpcd TCP port this card connects to (35963 + reader slot).
    public let port: UInt16
    /// The card itself.
    public private(set) var applet: VirtualPIVApplet
    let log: (String) -> Void
    let trace: Bool
    private var socketFD: Int32 = -1

    /// - Parameters:
    ///   - trace: log each instruction byte and status word (never command data: PINs
    ///     travel in VERIFY).
    public init(applet: VirtualPIVApplet, port: UInt16, trace: Bool = false, log: @escaping (String) -> Void) {
        self.applet = applet
        self.port = port
        self.trace = trace
        self.log = log
    }

    /// Serves vpcd until `shouldStop` returns true; reconnects whenever pcscd (and with it
    /// vpcd) goes away, so restarting pcscd re-inserts the card.
    public func run(shouldStop: () -> Bool) {
        var announcedWaiting = false
        while !shouldStop() {
            guard connect() else {
                if !announcedWaiting {
                    log("waiting for vpcd at 127.0.0.1:\(port) (is pcscd running with vsmartcard-vpcd?)")
                    announcedWaiting = true
                }
                sleepChecking(milliseconds: 500, shouldStop)
                continue
            }
            announcedWaiting = false
            log("connected to vpcd at 127.0.0.1:\(port); waiting for pcscd to power the card")
            serve(shouldStop)
            disconnect()
            applet.powerOff()
            if !shouldStop() {
                log("vpcd closed the connection; reconnecting")
                sleepChecking(milliseconds: 300, shouldStop)
            }
        }
        log("card removed: stopped")
    }

    /// Serves one connection. The TCP connect alone proves little — vpcd's listen backlog
    /// completes it even while another card occupies the slot — so "inserted" is logged on
    /// the first message from vpcd, and a connection that stays silent is reported.
    private func serve(_ shouldStop: () -> Bool) {
        var inserted = false
        var silentPolls = 0
        while !shouldStop() {
            var pfd = pollfd(fd: socketFD, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, 200)
            if ready < 0 { if errno == EINTR { continue }; return }
            if ready == 0 {
                silentPolls += 1
                if !inserted && silentPolls == 25 {
                    log("vpcd has not spoken for 5 s: is another card already in this slot (port \(port))?")
                }
                continue
            }
            guard let header = readExactly(2) else { return }
            if !inserted {
                inserted = true
                log("card inserted: vpcd at 127.0.0.1:\(port) is talking to it")
            }
            let length = Int(header[0]) << 8 | Int(header[1])
            guard length > 0, var message = readExactly(length) else { return }
            if message.count == 1 {
                switch message[0] {
                case 0x00: applet.powerOff(); if trace { log("power off") }
                case 0x01: if trace { log("power on") }
                case 0x02: applet.reset(); if trace { log("reset") }
                case 0x04: guard send(applet.atr) else { return }
                default: log("unknown vpcd control byte \(message[0]); ignored")
                }
                continue
            }
            var response = applet.process(message)
            if trace, message.count >= 4, response.count >= 2 {
                log(String(format: "INS %02X P1 %02X P2 %02X -> SW %02X%02X (%d bytes)",
                           message[1], message[2], message[3],
                           response[response.count - 2], response[response.count - 1], response.count - 2))
            }
            // Commands carry PINs (VERIFY, CHANGE REFERENCE DATA), responses ECDH secrets.
            wipe(&message)
            let sent = send(response)
            wipe(&response)
            guard sent else { return }
        }
    }

    private func connect() -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else { close(fd); return false }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        // A frame body follows its header at once; never hang on a half-sent frame.
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        socketFD = fd
        return true
    }

    private func disconnect() {
        if socketFD >= 0 { close(socketFD) }
        socketFD = -1
    }

    private func readExactly(_ count: Int) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            quickAck()
            let n = buffer.withUnsafeMutableBytes { recv(socketFD, $0.baseAddress! + offset, count - offset, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return nil }
            offset += n
        }
        return buffer
    }

    /// TCP_QUICKACK before each read: vpcd writes a frame's length and its body in two
    /// sends on a socket with Nagle's algorithm on, so the body waits until the length is
    /// acknowledged; with Linux's delayed acknowledgement that is up to 40 ms per command.
    /// The option is not sticky (tcp(7)), hence before every read.
    private func quickAck() {
        var one: Int32 = 1
        setsockopt(socketFD, Int32(IPPROTO_TCP), TCP_QUICKACK, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    private func send(_ body: [UInt8]) -> Bool {
        precondition(!body.isEmpty && body.count <= 0xFFFF, "vpcd frames carry 1...65535 bytes")
        var frame = [UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body
        defer { wipe(&frame) }
        var offset = 0
        while offset < frame.count {
            let n = frame.withUnsafeBytes { Glibc.send(socketFD, $0.baseAddress! + offset, frame.count - offset, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            offset += n
        }
        return true
    }

    private func sleepChecking(milliseconds: Int, _ shouldStop: () -> Bool) {
        var left = milliseconds
        while left > 0 && !shouldStop() {
            usleep(50_000)
            left -= 50
        }
    }
}
