import Foundation
import Synchronization
import TriadCrypto
import TriadFormat
import TriadZone
import XCTest

/// Delegated re-grant records (docs/zone.md §7): the recovery key signs once per run and zone,
/// each file's record is signed by the run's P-256 delegate, and a record vouches only for the
/// zone, file and holder it was made for. With a P-384 recovery key, as a hospital following
/// CNSA-style guidance would have, where a signature per file cost more than the rest of the
/// re-grant.
final class RegrantRecordTests: XCTestCase {
    let s = Scratch()
    let zoneID = Array(repeating: UInt8(0x21), count: 16)
    let otherZone = Array(repeating: UInt8(0x22), count: 16)
    lazy var recovery = PKI.make("recovery-p384", "p384")
    lazy var holder = PKI.make("holder-p256", "p256")
    lazy var recoveryCert = PKI.certificate(recovery.cert)
    lazy var holderCert = PKI.certificate(holder.cert)

    /// Counts the recovery key's signatures: the cost the delegation removes from every file.
    final class CountingKey: SigningKeyOperations, @unchecked Sendable {
        let key: PrivateKey
        let signatures = Atomic<Int>(0)
        init(_ key: PrivateKey) { self.key = key }
        var publicKey: PublicKey { key.publicKey }
        func sign(_ message: [UInt8], scheme: SignatureScheme) throws -> [UInt8] {
            signatures.add(1, ordering: .relaxed)
            return try key.sign(message, scheme: scheme)
        }
    }

    /// Files of `zone` with a recovery slot, each re-granted to the holder with `record(zone)`.
    func regranted(_ names: [String], zone: [UInt8], record: () throws -> RegrantRecord) throws -> [String] {
        try names.map { name in
            s.write(name, Array("record \(name)".utf8))
            try EncryptedFile.encrypt(OpenedFile.at(s.path(name)), zoneID: zone,
                                      recipients: [RecoveryRecipient(certificate: recoveryCert)]).commit()
            try EncryptedFile.rewrap(OpenedFile.at(s.path(name)), identities: [RecoveryIdentity(key: PKI.privateKey(recovery.key))],
                                     keep: { _ in true }, add: [RecoveryRecipient(certificate: holderCert), try record()]).commit()
            return s.path(name)
        }
    }

    func vouched(_ path: String) throws -> Bool {
        RegrantRecord.authorisedHolders(in: try EncryptedFile.readHeader(at: path), recoveryCertificates: [recoveryCert])
            .contains(holderCert.fingerprint)
    }

    func testOneRecoveryKeySignaturePerRunAndZoneAndEveryRecordVouches() throws {
        let key = CountingKey(PKI.privateKey(recovery.key))
        let records = RegrantRecords(holder: holderCert.fingerprint, recoveryCertificate: recoveryCert, recoveryKey: key)
        let here = try regranted((0..<20).map { "z1-\($0)" }, zone: zoneID) { try records.record(zoneID: zoneID) }
        let there = try regranted((0..<5).map { "z2-\($0)" }, zone: otherZone) { try records.record(zoneID: otherZone) }
        XCTAssertEqual(key.signatures.load(ordering: .relaxed), 2, "one delegation per zone, none per file")
        for path in here + there { XCTAssertTrue(try vouched(path), path) }
        // The holder opens each with their own key.
        let header = try EncryptedFile.readHeader(at: here[0])
        XCTAssertEqual(header.slots.filter { $0.type == RegrantRecord.slotType }.count, 1)
    }

