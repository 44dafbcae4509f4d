import Foundation
import XCTest
@testable import TriadCeremony
import TriadCrypto
import TriadJournal
import TriadPCSC
import TriadPIV
import TriadTestSupport

/// docs/ceremony.md §7 "Attestations": participants declared `attest: card` sign the roll call,
/// every act end and the terminal entry with their own PIV cards (slot 9C). Fixtures/ceremony/
/// attest-test.yaml: the witness's card has its 9C key generated on the card by the PIV client
/// and certified by a test CA (P-256); the IT custodian's card is provisioned with
/// yubico-piv-tool (generate 9C, import the CA-issued certificate; P-384). Both cards stay in
/// the two vpcd readers for the whole class.
final class AttestationTests: XCTestCase {
    static let script = repositoryRoot + "/Fixtures/ceremony/attest-test.yaml"
    static let pin = "123456"
    nonisolated(unsafe) static var world: World!
    nonisolated(unsafe) static var cards: [VirtualCard] = []
    nonisolated(unsafe) static var caKey: PrivateKey!
    nonisolated(unsafe) static var ca: Certificate!

    override class func setUp() {
        super.setUp()
        // The shipped scripts' staff cards would be found in readers B and C by these roll calls.
        StaffCards.withdraw()
        do {
            world = World("attest")
            caKey = try PrivateKey.generate(.ecP256)
            ca = try Certificate.selfSigned(subject: "CN=Hospital Staff CA", key: caKey, days: 365, keyUsage: "critical,keyCertSign")
            try ca.pem.write(toFile: world.path("ca.pem"), atomically: true, encoding: .utf8)
            let wrongKey = try PrivateKey.generate(.ecP256)
            try Certificate.selfSigned(subject: "CN=Hospital Staff CA", key: wrongKey, days: 365, keyUsage: "critical,keyCertSign").pem
                .write(toFile: world.path("wrong-ca.pem"), atomically: true, encoding: .utf8)
            let witness = try VirtualCard(state: world.path("witness.card"), port: 35963)
            let it = try VirtualCard(state: world.path("it.card"), port: 35964)
            try witness.insert(); try it.insert()
            cards = [witness, it]
            // The witness's card: 9C generated on the card through the PIV client.
            let client = PIVClient(transport: try CardReader.connect(matching: witness.reader))
            _ = try client.select()
            try client.authenticateManagementKey(SecureBytes(PIVIdentifiers.defaultManagementKey))
            let key = try client.generateKeyPair(slot: .signature, algorithm: .eccP256)
            try client.writeCertificate(try Certificate.issue(subject: "CN=Wanda Witt", publicKey: key, issuer: ca, issuerKey: caKey, days: 365,
                                                              keyUsage: "critical,digitalSignature"), slot: .signature)
            // The IT custodian's card: provisioned with yubico-piv-tool.
            let pub = world.path("it-9c.pub.pem")
            var r = runProcess("/usr/bin/env", ["yubico-piv-tool", "-r", it.reader, "-a", "generate", "-s", "9c", "-A", "ECCP384", "-o", pub])
            guard r.status == 0 else { throw CLIError(r.stderr) }
            let cert = try Certificate.issue(subject: "CN=Ivan Ito", publicKey: try PublicKey(pem: String(contentsOfFile: pub, encoding: .utf8)),
                                             issuer: ca, issuerKey: caKey, days: 365, keyUsage: "critical,digitalSignature")
            try cert.pem.write(toFile: world.path("it-9c.pem"), atomically: true, encoding: .utf8)
            r = runProcess("/usr/bin/env", ["yubico-piv-tool", "-r", it.reader, "-a", "import-certificate", "-s", "9c", "-i", world.path("it-9c.pem")])
            guard r.status == 0 else { throw CLIError(r.stderr) }
        } catch {
            XCTFail("attestor cards: \(error)")
        }
    }

    override class func tearDown() {
        for card in cards { card.remove() }
        cards = []
        world = nil
        super.tearDown()
    }

    struct CLIError: Error { var message: String; init(_ m: String) { message = m } }

    static let answers = """
        roll-call:
          admin: {name: Alice Adler, id: A-1}
          witness: {name: Wanda Witt, id: W-2}
          it: {name: Ivan Ito, id: I-3}
          confirm.witness: "yes"
        check: {answer: "yes", confirm.witness: "yes"}
        sign-off: {answer: "yes", confirm.admin: "yes"}
        """

