#if canImport(Glibc)
import Glibc
#endif
import Foundation
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
        let out = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard out >= 0 else {
            close(fds[0]); close(fds[1])
            throw RecoveryError.io(path: path, reason: "cannot create the canary: \(String(cString: strerror(errno)))")
        }
        // The text fits the pipe buffer (64 KiB), so writing before reading cannot block.
        let written = text.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }
        close(fds[1])
        defer { close(fds[0]); close(out) }
        guard written == text.count else { unlink(path); throw RecoveryError.io(path: path, reason: "pipe write failed") }
        do {
            try EncryptedFile.encrypt(readingFrom: fds[0], writingTo: out, zoneID: zoneID,
                                      recipients: [RecoveryRecipient(certificate: recoveryCertificate)])
            guard fsync(out) == 0 else { throw RecoveryError.io(path: path, reason: "fsync failed") }
        } catch {
            unlink(path)
            throw error
        }
        return EnrolmentRecord.Canary(file: (path as NSString).lastPathComponent, plaintextSHA256: Hex.encode(digest))
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
