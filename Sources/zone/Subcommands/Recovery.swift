import ArgumentParser
import TriadCLI
import TriadZone

extension ZoneCommand {
    /// The officer's step of a recovery-key rotation (docs/zone.md §5, docs/recovery.md §5).
    struct Recovery: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "An officer changes the recovery certificates the zone pins (a new signed policy version); no file is touched.",
            discussion: """
            A certificate added must be listed in the trust file when one is in force (IT publishes \
            it first). Removing is refused while files carry a recovery slot only for the removed \
            certificate (finish the rotation ceremony, or zone rekey after pinning the new one), \
            unless --force. Add and remove in one command to swap in one policy version.
            """)

        @Argument(help: "The zone folder.") var dir: String
        @Option(name: .customLong("add-cert"), help: "A recovery certificate to pin (repeatable).") var addCert: [String] = []
        @Option(name: .customLong("remove-cert"), help: "A pinned recovery certificate to drop (repeatable).") var removeCert: [String] = []
        @Flag(help: "Remove even though some files carry a recovery slot only for a removed certificate.") var force = false
        @OptionGroup var identity: IdentityOptions
        @OptionGroup var trust: TrustOptions

        func validate() throws {
            guard !addCert.isEmpty || !removeCert.isEmpty else {
                throw ValidationError("give --add-cert CERT and/or --remove-cert CERT")
            }
        }

        func run() throws {
            let add = try addCert.map { try loadCertificate($0, option: "--add-cert") }
            let remove = try removeCert.map { try loadCertificate($0, option: "--remove-cert") }
            let (resolved, key) = try identity.resolveSigningKey()
            let context = try trust.context()
            let zone = try Zone.open(root: try Zone.findRoot(containing: dir), context: context)
            guard zone.policy.isOfficer(key.publicKey) != nil else { throw ZoneError.notOfficer(identity: resolved.name, zone: zone.root) }
            let next = try zone.changingRecovery(add: add, remove: remove, force: force, key: key, context: context)
            let pinned = next.policy.recoveryCertificates.map { "\($0.subject) (sha256 \($0.fingerprint.hex.prefix(16))…)" }
            print("recovery certificates now \(pinned.joined(separator: ", ")); policy version \(next.policy.version); run zone status \(dir) to see coverage")
        }
    }
}