    /// An unattended run of attest-test: 2 PINs at the roll call, 2 at each of 3 act ends and CLOSED.
    func run(_ name: String, pins: [String] = Array(repeating: AttestationTests.pin, count: 10)) throws -> (Run, String) {
        let w = Self.world!
        let out = w.path(name)
        w.mkdir(name)
        try Self.answers.write(toFile: out + "/answers.yaml", atomically: true, encoding: .utf8)
        let r = runProcess(product("ceremony"), ["run", Self.script, "--practice", "--journal", w.journal, "--answers", out + "/answers.yaml",
                                                 "--pin-fd", "0", "--output", out], input: pins.map { $0 + "\n" }.joined(), environment: w.environment)
        return (r, out)
    }

    func entries(_ path: String) throws -> [JournalEntry] {
        try Transcript.lines(String(contentsOfFile: path, encoding: .utf8)).map { try JournalEntry(parsing: CanonicalValue.parse($0)) }
    }

    func testGenuineAttestedCeremonyVerifiesWithBothVerifiersAndChainsToTheCA() throws {
        let (r, out) = try run("genuine")
        XCTAssertEqual(r.status, 0, String(r.stdout.suffix(1500)) + r.stderr)
        let t = try XCTUnwrap(transcripts(in: out).last)
        let all = try entries(t)
        let records = all.filter(AttestationCheck.isRollCallRecord)
        XCTAssertEqual(records.map(\.role), ["witness", "it"])
        XCTAssertEqual(try AttestationCheck.parseRecord(records[1]).certificate.publicKey.algorithm, .ecP384, "the yubico-piv-tool card")
        for e in all where Seal.isSealed(e.event) {
            XCTAssertEqual(e.payload[Attestation.field]?.arrayValue?.compactMap { $0["role"]?.stringValue }, ["it", "witness"], "entry \(e.seq)")
        }
        // The summary names, for every act end and the terminal entry, whose card signed it.
        let summary = try String(contentsOfFile: t.replacingOccurrences(of: ".jsonl", with: "-summary.txt"), encoding: .utf8)
        let fingerprint = try AttestationCheck.parseRecord(records[0]).fingerprint
        XCTAssertTrue(summary.contains("roll call: Wanda Witt (W-2) Witness — card certificate SHA-256 \(fingerprint)"), summary)
        XCTAssertTrue(summary.contains("(CLOSED): signed by Ivan Ito (I-3) IT custodian ("), summary)
        XCTAssertTrue(summary.contains("--trust CA.pem"), summary)
        let (swift, python) = verifyBoth(t)
        XCTAssertEqual(swift.status, 0, swift.stderr)
        XCTAssertTrue(swift.stdout.contains("NOT checked against a CA"), swift.stdout)
        XCTAssertEqual(python.status, 0, python.stderr)
        XCTAssertTrue(python.stdout.contains("NOT checked against a CA"), python.stdout)
        let trusted = verifyBoth(t, ["--trust", Self.world.path("ca.pem")])
        XCTAssertEqual(trusted.swift.status, 0, trusted.swift.stderr)
        XCTAssertTrue(trusted.swift.stdout.contains("trusted: role it: certificate issued by CN=Hospital Staff CA"), trusted.swift.stdout)
        XCTAssertEqual(trusted.python.status, 0, trusted.python.stderr)
        let wrong = verifyBoth(t, ["--trust", Self.world.path("wrong-ca.pem")])
        for v in [wrong.swift, wrong.python] {
            XCTAssertEqual(v.status, 1, v.stdout)
            XCTAssertTrue(v.stderr.contains("entry \(records[0].seq): the certificate of role witness"), v.stderr)
            XCTAssertTrue(v.stderr.contains("not issued by any --trust CA certificate"), v.stderr)
        }
    }