    /// A record is bound to its file: copied into another file of the same zone and holder
    /// (someone who knows that file's key plants a slot and reuses a genuine record), it
    /// vouches for nothing there.
    func testARecordCopiedToAnotherFileVouchesForNothing() throws {
        let records = RegrantRecords(holder: holderCert.fingerprint, recoveryCertificate: recoveryCert,
                                     recoveryKey: PKI.privateKey(recovery.key))
        let genuine = try regranted(["a"], zone: zoneID) { try records.record(zoneID: zoneID) }[0]
        let record = try EncryptedFile.readHeader(at: genuine).slots.first { $0.type == RegrantRecord.slotType }!
        s.write("b", Array("record b".utf8))
        try EncryptedFile.encrypt(OpenedFile.at(s.path("b")), zoneID: zoneID,
                                  recipients: [RecoveryRecipient(certificate: recoveryCert)]).commit()
        try EncryptedFile.rewrap(OpenedFile.at(s.path("b")), identities: [RecoveryIdentity(key: PKI.privateKey(recovery.key))],
                                 keep: { _ in true }, add: [RecoveryRecipient(certificate: holderCert), Planted(slot: record)]).commit()
        XCTAssertTrue(try vouched(genuine))
        XCTAssertFalse(try vouched(s.path("b")), "the file signature names a's file id")
    }

    /// A delegation the recovery key made for another zone does not carry over: a file of this
    /// zone whose record uses it is not vouched for.
    func testADelegationForAnotherZoneVouchesForNothing() throws {
        let elsewhere = try RegrantRecord(zoneID: otherZone, holder: holderCert.fingerprint, recoveryCertificate: recoveryCert,
                                          recoveryKey: PKI.privateKey(recovery.key))
        let path = try regranted(["c"], zone: zoneID) { elsewhere }[0]
        XCTAssertFalse(try vouched(path))
    }

    /// A delegation signed by someone else (a revoked member with the file key, signing with
    /// his own key but naming the zone's recovery certificate) vouches for nothing.
    func testADelegationNotSignedByTheRecoveryKeyVouchesForNothing() throws {
        let mallory = PKI.make("mallory-p384", "p384")
        let forged = try RegrantRecord(zoneID: zoneID, holder: holderCert.fingerprint, recoveryCertificate: recoveryCert,
                                       recoveryKey: PKI.privateKey(mallory.key))
        let path = try regranted(["d"], zone: zoneID) { forged }[0]
        XCTAssertFalse(try vouched(path))
    }

    /// Files re-granted before delegation carry type 0x0102, one recovery-key signature over
    /// the file: still honoured, and still refused when the signature is not the recovery key's.
    func testEarlierDirectRecordsAreStillRead() throws {
        func direct(_ signer: PrivateKey) -> (String) throws -> KeySlot {
            { path in
                let header = try EncryptedFile.readHeader(at: path)
                let message = Array("triad/v1/regrant".utf8) + [0] + header.zoneID + header.fileID + self.holderCert.fingerprint + self.recoveryCert.fingerprint
                return KeySlot(type: RegrantRecord.directSlotType,
                               body: self.holderCert.fingerprint + self.recoveryCert.fingerprint + (try signer.sign(message)))
            }
        }
        for (name, signer, expected) in [("e", PKI.privateKey(recovery.key), true), ("f", PKI.privateKey(holder.key), false)] {
            s.write(name, Array("record \(name)".utf8))
            try EncryptedFile.encrypt(OpenedFile.at(s.path(name)), zoneID: zoneID,
                                      recipients: [RecoveryRecipient(certificate: recoveryCert)]).commit()
            let slot = try direct(signer)(s.path(name))
            try EncryptedFile.rewrap(OpenedFile.at(s.path(name)), identities: [RecoveryIdentity(key: PKI.privateKey(recovery.key))],
                                     keep: { _ in true }, add: [RecoveryRecipient(certificate: holderCert), Planted(slot: slot)]).commit()
            XCTAssertEqual(try vouched(s.path(name)), expected, name)
        }
    }

    /// A slot copied as it is (what an attacker with the file key can add).
    struct Planted: Recipient {
        let slot: KeySlot
        func wrap(_ fileKey: SecureBytes, fileID: [UInt8]) throws -> KeySlot { slot }
    }
}
