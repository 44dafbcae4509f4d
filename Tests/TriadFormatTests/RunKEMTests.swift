import Foundation
import Synchronization
import XCTest
import TriadCrypto
@testable import TriadFormat

/// A private key that counts its private-key operations: shows how many a run costs.
final class OperationCountingKey: PrivateKeyOperations, @unchecked Sendable {
    let inner: PrivateKey
    private let lock = NSLock()
    private var count = 0
    init(_ inner: PrivateKey) { self.inner = inner }
    var uses: Int { lock.withLock { count } }
    var publicKey: PublicKey { inner.publicKey }
    func ecdh(with peer: PublicKey) throws -> SecureBytes { lock.withLock { count += 1 }; return try inner.ecdh(with: peer) }
    func rsaRawPrivate(_ input: [UInt8]) throws -> SecureBytes { lock.withLock { count += 1 }; return try inner.rsaRawPrivate(input) }
}

/// The run-KEM recovery slot (docs/format.md §3.4): one encapsulation per run and certificate,
/// a key per file, one private-key operation per run to open, for every algorithm.
final class RunKEMTests: XCTestCase {
    func certificate(_ name: String) throws -> Certificate {
        try Certificate(pem: String(contentsOf: TestKeys.fixtures.appendingPathComponent("\(name).crt.pem"), encoding: .utf8))
    }

    func key(_ name: String) throws -> PrivateKey {
        try PrivateKey(pem: SecureBytes(Array(try String(contentsOf: TestKeys.fixtures.appendingPathComponent("\(name).key.pem"),
                                                                encoding: .utf8).utf8)))
    }

    /// Encrypts `count` small files with `recipients`; returns their paths and plaintexts.
    func files(_ count: Int, recipients: [any Recipient], in scratch: ScratchDirectory, prefix: String = "c") throws -> [(String, [UInt8])] {
        try (0..<count).map { index in
            let plain = SecureRandom.bytes(count: 100 + index)
            try writeFile(scratch.file("p"), plain)
            let path = scratch.file("\(prefix)\(index)")
            try EncryptedFile.encrypt(OpenedFile.at(scratch.file("p")), to: FileLocation.at(path), zoneID: TestKeys.zoneID, recipients: recipients).commit()
            return (path, plain)
        }
    }

    func kemSlot(_ path: String) throws -> RecoverySlotInfo {
        let slot = try XCTUnwrap(try EncryptedFile.readHeader(at: path).slots.first { $0.type == SlotType.recoveryKEM })
        return try RecoverySlotInfo(slot: slot)
    }

    func testOneRunSharesOneEncapsulationAndOneUnwrapPerRunForEveryAlgorithm() throws {
        for name in ["recovery", "recovery-p384", "recovery-rsa"] {
            let scratch = ScratchDirectory()
            let run = RecoveryRecipient(certificate: try certificate(name))
            let written = try files(6, recipients: [run], in: scratch)
            let slots = try written.map { try kemSlot($0.0) }
            guard case let .runKEM(kem, ciphertext, _, _) = slots[0].wrap else { return XCTFail("\(name): not a run-KEM slot") }
            XCTAssertEqual(kem, RecoveryKEM(algorithm: try key(name).publicKey.algorithm), name)
            var nonces = Set<[UInt8]>(), sealed = Set<[UInt8]>()
            for slot in slots {
                guard case let .runKEM(k, c, n, s) = slot.wrap else { return XCTFail(name) }
                XCTAssertEqual(k, kem, name)
                XCTAssertEqual(c, ciphertext, "\(name): every file of the run carries the run's KEM ciphertext")
                nonces.insert(n); sealed.insert(s)
            }
            XCTAssertEqual(nonces.count, 6, "\(name): a fresh nonce per file")
            XCTAssertEqual(sealed.count, 6, name)
            // A second run encapsulates afresh.
            let other = try files(1, recipients: [RecoveryRecipient(certificate: try certificate(name))], in: scratch, prefix: "o")
            guard case let .runKEM(_, otherCiphertext, _, _) = try kemSlot(other[0].0).wrap else { return XCTFail(name) }
            XCTAssertNotEqual(otherCiphertext, ciphertext, name)

            // One private-key operation per distinct KEM ciphertext, whatever the number of files.
            let counting = OperationCountingKey(try key(name))
            let identity = RecoveryIdentity(key: counting, certificateFingerprint: try certificate(name).fingerprint)
            for (path, plain) in written + other {
                try EncryptedFile.decrypt(OpenedFile.at(path), to: FileLocation.at(scratch.file("d")), identities: [identity]).commit()
                XCTAssertEqual(try readFile(scratch.file("d")), plain, name)
            }
            XCTAssertEqual(counting.uses, 2, "\(name): 7 files of 2 runs cost 2 private-key operations")
            XCTAssertEqual(identity.cachedSecrets, 2, name)
        }
    }

