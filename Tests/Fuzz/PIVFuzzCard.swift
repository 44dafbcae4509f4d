import Foundation
import ISO7816
import TriadCrypto
import TriadPCSC
@testable import VirtualPIV

/// The in-process card both PIV harnesses start from (docs/virtual-card.md): the project's
/// applet with keys in every slot and a certificate in 9D, made once per process.
enum FuzzCard {
    /// 9A P-256 (ECDH), 9C P-256 (signing), 9D RSA-2048 (raw RSA), 9E P-384; 9D's certificate.
    static let state: VirtualCardState = {
        var state = VirtualCardState.blank(serial: 999_000_123)
        func slot(_ algorithm: UInt8, _ key: KeyAlgorithm) -> VirtualCardState.SlotKey {
            let key = try! PrivateKey.generate(key)
            return VirtualCardState.SlotKey(algorithm: algorithm, pkcs8: try! key.pkcs8DER(), origin: 1)
        }
        state.keys[0x9A] = slot(0x11, .ecP256)
        state.keys[0x9C] = slot(0x11, .ecP256)
        state.keys[0x9D] = slot(0x07, .rsa(bits: 2048))
        state.keys[0x9E] = slot(0x14, .ecP384)
        let certificate = try! Certificate(pem: FuzzFixtures.text("escrow/card-p256.cert.pem")).der
        state.objects[0x5FC10B] = TLV(tag: 0x70, value: certificate).encoded + TLV(tag: 0x71, value: [0x00]).encoded
            + TLV(tag: 0xFE, value: []).encoded
        return state
    }()
}

/// Length-prefixed records (2 bytes, big-endian), the framing of both PIV harnesses' inputs:
/// a client input is operation numbers and the card's answers, an applet input is commands.
struct FuzzRecords {
    private let bytes: [UInt8]
    private(set) var offset = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isEmpty: Bool { offset >= bytes.count }

    mutating func byte() -> UInt8? {
        guard offset < bytes.count else { return nil }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func record() -> [UInt8]? {
        guard let hi = byte(), let lo = byte() else { return nil }
        let end = min(bytes.count, offset + (Int(hi) << 8 | Int(lo)))
        defer { offset = end }
        return Array(bytes[offset..<end])
    }

    static func encode(_ record: [UInt8]) -> [UInt8] {
        [UInt8(record.count >> 8), UInt8(record.count & 0xFF)] + record
    }
}
