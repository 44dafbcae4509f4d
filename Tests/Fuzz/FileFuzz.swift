import Foundation
import TriadCrypto
@testable import TriadFormat

/// Harness `file`: the encrypted-file header and its slots (docs/format.md §2–§4), then a full
/// decrypt with the zone key of the committed format vectors (Fixtures/format), so inputs
/// mutated from a vector reach slot unwrapping, the header MAC and the payload segments.
private let zoneKey = ZoneSlotKey(zoneID: Array(0x40..<0x50), epoch: 7,
                                  zoneKey: SecureBytes([UInt8](repeating: 0x5A, count: 32)))
private let devNull = open("/dev/null", O_WRONLY | O_CLOEXEC)

func fuzzFile(_ bytes: [UInt8]) {
    if let header = try? HeaderCodec.parse(bytes, path: "fuzz") {
        _ = try? EncryptedFile.validateKnownSlots(header, path: "fuzz")
        _ = try? EncryptedFile.geometry(payloadLength: bytes.count - header.encodedLength,
                                        layout: header.layout, path: "fuzz")
    }
    let path = FuzzInput.file(bytes)
    _ = try? EncryptedFile.readHeader(at: path)
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    _ = EncryptedFile.shape(fd: fd, fileSize: bytes.count)
    close(fd)
    _ = try? EncryptedFile.decrypt(OpenedFile.at(path), to: devNull, identities: [zoneKey])
}
