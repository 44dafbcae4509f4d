import Foundation
import XCTest
import TriadCrypto
import TriadTestSupport
import TriadFormat
@testable import TriadZone

/// A crash leaves either the old file or the complete new one, never a torn one (docs/format.md
/// §7.1, §7.4).
/// `zone encrypt` is SIGKILLed at a random moment over a tree, 50 times; after each kill every
/// file is its original plaintext or a complete encrypted file that decrypts to it, and
/// re-running finishes the job.
final class KillTests: XCTestCase {
    func testFiftySIGKILLsDuringEncrypt() throws {
        let s = Scratch()
        let officer = PKI.make("officer-p256", "p256"), recovery = PKI.make("recovery-rsa2048", "rsa2048")
        var rng = SeededGenerator(seed: 50)
        var originals: [String: [UInt8]] = [:]
        for i in 0..<48 {
            let size = [0, 1, 65535, 65536, 65537, 300_000, 1_500_000][i % 7] + (i / 7) * 4099
            let p = "z/d\(i % 3)/file\(i)"
            originals[p] = rng.bytes(size)
            s.write(p, originals[p]!)
        }
        let z = s.path("z")
        XCTAssertEqual(s.zone("init", z, "--officer-cert", officer.cert, "--identity", "file:" + officer.key,
                              "--recovery-cert", recovery.cert).status, 0)
        let zone = try Zone.open(root: z, context: s.context)
        let access = try ZoneAccess(zone: zone, key: PKI.privateKey(officer.key), identityName: "officer")

        // How long an uninterrupted run takes, so kills land anywhere inside it.
        var start = Date()
        XCTAssertEqual(s.zone("encrypt", z, "--identity", "file:" + officer.key).status, 0)
        let fullRun = Date().timeIntervalSince(start)
        try decryptAll(originals.keys, s, access)

        var temporariesLeft = 0
        var window = KillWindow(fullRun: fullRun)
        for iteration in 0..<50 {
            // Small batches (format §7.4), so the 48 files are made durable in several rounds
            // and kills land between batches as well as inside one. Batches of 4 are fsynced
            // file by file, batches of 16 go through one syncfs: both ways are killed.
            let batch = iteration % 2 == 0 ? "4" : "16"
            let delay = window.nextDelay(&rng)
            start = Date()
            let p = try s.startZone(["encrypt", z, "--identity", "file:" + officer.key, "--batch-files", batch])
            usleep(useconds_t(delay * 1_000_000))
            p.kill(SIGKILL)
            p.wait()

            var encrypted = 0
            for (path, original) in originals {
                let full = s.path(path)
                if EncryptedFile.isEncrypted(at: full) {
                    encrypted += 1
                    let out = s.path("check")
                    XCTAssertNoThrow(try EncryptedFile.decrypt(OpenedFile.at(full), to: FileLocation.at(out), identities: access.identities).commit(),
                                     "iteration \(iteration): \(path) is encrypted but does not decrypt")
                    XCTAssertTrue(s.read("check") == original, "iteration \(iteration): \(path) decrypts to something else")
                } else {
                    XCTAssertTrue(s.read(path) == original, "iteration \(iteration): \(path) is neither plaintext nor encrypted")
                }
            }
            window.record(done: encrypted, of: originals.count, after: delay)
            let listing = try ZoneTree.list([z])
            XCTAssertEqual(Set(listing.paths), Set(originals.keys.map { s.path($0) }), "iteration \(iteration): no stray files")
            temporariesLeft += listing.temporaries.count

            // Re-running finishes; the killed run's temporary (if any) is the only leftover.
            let r = s.zone("encrypt", z, "--identity", "file:" + officer.key)
            XCTAssertEqual(r.status, 0, "iteration \(iteration): \(r.stderr)")
            for path in originals.keys { XCTAssertTrue(EncryptedFile.isEncrypted(at: s.path(path)), path) }
            // A leftover temporary holds ciphertext being written, never plaintext.
            let magic = Array(s.read(originals.keys.first!).prefix(4))
            for t in try ZoneTree.list([z]).temporaries {
                let head = Array((FileManager.default.contents(atPath: t) ?? Data()).prefix(4))
                XCTAssertEqual(head, Array(magic.prefix(head.count)), "iteration \(iteration): \(t) is not ciphertext")
                unlink(t)
            }
            try decryptAll(originals.keys, s, access)
        }
        print("kill test: \(window.summary), \(temporariesLeft) temporary files left by killed runs")
        XCTAssertGreaterThanOrEqual(window.midway, 5, "kills should often land mid-tree: \(window.summary)")
    }

