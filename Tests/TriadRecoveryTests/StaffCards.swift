import Foundation
import XCTest
import TriadCeremony
import TriadCrypto
import TriadPCSC
import TriadPIV
import TriadTestSupport

/// The four people who attest with their own PIV cards in the shipped recovery scripts
/// (`attest: card` on the witness and the three custodians, docs/ceremony.md §7
/// "Attestations"): one virtual card each in readers B and C (vpcd ports 35965–35968, see
/// docs/virtual-card.md "Readers"), its 9C key generated on the card and certified by a test
/// staff CA for digitalSignature. The IT custodian's card is provisioned with yubico-piv-tool,
/// as a site would; the others through Triad's PIV client. Their common names are the names
/// scripts/demo-answers gives each role, so the roll call finds each card by its holder's name.
///
/// Made once per test process, inserted on first use, taken out when the test class that used
/// them finishes (other classes — in this process, `swift test` runs every target in one — may
/// look for "any card" and must not find these), at exit, or by ``withdraw()``. Every card
/// keeps virtual-card's default PIN.
final class StaffCards {
    static let pin = "123456"
    /// role, common name, vpcd port.
    static let people: [(role: String, name: String, port: Int)] = [
        ("witness", "Wanda Witt", 35965), ("it", "Ivo Tech", 35966), ("management", "Mona Ger", 35967), ("medical", "Dr Meda Cal", 35968),
    ]
    /// What `--attest-pin-fd` reads: one line per signature, more than any shipped script asks.
    static var pinInput: Data { Data(String(repeating: pin + "\n", count: 400).utf8) }

    nonisolated(unsafe) private static var shared: StaffCards?
    private static let lock = NSLock()

    let folder: String
    let cards: [VirtualCard]
    /// The staff CA's certificate (PEM file), for `ceremony verify --trust`.
    var caPath: String { folder + "/staff-ca.pem" }

    /// The cards, inserted; made on the first call of this process.
    @discardableResult
    static func ensure() throws -> StaffCards {
        lock.lock(); defer { lock.unlock() }
        if let shared {
            for card in shared.cards { try card.insert() }
            return shared
        }
        let made = try StaffCards()
        shared = made
        XCTestObservationCenter.shared.addTestObserver(WithdrawAfterEachClass())
        atexit {
            StaffCards.shared?.cards.forEach { $0.remove() }
            if let folder = StaffCards.shared?.folder { try? FileManager.default.removeItem(atPath: folder) }
        }
        return made
    }

    /// Takes the cards out of their readers (a test that puts other cards there).
    static func withdraw() {
        lock.lock(); defer { lock.unlock() }
        shared?.cards.forEach { $0.remove() }
    }

    private init() throws {
        folder = NSTemporaryDirectory() + "triad-staff-cards-\(getpid())"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let caKey = try PrivateKey.generate(.ecP256)
        let ca = try Certificate.selfSigned(subject: "CN=Hospital Staff CA", key: caKey, days: 365, keyUsage: "critical,keyCertSign")
        try ca.pem.write(toFile: folder + "/staff-ca.pem", atomically: true, encoding: .utf8)
        var cards: [VirtualCard] = []
        for person in Self.people {
            let card = try VirtualCard(state: "\(folder)/\(person.role).card", port: person.port)
            try card.insert()
            if person.role == "it" {
                try Self.provisionWithYubicoPIVTool(card, name: person.name, ca: ca, caKey: caKey, folder: folder)
            } else {
                let client = PIVClient(transport: try CardReader.connect(matching: card.reader))
                _ = try client.select()
                try client.authenticateManagementKey(SecureBytes(PIVIdentifiers.defaultManagementKey))
                let key = try client.generateKeyPair(slot: .signature, algorithm: .eccP256)
                try client.writeCertificate(try Certificate.issue(subject: "CN=\(person.name)", publicKey: key, issuer: ca, issuerKey: caKey,
                                                                  days: 365, keyUsage: "critical,digitalSignature"), slot: .signature)
            }
            cards.append(card)
        }
        self.cards = cards
    }

    /// yubico-piv-tool generates the 9C key on the card (P-384) and imports the CA's certificate.
    private static func provisionWithYubicoPIVTool(_ card: VirtualCard, name: String, ca: Certificate, caKey: PrivateKey,
                                                   folder: String) throws {
        let pub = folder + "/it-9c.pub.pem", cert = folder + "/it-9c.pem"
        var r = runProcess("/usr/bin/env", ["yubico-piv-tool", "-r", card.reader, "-a", "generate", "-s", "9c", "-A", "ECCP384", "-o", pub])
        guard r.status == 0 else { throw StaffCardError(message: "yubico-piv-tool generate: \(r.stderr)") }
        let issued = try Certificate.issue(subject: "CN=\(name)", publicKey: try PublicKey(pem: String(contentsOfFile: pub, encoding: .utf8)),
                                           issuer: ca, issuerKey: caKey, days: 365, keyUsage: "critical,digitalSignature")
        try issued.pem.write(toFile: cert, atomically: true, encoding: .utf8)
        r = runProcess("/usr/bin/env", ["yubico-piv-tool", "-r", card.reader, "-a", "import-certificate", "-s", "9c", "-i", cert])
        guard r.status == 0 else { throw StaffCardError(message: "yubico-piv-tool import-certificate: \(r.stderr)") }
    }

    /// Signs `message` with the card whose 9C certificate has SHA-256 `fingerprint` (hex), as
    /// its holder would (PIN verified in the same transaction).
    func sign(fingerprint: String, _ message: [UInt8]) throws -> [UInt8] {
        for card in cards {
            let key = try PIVKeyOperations(transport: try card.connect(), slot: .signature, allowLastPinTry: false) { _ in
                SecureBytes(Array(Self.pin.utf8))
            }
            guard Hex.encode(key.certificate.fingerprint) == fingerprint, let scheme = Attestation.scheme(for: key.publicKey) else { continue }
            return try key.sign(message, scheme: scheme)
        }
        throw StaffCardError(message: "no staff card has the certificate \(fingerprint)")
    }

    /// Whether the shipped script `name` asks participants to attest with their cards.
    static func attests(_ scriptPath: String) -> Bool {
        ((try? String(contentsOfFile: scriptPath, encoding: .utf8)) ?? "").contains("attest: card")
    }

    /// Takes the cards out when a test class's suite ends.
    private final class WithdrawAfterEachClass: NSObject, XCTestObservation {
        func testSuiteDidFinish(_ testSuite: XCTestSuite) { StaffCards.withdraw() }
    }

    struct StaffCardError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}
