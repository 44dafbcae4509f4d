import TriadCrypto

/// A policy body, the officer certificate that signed it and the signature: the content of
/// one `.zone/policy.<version>` file.
///
/// File layout (all lengths 32-bit big-endian): `"TRIADZS1" ‖ len ‖ body ‖ len ‖ signer
/// certificate DER ‖ len ‖ signature`. The signature is `PrivateKey.sign` (ECDSA with
/// SHA-256/384 by curve, or RSA-PSS-SHA-256) over `"triad/zone-policy/v1" ‖ 0x00 ‖ body`;
/// the label keeps a policy signature from being replayed as any other signed object.
public struct SignedPolicy {
    static let magic: [UInt8] = Array("TRIADZS1".utf8)
    static let signatureLabel: [UInt8] = Array("triad/zone-policy/v1".utf8) + [0]

    /// The parsed policy.
    public let policy: ZonePolicy
    /// The canonical bytes that were signed (docs/zone.md §2).
    public let body: [UInt8]
    /// The officer certificate that signed it; must be an officer of the previous version.
    public let signer: Certificate
    /// The signature over the label and `body`.
    public let signature: [UInt8]
    /// The exact file bytes; their SHA-256 is what the next version chains to.
    public let fileBytes: [UInt8]

    /// SHA-256 of the file: what the next version and trust-file pins name.
    public var hash: [UInt8] { SHA256.hash(fileBytes) }

    /// Signs `policy` with an officer's software key.
    public static func sign(_ policy: ZonePolicy, officer: Certificate, key: PrivateKey) throws -> SignedPolicy {
        let body = policy.encoded()
        let signature = try key.sign(signatureLabel + body)
        var w = ByteWriter()
        w.raw(magic)
        w.blob(body)
        w.blob(officer.der)
        w.blob(signature)
        return SignedPolicy(policy: policy, body: body, signer: officer, signature: signature, fileBytes: w.bytes)
    }

    private init(policy: ZonePolicy, body: [UInt8], signer: Certificate, signature: [UInt8], fileBytes: [UInt8]) {
        self.policy = policy
        self.body = body
        self.signer = signer
        self.signature = signature
        self.fileBytes = fileBytes
    }

    /// Parses a policy file within `ZoneLimits`; the signature is checked separately (`signatureIsValid`).
    public init(fileBytes: [UInt8], context: String) throws {
        var r = ByteReader(fileBytes, context: context)
        guard try r.raw(8) == Self.magic else { throw ZoneError.malformed(what: context, problem: "not a signed zone policy") }
        body = try r.blob(max: ZoneLimits.policyBytes)
        let signerDER = try r.blob(max: ZoneLimits.certificateBytes)
        signature = try r.blob(max: ZoneLimits.signatureBytes)
        try r.expectEnd()
        do { signer = try Certificate(der: signerDER) } catch {
            throw ZoneError.malformed(what: context, problem: "the signer certificate does not parse")
        }
        policy = try ZonePolicy(decoding: body, context: context)
        self.fileBytes = fileBytes
    }

    /// The fields that link a version into the history, read without parsing certificates or
    /// checking the signature: what a client re-reads for the versions its local state already
    /// verified (their hashes chain to the recorded one, docs/zone.md §3).
    public struct Link: Equatable {
        /// The zone the version claims to belong to.
        public var zoneID: [UInt8]
        /// The policy version.
        public var version: UInt64
        /// SHA-256 of the previous version's file.
        public var previousPolicyHash: [UInt8]
        /// The zone's genesis nonce, the same in every version.
        public var genesisNonce: [UInt8]
    }

    /// Reads the `Link` of a policy file without verifying it.
    public static func link(fileBytes: [UInt8], context: String) throws -> Link {
        var r = ByteReader(fileBytes, context: context)
        guard try r.raw(8) == magic else { throw ZoneError.malformed(what: context, problem: "not a signed zone policy") }
        var b = ByteReader(try r.blob(max: ZoneLimits.policyBytes), context: context)
        guard try b.raw(8) == ZonePolicy.magic else { throw ZoneError.malformed(what: context, problem: "not a zone policy") }
        return Link(zoneID: try b.raw(16), version: try b.u64(), previousPolicyHash: try b.raw(32), genesisNonce: try b.raw(32))
    }

    /// True when the signature verifies under the signer's key *and* the signer is one of
    /// the officers this policy names. Whether that officer is trusted is `ZoneTrust`'s job.
    public var signatureIsValid: Bool {
        guard policy.officers.contains(where: { $0.der == signer.der }) else { return false }
        return signer.publicKey.verify(signature: signature, for: Self.signatureLabel + body)
    }
}