    /// `zone rekey --reencrypt` after a revocation, SIGKILLed 20 times inside a window that
    /// adapts to the machine: every file stays readable by the remaining member, a re-run
    /// finishes the job, and at least 5 kills land mid-run (some files re-encrypted, some not).
    func testSIGKILLsDuringRekeyReencrypt() throws {
        let s = Scratch()
        let officer = PKI.make("officer-p256", "p256"), bob = PKI.make("bob-p384", "p384")
        let recovery = PKI.make("recovery-rsa2048", "rsa2048")
        var rng = SeededGenerator(seed: 15)
        var originals: [String: [UInt8]] = [:]
        for i in 0..<48 {
            let p = "z/d\(i % 2)/f\(i)"
            originals[p] = rng.bytes([0, 1, 65536, 65537, 400_000, 1_200_000][i % 6])
            s.write(p, originals[p]!)
        }
        let z = s.path("z")
        XCTAssertEqual(s.zone("init", z, "--officer-cert", officer.cert, "--identity", "file:" + officer.key,
                              "--recovery-cert", recovery.cert).status, 0)
        XCTAssertEqual(s.zone("encrypt", z, "--identity", "file:" + officer.key).status, 0)
        // One revocation; every iteration starts again from the files as they were right after
        // it (so each run has the same work and the same start-up: the policy does not grow).
        XCTAssertEqual(s.zone("grant", z, "--cert", bob.cert, "--identity", "file:" + officer.key).status, 0)
        XCTAssertEqual(s.zone("revoke", z, "--cert", bob.cert, "--identity", "file:" + officer.key).status, 0)
        var afterRevocation: [String: [UInt8]] = [:]
        for path in originals.keys { afterRevocation[path] = s.read(path) }
        func restore() {
            for (path, bytes) in afterRevocation { s.write(path, bytes) }
        }
        let access = try ZoneAccess(zone: Zone.open(root: z, context: s.context), key: PKI.privateKey(officer.key), identityName: "officer")
        let epoch = access.zone.policy.currentEpoch
        let rekey = ["rekey", z, "--reencrypt", "--identity", "file:" + officer.key, "--batch-files", "3"]

        // How long an uninterrupted run takes, so kills land anywhere inside it.
        let start = Date()
        XCTAssertEqual(s.zone(rekey).status, 0)
        var window = KillWindow(fullRun: Date().timeIntervalSince(start))

        for iteration in 0..<20 {
            restore()
            let delay = window.nextDelay(&rng)
            let p = try s.startZone(rekey)
            usleep(useconds_t(delay * 1_000_000))
            p.kill(SIGKILL)
            p.wait()
            let done = try originals.keys.filter { (KeyOriginMarker.claim(in: try EncryptedFile.readHeader(at: s.path($0)).slots)?.epoch ?? 0) == epoch }.count
            window.record(done: done, of: originals.count, after: delay)
            for (path, original) in originals {
                XCTAssertNoThrow(try EncryptedFile.decrypt(OpenedFile.at(s.path(path)), to: FileLocation.at(s.path("check")), identities: access.identities).commit(),
                                 "iteration \(iteration): \(path)")
                XCTAssertTrue(s.read("check") == original, "iteration \(iteration): \(path) decrypts to something else")
            }
            let r = s.zone("rekey", z, "--reencrypt", "--identity", "file:" + officer.key)
            XCTAssertEqual(r.status, 0, r.stderr)
            let files = s.files("z")
            XCTAssertEqual(files["stale_key_origin"], 0, "iteration \(iteration)")
            XCTAssertEqual(files["stale_epoch"], 0, "iteration \(iteration)")
            XCTAssertEqual(files["encrypted"], originals.count)
            for t in try ZoneTree.list([z]).temporaries { unlink(t) }
        }
        print("rekey kill test: \(window.summary)")
        XCTAssertGreaterThanOrEqual(window.midway, 5, "kills should often land mid-run: \(window.summary)")
    }

