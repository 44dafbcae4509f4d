import ArgumentParser
import TriadCLI
import TriadZone

extension ZoneCommand {
    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make DIR a zone: a signed policy with the officer as first member, a keyring, the recovery certificate(s).")

        @Argument(help: "The folder to make a zone.") var dir: String
        @Option(name: .customLong("officer-cert"), help: "The officer's certificate (must match --identity).") var officerCert: String
        @Option(name: .customLong("recovery-cert"), help: "A recovery certificate every file is also wrapped for (repeatable).") var recoveryCert: [String] = []
        @Option(help: "A member's certificate (repeatable).") var member: [String] = []
        @OptionGroup var identity: IdentityOptions
        @OptionGroup var trust: TrustOptions

        func validate() throws {
            guard !recoveryCert.isEmpty else { throw ValidationError("give at least one --recovery-cert CERT: every file must carry a recovery slot") }
        }

        func run() throws {
            let officer = try loadCertificate(officerCert, option: "--officer-cert")
            let recovery = try recoveryCert.map { try loadCertificate($0, option: "--recovery-cert") }
            let members = try member.map { try loadCertificate($0, option: "--member") }
            let (resolved, key) = try identity.resolveSigningKey()
            guard officer.publicKey == key.publicKey else {
                throw ZoneError.identityDoesNotMatchCertificate(identity: resolved.name, certificate: officerCert)
            }
            let zone = try Zone.create(root: dir, officer: officer, key: key, recovery: recovery, members: members,
                                       context: try trust.context())
            print("zone \(zone.policy.zoneID.hex): \(zone.policy.members.count) member(s), epoch \(zone.policy.currentEpoch), policy version \(zone.policy.version)")
        }
    }
}
