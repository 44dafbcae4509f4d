import ArgumentParser
import TriadCLI
import TriadZone

extension ZoneCommand {
    struct Grant: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "An officer adds a member: every epoch's zone key is wrapped for the new certificate; no file is touched.")

        @Argument(help: "The zone folder.") var dir: String
        @Option(help: "The new member's certificate.") var cert: String
        @OptionGroup var identity: IdentityOptions
        @OptionGroup var trust: TrustOptions

        func run() throws {
            let member = try loadCertificate(cert, option: "--cert")
            let (resolved, key) = try identity.resolveSigningKey()
            let context = try trust.context()
            let zone = try Zone.open(root: try Zone.findRoot(containing: dir), context: context)
            guard zone.policy.isOfficer(key.publicKey) != nil else { throw ZoneError.notOfficer(resolved.name, zone.root) }
            let next = try zone.granting(member, key: key, context: context)
            print("granted \(member.subject); policy version \(next.policy.version)")
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "An officer removes a member and starts a new epoch; run zone rekey (--reencrypt) afterwards.")

        @Argument(help: "The zone folder.") var dir: String
        @Option(help: "The member's certificate.") var cert: String
        @OptionGroup var identity: IdentityOptions
        @OptionGroup var trust: TrustOptions

        func run() throws {
            let member = try loadCertificate(cert, option: "--cert")
            let (resolved, key) = try identity.resolveSigningKey()
            let context = try trust.context()
            let zone = try Zone.open(root: try Zone.findRoot(containing: dir), context: context)
            guard zone.policy.isOfficer(key.publicKey) != nil else { throw ZoneError.notOfficer(resolved.name, zone.root) }
            let next = try zone.revoking(member, key: key, context: context)
            print("revoked \(member.subject); epoch \(next.policy.currentEpoch), policy version \(next.policy.version); run zone rekey \(dir) --reencrypt to re-encrypt older files")
        }
    }
}
