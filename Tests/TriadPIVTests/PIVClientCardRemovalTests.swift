import Foundation
import XCTest
import TriadCrypto
import TriadPCSC
@testable import TriadPIV

/// Pulling the card (SIGKILL of `virtual-card run`) while key operations run: every
/// operation either returns the complete, correct result or fails with `.cardRemoved` —
/// never a hang (bounded by a timeout), a crash, or a partial or wrong result.
final class PIVClientCardRemovalTests: XCTestCase {
    final class Outcome: @unchecked Sendable {
        var successes = 0
        var wrong = 0
        var error: Error?
    }

    func testPullingTheCardMidOperationGivesACleanError() throws {
        for (round, delay) in [40_000, 120_000, 250_000].enumerated() {
            let card = try PIVTestCard()
            try card.provision(round == 1 ? .rsa2048 : .eccP256)
            let ops = try PIVKeyOperations(transport: try card.connect()) { _ in SecureBytes(Array("123456".utf8)) }
            let peer = try PrivateKey.generate(.ecP256)
            // Precompute what a correct result is, so a partial or corrupted one is caught.
            let fileKey = SecureBytes.random(count: 32)
            let label = Array("removal".utf8)
            let wrapped = try PublicKeyWrap.wrap(fileKey, to: ops.publicKey, label: label)
            let expectedZ = ops.algorithm == .eccP256 ? try peer.ecdh(with: ops.publicKey) : nil

            let outcome = Outcome()
            let done = expectation(description: "key operations stopped")
            let started = DispatchSemaphore(value: 0)
            Thread.detachNewThread {
                var first = true
                let deadline = Date().addingTimeInterval(30)
                while Date() < deadline {
                    do {
                        if let expectedZ {
                            if try ops.ecdh(with: peer.publicKey) == expectedZ { outcome.successes += 1 } else { outcome.wrong += 1 }
                        } else {
                            if try PublicKeyWrap.unwrap(wrapped, with: ops, label: label) == fileKey { outcome.successes += 1 } else { outcome.wrong += 1 }
                        }
                    } catch {
                        outcome.error = error
                        break
                    }
                    if first { first = false; started.signal() }
                }
                if first { started.signal() }
                done.fulfill()
            }
            XCTAssertEqual(started.wait(timeout: .now() + 30), .success)
            usleep(useconds_t(delay))
            card.remove(kill: true)
            wait(for: [done], timeout: 20)

            XCTAssertGreaterThan(outcome.successes, 0)
            XCTAssertEqual(outcome.wrong, 0, "a key operation returned a wrong result")
            guard let error = outcome.error else { XCTFail("the operations did not notice the removal"); continue }
            if case PIVError.cardRemoved = error {} else { XCTFail("round \(round): expected .cardRemoved, got \(error)") }
            XCTAssertTrue(String(describing: error).contains("removed"), "\(error)")
        }
    }
}
