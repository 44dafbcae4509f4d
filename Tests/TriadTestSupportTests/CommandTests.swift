import Foundation
import XCTest
import TriadTestSupport

/// The process runner every test uses: what it hands the child and what it reports back.
final class CommandTests: XCTestCase {
    func testArgumentsStdinAndBothOutputs() throws {
        let r = try Command("/bin/sh", ["-c", "cat; echo \"[$1]\" >&2; exit 3", "sh", "two words"], stdin: Data("in put".utf8)).run()
        XCTAssertEqual(r.exitCode, 3)
        XCTAssertNil(r.signal)
        XCTAssertEqual(r.out, "in put")
        XCTAssertEqual(r.err, "[two words]\n")
        XCTAssertFalse(r.succeeded)
    }

    func testNoStdinIsEndOfFileAtOnce() throws {
        let r = try Command("/bin/sh", ["-c", "wc -c"]).run()
        XCTAssertEqual(r.out.trimmingCharacters(in: .whitespacesAndNewlines), "0")
    }

    /// `--pin-fd 3`: the bytes arrive on descriptor 3, and only the descriptors asked for exist
    /// in the child (nothing of the test process leaks into it).
    func testExtraInputsAndNoOtherDescriptors() throws {
        var command = Command("/bin/sh", ["-c", "read pin <&3; read other <&5; echo \"$pin/$other\"; ls /proc/self/fd"])
        command.inputs = [3: Data("123456\n".utf8), 5: Data("x\n".utf8)]
        let r = try command.run()
        XCTAssertTrue(r.succeeded, "\(r)")
        let lines = r.out.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "123456/x")
        // ls itself opens one descriptor to list the folder; 0-2, 3 and 5 are the rest.
        let fds = Set(lines.dropFirst().compactMap { Int($0) })
        XCTAssertTrue(fds.isSuperset(of: [0, 1, 2, 3, 5]), "\(fds)")
        XCTAssertLessThanOrEqual(fds.count, 6, "only 0-2, the inputs and ls's own descriptor: \(fds)")
        XCTAssertFalse(command.description.contains("123456"), "a PIN never shows in the description: \(command)")
    }

    func testDescriptorsBelowThreeAreRefused() {
        var command = Command("/bin/true")
        command.inputs = [1: Data()]
        XCTAssertThrowsError(try command.run()) { XCTAssertTrue("\($0)".contains("descriptor 1"), "\($0)") }
    }

    func testEnvironmentIsExactlyTheOneGiven() throws {
        let r = try Command("/usr/bin/env", [], environment: ["ONLY": "this"]).run()
        XCTAssertEqual(r.out, "ONLY=this\n")
    }

    func testWorkingDirectory() throws {
        let dir = try TemporaryDirectory("cwd")
        var command = Command("pwd")
        command.directory = dir.root
        XCTAssertEqual(try command.run().out, dir.root + "\n")
    }

    /// A child that outlives its timeout is killed, with the shell it started.
    func testTimeoutKillsTheProcessGroup() throws {
        let dir = try TemporaryDirectory("timeout")
        var command = Command("/bin/sh", ["-c", "sleep 30 & echo $! > \(dir.path("pid")); wait"])
        command.timeout = 1
        let started = Date()
        let r = try command.run()
        XCTAssertTrue(r.timedOut)
        XCTAssertEqual(r.signal, SIGKILL)
        XCTAssertEqual(r.status, 128 + SIGKILL)
        XCTAssertLessThan(Date().timeIntervalSince(started), 10)
        let sleeper = try XCTUnwrap(pid_t(String(decoding: try dir.read("pid"), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)))
        // Gone, or a zombie waiting for init to reap it: not running.
        var state = "gone"
        for _ in 0..<50 {
            guard let stat = try? String(contentsOfFile: "/proc/\(sleeper)/stat", encoding: .utf8) else { state = "gone"; break }
            state = String(stat.split(separator: ")").last?.split(separator: " ").first ?? "?")
            if state == "Z" { break }
            usleep(100_000)
        }
        XCTAssertTrue(state == "gone" || state == "Z", "the grandchild was killed too (state \(state))")
    }

    func testStartSignalAndWait() throws {
        var command = Command("/bin/sh", ["-c", "echo ready; exec sleep 30"])
        command.timeout = 60
        let running = try command.start()
        let deadline = Date() + 10
        while !running.stdoutSoFar.starts(with: Data("ready".utf8)) && Date() < deadline { usleep(10_000) }
        XCTAssertTrue(running.isRunning)
        running.terminate()
        let r = running.wait(timeout: 10)
        XCTAssertFalse(running.isRunning)
        XCTAssertEqual(r.signal, SIGTERM, "\(r)")
        XCTAssertFalse(r.timedOut)
        XCTAssertEqual(r.out, "ready\n")
    }

    /// A standard input kept open: the child waits for each line until the test sends it, and
    /// reads end of file only when the test closes it.
    func testStdinKeptOpenIsAnsweredLineByLine() throws {
        var command = Command("/bin/sh", ["-c", "read a; echo \"got $a\"; read b; echo \"got $b\"; cat; echo eof"], stdin: Data("first\n".utf8))
        command.keepsStdinOpen = true
        command.timeout = 60
        let running = try command.start()
        let deadline = Date() + 10
        while !running.stdoutSoFar.starts(with: Data("got first\n".utf8)) && Date() < deadline { usleep(10_000) }
        usleep(200_000)
        XCTAssertTrue(running.isRunning, "the child still waits for its second line")
        XCTAssertEqual(String(decoding: running.stdoutSoFar, as: UTF8.self), "got first\n")
        XCTAssertTrue(running.send(Data("second\n".utf8)))
        running.closeStdin()
        XCTAssertFalse(running.send(Data("late\n".utf8)), "nothing is sent once closed")
        let r = running.wait(timeout: 10)
        XCTAssertEqual(r.exitCode, 0, "\(r)")
        XCTAssertEqual(r.out, "got first\ngot second\neof\n")
    }

    func testOutputToFileAndDiscard() throws {
        let dir = try TemporaryDirectory("outfile")
        var command = Command("/bin/sh", ["-c", "echo one; echo two >&2"])
        command.stdout = .file(dir.path("log"))
        command.stderr = .discard
        let r = try command.run()
        XCTAssertTrue(r.succeeded)
        XCTAssertTrue(r.stdout.isEmpty && r.stderr.isEmpty)
        XCTAssertEqual(String(decoding: try dir.read("log"), as: UTF8.self), "one\n")
    }

    /// Large outputs on both streams at once do not deadlock, and a large stdin arrives whole.
    func testLargeStreams() throws {
        let input = Data(repeating: 0x41, count: 3_000_000)
        let r = try Command("/bin/sh", ["-c", "tee /dev/stderr"], stdin: input).run()
        XCTAssertEqual(r.stdout.count, input.count)
        XCTAssertEqual(r.stderr.count, input.count)
    }

    func testMissingProgramsAreNamed() {
        XCTAssertThrowsError(try Command("no-such-tool-here").run()) { XCTAssertTrue("\($0)".contains("no-such-tool-here"), "\($0)") }
        XCTAssertThrowsError(try Products.locate("no-such-product")) { XCTAssertTrue("\($0)".contains("swift build"), "\($0)") }
    }

    func testProductsAreFound() throws {
        for name in ["zone", "ceremony", "virtual-card"] {
            let r = try Command.product(name, ["--help"]).run()
            XCTAssertTrue(r.succeeded, "\(r)")
            XCTAssertTrue(r.out.lowercased().contains("usage"), "\(name) --help: \(r.out)")
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: Products.source("Package.swift")))
    }
}