    /// Forgeries of someone without the cards, refused by both verifiers with no words from the room.
    func testRechainedAndCutForgeriesAreRefusedWithoutAnchorWords() throws {
        let (r, out) = try run("forged")
        XCTAssertEqual(r.status, 0, String(r.stdout.suffix(1500)))
        let genuine = try entries(try XCTUnwrap(transcripts(in: out).last))
        let rollCall = try XCTUnwrap(genuine.first(where: AttestationCheck.isRollCallRecord)).seq
        // An entry of act 2 edited, the chain recomputed from BEGIN and every act end re-signed
        // with a new ceremony key: the participants' roll-call signatures cover BEGIN's hash.
        var edited = genuine
        let answer = try XCTUnwrap(edited.firstIndex { $0.step == "check" && $0.event == EventType.stepDone })
        edited[answer].payload = .object((edited[answer].payload.objectValue ?? [:]).merging(["result": ["answer": "no"]]) { $1 })
        // A cut tail closed with a forged ABORTED: unsigned (the ceremony key is gone), or
        // with the whole transcript re-signed by a key of the forger's.
        let end1 = try XCTUnwrap(genuine.firstIndex { $0.event == EventType.actEnd })
        var cut = Array(genuine[...end1])
        cut.append(JournalEntry(ceremony: cut[0].ceremony, seq: cut.last!.seq + 1, time: cut.last!.time, act: "", step: "", role: "",
                                event: EventType.aborted, payload: ["reason": "interrupted", "at_step": ""], prevHash: cut.last!.hash))
        let unsignedCut = out + "/cut-unsigned.jsonl"
        try Transcript.text(cut).write(toFile: unsignedCut, atomically: false, encoding: .utf8)
        var closed = Array(genuine[...end1])
        closed.append(JournalEntry(ceremony: closed[0].ceremony, seq: closed.last!.seq + 1, time: closed.last!.time, act: "", step: "", role: "",
                                   event: EventType.closed, payload: ["steps_completed": 3, "steps_skipped": 0, "exceptions": 0],
                                   prevHash: closed.last!.hash))
        let cases: [(String, String, Int64, String)] = [
            ("edited", try resealed(edited, to: out + "/edited.jsonl"), rollCall, "roll-call signature of role witness does not verify"),
            ("cut, forged ABORTED", unsignedCut, cut.last!.seq, "not written by the ceremony"),
            ("cut, re-signed ABORTED", try resealed(cut, to: out + "/cut-resealed.jsonl"), rollCall, "roll-call signature"),
            ("cut, re-signed CLOSED", try resealed(closed, to: out + "/closed-resealed.jsonl"), rollCall, "roll-call signature"),
        ]
        for (name, path, entry, message) in cases {
            let (swift, python) = verifyBoth(path)
            XCTAssertEqual(swift.status, 1, "\(name): \(swift.stdout)")
            XCTAssertEqual(python.status, 1, "\(name): \(python.stdout)")
            XCTAssertTrue(python.stderr.contains("entry \(entry):"), "\(name): \(python.stderr)")
            // The full verifier replays the script first: a CLOSED after act 1 fails there.
            if name.contains("CLOSED") { continue }
            XCTAssertTrue(swift.stderr.contains("entry \(entry): "), "\(name): \(swift.stderr)")
            XCTAssertTrue(swift.stderr.contains(message), "\(name): \(swift.stderr)")
        }
    }

