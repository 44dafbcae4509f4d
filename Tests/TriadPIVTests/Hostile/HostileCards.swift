import ISO7816
import TriadCrypto
import TriadPCSC
@testable import TriadPIV
import VirtualPIV

/// The cards the hostile cases start from: applet snapshots (value types), provisioned once
/// through Triad's own client and copied for every case.
enum HostileCards {
    static let pin = SecureBytes(Array("123456".utf8))
    static let puk = SecureBytes(Array("12345678".utf8))
    static let aes128Key = SecureBytes([UInt8](repeating: 0x11, count: 16))
    static let aes256Key = SecureBytes([UInt8](repeating: 0x22, count: 32))

    /// A blank card: default PIN, PUK and 3DES management key, no keys.
    static let blank = VirtualPIVApplet(state: .blank(serial: 999_000_101))

    /// A blank card whose management key was changed to AES-128 / AES-256.
    static let aes128 = provisioned { client in try client.setManagementKey(aes128Key, algorithm: .aes128) }
    static let aes256 = provisioned { client in try client.setManagementKey(aes256Key, algorithm: .aes256) }

    /// Keys of one algorithm in 9C, 9D and 9E, each with a certificate from a software CA.
    static let p256 = withKeys(.eccP256)
    static let p384 = withKeys(.eccP384)
    static let rsa = withKeys(.rsa2048)

    static func card(for algorithm: PIVAlgorithm) -> VirtualPIVApplet {
        switch algorithm {
        case .eccP256: return p256
        case .eccP384: return p384
        case .rsa2048: return rsa
        }
    }

    static let issuer: (key: PrivateKey, certificate: Certificate) = {
        let key = try! PrivateKey.generate(.ecP256)
        return (key, try! Certificate.selfSigned(subject: "CN=hostile test CA", key: key, days: 30, keyUsage: "critical,keyCertSign"))
    }()

    static func withKeys(_ algorithm: PIVAlgorithm) -> VirtualPIVApplet {
        provisioned { client in
            for slot in [PIVSlot.signature, .keyManagement, .cardAuthentication] {
                let publicKey = try client.generateKeyPair(slot: slot, algorithm: algorithm)
                let certificate = try Certificate.issue(subject: "CN=hostile \(hex8(slot.rawValue))", publicKey: publicKey,
                                                        issuer: issuer.certificate, issuerKey: issuer.key, days: 30,
                                                        keyUsage: "critical,digitalSignature,keyAgreement")
                try client.writeCertificate(certificate, slot: slot)
            }
        }
    }

    /// A blank card after `change`, made with the default management key; volatile state
    /// (PIN verified, management key authenticated) cleared as by a reset.
    static func provisioned(_ change: (PIVClient) throws -> Void) -> VirtualPIVApplet {
        let card = HostileCard(applet: blank, isTarget: { _ in false }, behaviour: nil)
        let client = PIVClient(transport: card)
        do {
            try client.select()
            try client.authenticateManagementKey(SecureBytes(PIVIdentifiers.defaultManagementKey))
            try change(client)
        } catch {
            preconditionFailure("provisioning a hostile-test card failed: \(error)")
        }
        var applet = card.applet
        applet.reset()
        return applet
    }
}
