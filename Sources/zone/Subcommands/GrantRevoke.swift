import ArgumentParser
import TriadCLI
import TriadCrypto
import TriadZone

/// What `grant` and `revoke` share: the zone folder, the member's certificate, an officer's
/// signing identity and the trust options; the officer check before any change is signed.
struct MembershipChange: ParsableArguments {
    @Argument(help: "The zone folder.") var dir: String
    @Option(help: "The member's certificate.") var cert: String
    @OptionGroup var identity: IdentityOptions
    @OptionGroup var trust: TrustOptions

    /// Opens the zone as an officer and hands the change its inputs.
    func apply(_ change: (Zone, Certificate, PrivateKey, ZoneContext) throws -> Zone) throws -> (Certificate, Zone) {
        let member = try loadCertificate(cert, option: "--cert")
        let (resolved, key) = try identity.resolveSigningKey()
        let context = try trust.context()
        let zone = try Zone.open(root: try Zone.findRoot(containing: dir), context: context)
        guard zone.policy.isOfficer(key.publicKey) != nil else { throw ZoneError.notOfficer(identity: resolved.name, zone: zone.root) }
        return (member, try change(zone, member, key, context))
    }
}

extension ZoneCommand {
    struct Grant: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "An officer adds a member: every epoch's zone key is wrapped for the new certificate; no file is touched.")

        @OptionGroup var change: MembershipChange

        func run() throws {
            let (member, next) = try change.apply { zone, member, key, context in try zone.granting(member, key: key, context: context) }
            print("granted \(member.subject); policy version \(next.policy.version)")
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "An officer removes a member and starts a new epoch; run zone rekey (--reencrypt) afterwards.")

        @OptionGroup var change: MembershipChange

        func run() throws {
            let (member, next) = try change.apply { zone, member, key, context in try zone.revoking(member, key: key, context: context) }
            print("revoked \(member.subject); epoch \(next.policy.currentEpoch), policy version \(next.policy.version); run zone rekey \(change.dir) --reencrypt to re-encrypt older files")
        }
    }
}
