#if canImport(Glibc)
import Glibc
#endif
import DurableFile
import SystemPackage
import TriadCrypto
import TriadFormat

/// The drill canary (docs/recovery.md §6): an encrypted file whose only key slot is a
/// recovery slot, made in the key-generation ceremony. A drill recovers it *in memory*
/// and compares the SHA-256 of the plaintext with the one in the enrolment record, so
/// recovery is proven end to end without touching a zone file or writing plaintext.
public enum Canary {
    /// The canary's zone id: SHA-256("triad/canary")[0..<16], so it is never a real zone's.
    public static let zoneID = Array(SHA256.hash("triad/canary").prefix(16))

    /// Writes the encrypted canary at `path` (new file) and returns the plaintext SHA-256.
    /// The plaintext (a fixed text and 4 KiB of random bytes, nothing confidential) goes
    /// through a pipe, never to disk.
    public static func create(at path: String, recoveryCertificate: Certificate) throws -> EnrolmentRecord.Canary {
        var text = Array("Triad recovery canary. Recovering this file proves the escrow blob, the card and the PIN work together.\n".utf8)
        text += SecureRandom.bytes(count: 4096)
        let digest = SHA256.hash(text)
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw RecoveryError.io(path: path, reason: "pipe failed") }
        defer { close(fds[0]) }
        // The text fits the pipe buffer (64 KiB), so writing before reading cannot block.
        let written = text.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }
        close(fds[1])
        guard written == text.count else { throw RecoveryError.io(path: path, reason: "pipe write failed") }
        // A new file only, never torn (docs/format.md §7.1): the durable-write module's
        // temporary takes the name at the end, and only if it is free.
        do {
            let file = try StagedFile(path: FilePath(path), publication: .noReplace, finalMode: 0o644)
            try EncryptedFile.encrypt(readingFrom: fds[0], writingTo: file.fd, zoneID: zoneID,
                                      recipients: [RecoveryRecipient(certificate: recoveryCertificate)])
            try file.commit()
        } catch let error as DurableError {
            throw RecoveryError.io(path: path, reason: "cannot create the canary: \(error.reason)")
        }
        return EnrolmentRecord.Canary(file: FilePath(path).lastComponent?.string ?? path, plaintextSHA256: Hex.encode(digest))
    }

    /// Recovers the canary in memory and checks its digest. Returns true when it matches.
    public static func verify(at path: String, expectedSHA256: String, key: any PrivateKeyOperations,
                              recoveryCertificate: Certificate) throws -> Bool {
        let reader = try EncryptedFileReader(path: path, identities: [RecoveryIdentity(key: key, certificateFingerprint: recoveryCertificate.fingerprint)])
        let hasher = SHA256Hasher()
        var index: UInt64 = 0
        while index < reader.segmentCount {
            var seg = try reader.readSegment(index)
            hasher.update(seg)
            wipe(&seg)
            index += 1
        }
        return Hex.encode(hasher.finalize()) == expectedSHA256.lowercased()
    }
}