    /// With the ceremony key in hand (a compromised laptop during the ceremony), and software
    /// keys standing in for cards, each attestation defect is refused at its entry by both.
    func testAttestationDefectsAreRefusedByBothVerifiers() throws {
        let (r, out) = try run("defects")
        XCTAssertEqual(r.status, 0, String(r.stdout.suffix(1500)))
        let genuine = try entries(try XCTUnwrap(transcripts(in: out).last))
        let software = try ["witness": softwareCard("Witness Stand-in", .ecP256), "it": softwareCard("IT Stand-in", .rsa(bits: 2048))]
        let stranger = try softwareCard("Stranger", .ecP256)
        let key = try CeremonyKey()
        let control = try reattested(genuine, to: out + "/control.jsonl", key: key, cards: software)
        XCTAssertEqual(verifyBoth(control).swift.status, 0, verifyBoth(control).swift.stderr)
        XCTAssertEqual(verifyBoth(control).python.status, 0, verifyBoth(control).python.stderr)
        // Such a rewrite is caught by --trust: the stand-ins' certificates are not the CA's.
        let trust = verifyBoth(control, ["--trust", Self.world.path("ca.pem")])
        XCTAssertEqual(trust.swift.status, 1); XCTAssertEqual(trust.python.status, 1)

        let act2 = try XCTUnwrap(genuine.filter { $0.event == EventType.actEnd }.dropFirst().first).seq
        let other = try reattested(genuine, to: out + "/other-ceremony.jsonl", key: try CeremonyKey(), cards: software)
        let copied = try XCTUnwrap(try entries(other).first { $0.seq == act2 }?.payload[Attestation.field]?.arrayValue?.last)
        func at(_ seq: Int64, _ change: @escaping (inout JournalEntry, inout [CanonicalValue]) throws -> Void) -> (inout JournalEntry, inout [CanonicalValue]) throws -> Void {
            { entry, list in if entry.seq == seq { try change(&entry, &list) } }
        }
        let cases: [(String, (inout JournalEntry, inout [CanonicalValue]) throws -> Void, String)] = [
            ("edited after the cards signed", at(act2) { e, _ in e.payload = .object((e.payload.objectValue ?? [:]).merging(["title": "Other"]) { $1 }) },
             "does not verify with the card recorded at the roll call"),
            ("copied from another ceremony", at(act2) { _, list in list[list.count - 1] = copied }, "signature of role witness does not verify"),
            ("another card", at(act2) { e, list in
                list[list.count - 1] = ["role": "witness", "certificate_fingerprint": .string(Hex.encode(stranger.1.fingerprint)),
                                        "signature": .string(Hex.encode(try stranger.0.sign(Attestation.entryMessage(e), scheme: .ecdsaSHA256)))]
            }, "a card other than the one recorded"),
            ("another card under the recorded fingerprint", at(act2) { e, list in
                list[list.count - 1] = ["role": "witness", "certificate_fingerprint": .string(Hex.encode(software["witness"]!.1.fingerprint)),
                                        "signature": .string(Hex.encode(try stranger.0.sign(Attestation.entryMessage(e), scheme: .ecdsaSHA256)))]
            }, "signature of role witness does not verify"),
            ("a present person's signature missing", at(act2) { _, list in list.removeLast() }, "lacks the signature of role witness"),
        ]
        for (name, tamper, message) in cases {
            let path = try reattested(genuine, to: out + "/\(name.filter(\.isLetter)).jsonl", key: key, cards: software, tamper: tamper)
            let (swift, python) = verifyBoth(path)
            for (who, v) in [("ceremony verify", swift), ("verify-transcript.py", python)] {
                XCTAssertEqual(v.status, 1, "\(name), \(who): \(v.stdout)")
                XCTAssertTrue(v.stderr.contains("entry \(act2): "), "\(name), \(who): \(v.stderr)")
            }
            XCTAssertTrue(swift.stderr.contains(message), "\(name): \(swift.stderr)")
        }
    }

    /// A wrong PIN at an act end: the tries left are shown, the witness allows another try, and
    /// the act end records it; the ceremony then closes and verifies.
    func testWrongPINAtAnActEndShowsTriesLeftAndTheWitnessAllowsARetry() throws {
        let w = Self.world!
        let out = w.path("wrong-pin")
        w.mkdir("wrong-pin")
        let go = "[Enter] run this step"
        let plan: [[String]] = [
            [go, ""], ["Administrator [admin]: your full name", "Alice Adler"], ["staff or badge number", "A-1"],
            ["Witness [witness]: your full name", "Wanda Witt"], ["staff or badge number", "W-2"],
            ["Wanda Witt: the PIN of your card, to sign the roll call (3 tries left):", Self.pin],
            ["IT custodian [it]: your full name", "Ivan Ito"], ["staff or badge number", "I-3"],
            ["Ivan Ito: the PIN of your card, to sign the roll call (3 tries left):", Self.pin],
            ["to correct its name or number", ""], ["confirm step roll-call", "yes"],
            ["Ivan Ito: the PIN of your card, to sign the end of act opening (3 tries left):", "000000"],
            ["may IT custodian Ivan Ito type the PIN again?", "yes"],
            ["Ivan Ito: the PIN of your card, to sign the end of act opening (2 tries left):", Self.pin],
            ["Wanda Witt: the PIN of your card, to sign the end of act opening (3 tries left):", Self.pin],
            [go, ""], ["Is the bag intact?", "yes"], ["confirm step check", "yes"],
            ["to sign the end of act work (3 tries left):", Self.pin], ["to sign the end of act work (3 tries left):", Self.pin],
            [go, ""], ["Did everything follow the script?", "yes"], ["confirm step sign-off", "yes"],
            ["to sign the end of act closing (3 tries left):", Self.pin], ["to sign the end of act closing (3 tries left):", Self.pin],
            ["to sign the CLOSED entry (3 tries left):", Self.pin], ["to sign the CLOSED entry (3 tries left):", Self.pin],
        ]
        var terminal = PseudoTerminal(plan)
        terminal.environment = w.environment
        let run = try terminal.run(product("ceremony"), ["run", Self.script, "--practice", "--journal", w.journal, "--output", out], folder: out)
        XCTAssertEqual(run.status, 0, run.description)
        XCTAssertTrue(run.screen.contains("✗ IT custodian Ivan Ito: the card refused the PIN; 2 tries left."), run.description)
        let t = try XCTUnwrap(transcripts(in: out).last)
        let end = try XCTUnwrap(try entries(t).first { $0.event == EventType.actEnd })
        XCTAssertEqual(end.payload[Attestation.retriesField], [["role": "it", "tries_left": 2, "witness": "Wanda Witt (W-2)"]])
        XCTAssertEqual(verifyBoth(t).swift.status, 0, verifyBoth(t).swift.stderr)
        XCTAssertEqual(verifyBoth(t).python.status, 0, verifyBoth(t).python.stderr)
    }