    func testTheCacheIsBounded() throws {
        let scratch = ScratchDirectory()
        let cert = try TestKeys.recoveryCertificate()
        let count = KEMSecretCache.capacity + 4
        var written: [(String, [UInt8])] = []
        for run in 0..<count {
            written += try files(1, recipients: [RecoveryRecipient(certificate: cert)], in: scratch, prefix: "r\(run)-")
        }
        let counting = OperationCountingKey(try TestKeys.recoveryKey())
        let identity = RecoveryIdentity(key: counting)
        for (path, _) in written {
            try EncryptedFile.decrypt(OpenedFile.at(path), to: FileLocation.at(scratch.file("d")), identities: [identity]).commit()
        }
        XCTAssertEqual(identity.cachedSecrets, KEMSecretCache.capacity)
        XCTAssertEqual(counting.uses, count)
        // The first run was evicted: opening it again costs an operation; the newest does not.
        try EncryptedFile.decrypt(OpenedFile.at(written.last!.0), to: FileLocation.at(scratch.file("d")), identities: [identity]).commit()
        XCTAssertEqual(counting.uses, count)
        try EncryptedFile.decrypt(OpenedFile.at(written[0].0), to: FileLocation.at(scratch.file("d")), identities: [identity]).commit()
        XCTAssertEqual(counting.uses, count + 1)
    }

    /// The old layout (type 0x0002) still opens, beside a run-KEM slot and alone.
    func testPerFileSlotsStillOpen() throws {
        let scratch = ScratchDirectory()
        for name in ["recovery", "recovery-rsa"] {
            let written = try files(2, recipients: [PerFileRecoveryRecipient(certificate: try certificate(name))], in: scratch)
            for (path, plain) in written {
                XCTAssertEqual(try EncryptedFile.readHeader(at: path).slots.map(\.type), [SlotType.recovery])
                try EncryptedFile.decrypt(OpenedFile.at(path), to: FileLocation.at(scratch.file("d")),
                                          identities: [RecoveryIdentity(key: try key(name), certificateFingerprint: try certificate(name).fingerprint)]).commit()
                XCTAssertEqual(try readFile(scratch.file("d")), plain)
            }
        }
    }

    /// Workers share one recipient: still exactly one encapsulation for the run.
    func testConcurrentWrapsShareOneEncapsulation() throws {
        let run = RecoveryRecipient(certificate: try certificate("recovery-p384"))
        let slots = Mutex<[KeySlot]>([])
        DispatchQueue.concurrentPerform(iterations: 16) { _ in
            let slot = try! run.wrap(SecureBytes.random(count: 32), fileID: SecureRandom.bytes(count: 32))
            slots.withLock { $0.append(slot) }
        }
        let ciphertexts = Set(try slots.withLock { $0 }.map { slot -> [UInt8] in
            guard case let .runKEM(_, c, _, _) = try RecoverySlotInfo(slot: slot).wrap else { return [] }
            return c
        })
        XCTAssertEqual(ciphertexts.count, 1)
    }
}