    /// Ctrl-C or SIGTERM during `zone encrypt`: no file is started after the signal, the files
    /// in hand finish, every finished file is made durable and renamed (no temporary is left),
    /// the command exits 1 saying it was interrupted, and a re-run encrypts exactly the rest.
    func testSIGTERMStopsAfterTheFilesInHand() throws {
        let s = Scratch()
        let officer = PKI.make("officer-p256", "p256"), recovery = PKI.make("recovery-p256", "p256")
        var rng = SeededGenerator(seed: 99)
        var originals: [String: [UInt8]] = [:]
        for i in 0..<600 {
            let p = "z/d\(i % 6)/f\(i)"
            originals[p] = rng.bytes(65_536 + i)
            s.write(p, originals[p]!)
        }
        let z = s.path("z")
        XCTAssertEqual(s.zone("init", z, "--officer-cert", officer.cert, "--identity", "file:" + officer.key,
                              "--recovery-cert", recovery.cert).status, 0)
        let p = try s.startZone(["encrypt", z, "--identity", "file:" + officer.key], stderr: .capture)
        // Signal once the first batch is in place, so the run is under way.
        let deadline = Date().addingTimeInterval(120)
        while p.isRunning && Date() < deadline && !originals.keys.contains(where: { EncryptedFile.isEncrypted(at: s.path($0)) }) {
            usleep(1_000)
        }
        p.kill(SIGTERM)
        let result = p.wait()
        XCTAssertNil(result.signal, "the signal is handled, not fatal")
        XCTAssertEqual(result.exitCode, 1)
        XCTAssertTrue(result.err.contains("interrupted"), result.err)
        let access = try ZoneAccess(zone: Zone.open(root: z, context: s.context), key: PKI.privateKey(officer.key), identityName: "officer")
        var encrypted = 0
        for (path, original) in originals {
            if EncryptedFile.isEncrypted(at: s.path(path)) {
                encrypted += 1
                XCTAssertNoThrow(try EncryptedFile.decrypt(OpenedFile.at(s.path(path)), to: FileLocation.at(s.path("check")), identities: access.identities).commit())
                XCTAssertTrue(s.read("check") == original, path)
            } else {
                XCTAssertTrue(s.read(path) == original, path)
            }
        }
        XCTAssertGreaterThan(encrypted, 0)
        XCTAssertLessThan(encrypted, originals.count, "the signal landed mid-run")
        XCTAssertEqual(try ZoneTree.list([z]).temporaries, [], "every finished file was committed, nothing left half-way")
        let r = s.zone("encrypt", z, "--identity", "file:" + officer.key)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.out.contains("encrypted \(originals.count - encrypted) file(s); \(encrypted) already encrypted"), r.out)
    }

    private func decryptAll(_ paths: Dictionary<String, [UInt8]>.Keys, _ s: Scratch, _ access: ZoneAccess) throws {
        for p in paths where EncryptedFile.isEncrypted(at: s.path(p)) {
            try EncryptedFile.decrypt(OpenedFile.at(s.path(p)), identities: access.identities).commit()
        }
    }
}

/// When to kill a run so kills land inside it on any machine (CI shares two cores): the
/// window starts as an uninterrupted run's duration and narrows like a bisection — a kill that
/// found nothing done raises its lower end, one that found everything done lowers its upper
/// end — and when it closes it moves on past that kill, so it follows a machine whose runs
/// became slower or faster than the one measured.
/// `midway` counts kills that found the work partly done: what a crash test must show it
/// exercised.
struct KillWindow {
    let fullRun: TimeInterval
    private(set) var low: TimeInterval = 0
    private(set) var high: TimeInterval
    private(set) var before = 0, midway = 0, after = 0

    init(fullRun: TimeInterval) {
        self.fullRun = fullRun
        high = fullRun * 1.05
    }

    func nextDelay(_ rng: inout SeededGenerator) -> TimeInterval {
        low + (high - low) * Double(rng.next() % 1001) / 1000
    }

    mutating func record(done: Int, of total: Int, after delay: TimeInterval) {
        // When the window closes it is pushed past the kill that closed it: runs under load
        // take longer than the uninterrupted one measured at the start, or shorter when idle.
        let least = fullRun / 10
        if done == 0 {
            before += 1
            low = max(low, delay)
            if high - low < least { high = low + 3 * least }
        } else if done == total {
            after += 1
            high = min(high, delay)
            if high - low < least { low = max(0, high - 3 * least) }
        } else {
            midway += 1
        }
    }

    var summary: String {
        "\(before + midway + after) SIGKILLs: \(midway) mid-run, \(before) before any file was done, \(after) after all were; full run \(Int(fullRun * 1000)) ms, window \(Int(low * 1000))–\(Int(high * 1000)) ms"
    }
}