    func softwareCard(_ name: String, _ algorithm: KeyAlgorithm) throws -> (PrivateKey, Certificate) {
        let key = try PrivateKey.generate(algorithm)
        return (key, try Certificate.selfSigned(subject: "CN=\(name)", key: key, days: 30, keyUsage: "critical,digitalSignature"))
    }
}

/// `entries` rewritten from BEGIN with `key` as the ceremony key, and with `cards` (role →
/// key and certificate) signing the roll call and every act end and terminal entry in place of
/// the participants' cards; `tamper` changes a sealed entry or its attestations after the cards
/// signed and before the ceremony key signs. Written to `path`.
func reattested(_ entries: [JournalEntry], to path: String, key: CeremonyKey, cards: [String: (PrivateKey, Certificate)],
                tamper: ((inout JournalEntry, inout [CanonicalValue]) throws -> Void)? = nil) throws -> String {
    func sign(_ role: String, _ message: [UInt8]) throws -> String {
        let (k, c) = cards[role]!
        return Hex.encode(try k.sign(message, scheme: Attestation.scheme(for: c.publicKey)!))
    }
    var out: [JournalEntry] = []
    for (i, e) in entries.enumerated() {
        var members = e.payload.objectValue ?? [:]
        if i == 0 { members[Seal.keyField] = Seal.keyMember(key.publicKey) }
        if AttestationCheck.isRollCallRecord(e), let (_, cert) = cards[e.role] {
            members["certificate"] = .string(Hex.encode(cert.der))
            members["certificate_fingerprint"] = .string(Hex.encode(cert.fingerprint))
            let nonce = out[0].payload["nonce"]!.stringValue!
            members["signature"] = .string(try sign(e.role, Attestation.rollCallMessage(nonce: nonce, beginHash: out[0].hash,
                                                                                         fingerprint: cert.fingerprint, role: e.role)!))
        }
        let roles = members[Attestation.field]?.arrayValue?.compactMap { $0["role"]?.stringValue } ?? []
        members[Attestation.field] = nil
        var draft = JournalEntry(ceremony: e.ceremony, seq: Int64(i + 1), time: e.time, act: e.act, step: e.step, role: e.role,
                                 event: e.event, payload: .object(members), prevHash: out.last?.hash ?? ChainHash.genesis)
        if Seal.isSealed(e.event) {
            let message = Attestation.entryMessage(draft)
            var list: [CanonicalValue] = try roles.map {
                ["role": .string($0), "certificate_fingerprint": .string(Hex.encode(cards[$0]!.1.fingerprint)), "signature": .string(try sign($0, message))]
            }
            try tamper?(&draft, &list)
            var signed = draft.payload.objectValue ?? [:]
            signed[Attestation.field] = .array(list)
            draft.payload = .object(signed)
            draft = JournalEntry(ceremony: e.ceremony, seq: draft.seq, time: e.time, act: e.act, step: e.step, role: e.role,
                                 event: e.event, payload: try key.seal(draft), prevHash: draft.prevHash)
        } else {
            draft = JournalEntry(ceremony: e.ceremony, seq: draft.seq, time: e.time, act: e.act, step: e.step, role: e.role,
                                 event: e.event, payload: draft.payload, prevHash: draft.prevHash)
        }
        out.append(draft)
    }
    try Transcript.text(out).write(toFile: path, atomically: false, encoding: .utf8)
    return path
}
