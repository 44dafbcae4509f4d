import ArgumentParser
import Foundation
import TriadCLI
import TriadZone

extension ZoneCommand {
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the zone's policy and the state of its files; needs no key.")

        @Argument(help: "The zone folder.") var dir: String
        @Flag(help: "Print one JSON document on stdout.") var json = false
        @OptionGroup var trust: TrustOptions

        func run() throws {
            let status = try ZoneStatus.of(root: try zoneRoot(containing: dir), context: try trust.context())
            if json {
                print(try Self.json(status))
            } else {
                print(Self.text(status))
            }
        }

        static func json(_ s: ZoneStatus) throws -> String {
            let f = s.files
            let object: [String: Any] = [
                "zone": s.root,
                "zone_id": s.zoneID.hex,
                "policy_version": s.policyVersion,
                "policy_signature_valid": s.policySignatureValid,
                "policy_error": s.policyError ?? NSNull(),
                "trust_file": s.trustFile ?? NSNull(),
                "epoch": s.epoch,
                "officers": s.officers.map(\.hex),
                "members": s.members.map(\.hex),
                "member_subjects": s.memberSubjects,
                "recovery_certificates": s.recoveryCertificates.map(\.hex),
                "policy_history": ["versions": s.history.versions, "intact": s.history.isIntact, "problems": s.history.problems],
                "policy_hash": s.policyHash.hex,
                "first_policy_hash": s.firstPolicyHash.map { $0.hex as Any } ?? NSNull(),
                "first_policy_words": s.firstPolicyHash.map { ZoneIdentity.words($0) as Any } ?? NSNull(),
                "trust_mode": s.trustMode.rawValue,
                "expiring_recovery_certificates": s.expiringRecoveryCertificates.map {
                    ["fingerprint": $0.fingerprint.hex, "not_after": ISO8601DateFormatter().string(from: $0.notAfter), "days_left": $0.daysLeft] as [String: Any]
                },
                "unauthorised_certificate_slots": s.unauthorisedCertificateSlots.map {
                    ["file": $0.path, "certificates": $0.fingerprints.map(\.hex)] as [String: Any]
                },
                "files": [
                    "encrypted": f.encrypted, "plaintext": f.plaintext, "stale_epoch": f.staleEpoch,
                    "missing_recovery_slot": f.missingRecoverySlot, "retired_recovery_slot": f.retiredRecoverySlot,
                    "stale_key_origin": f.staleKeyOrigin, "unauthorised_certificate_slot": f.unauthorisedCertificateSlot,
                    "other_zone": f.otherZone, "damaged": f.damaged, "temporary": f.temporary,
                    "nested_zones": f.nestedZones, "unreadable": f.unreadable,
                ],
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            return String(decoding: data, as: UTF8.self)
        }

        static func text(_ s: ZoneStatus) -> String {
            let f = s.files
            var lines = [
                "zone \(s.zoneID.hex) at \(s.root)",
                "policy version \(s.policyVersion): " + (s.policySignatureValid ? "signed by a trusted officer" : "NOT ACCEPTED: \(s.policyError ?? "")"),
                "trust: " + (s.trustFile ?? "no trust file: zone accepted on first use"),
                "epoch \(s.epoch); \(s.members.count) member(s):",
            ]
            for (fp, subject) in zip(s.members, s.memberSubjects) { lines.append("  \(fp.hex)  \(subject)") }
            lines.append("policy history: \(s.history.versions) version(s), " + (s.history.isIntact ? "intact" : "BROKEN: " + s.history.problems.joined(separator: "; ")))
            if let first = s.firstPolicyHash {
                lines.append("first policy: \(ZoneIdentity.words(first))  (sha256 \(first.hex))")
            }
            lines.append("newest policy: sha256 \(s.policyHash.hex)")
            lines.append("recovery certificates: " + s.recoveryCertificates.map(\.hex).joined(separator: ", "))
            for e in s.expiringRecoveryCertificates {
                lines.append("WARNING: recovery certificate \(e.fingerprint.hex.prefix(16))… " + (e.daysLeft < 0 ? "EXPIRED" : "expires in \(e.daysLeft) days")
                             + " (\(ISO8601DateFormatter().string(from: e.notAfter))): run the recovery-key rotation (docs/recovery.md §5)")
            }
            lines.append("files: \(f.encrypted) encrypted, \(f.plaintext) plaintext, \(f.staleEpoch) on an older epoch, \(f.missingRecoverySlot) missing a recovery slot, \(f.staleKeyOrigin) with a key older than the epoch")
            if f.unauthorisedCertificateSlot > 0 {
                lines.append("WARNING: \(f.unauthorisedCertificateSlot) file(s) carry a certificate slot no recovery certificate or re-grant accounts for (planted by someone who knew the file key; zone rekey removes it, zone rekey --reencrypt also replaces the file key):")
                for entry in s.unauthorisedCertificateSlots {
                    lines.append("  \(entry.path): " + entry.fingerprints.map(\.hex).joined(separator: ", "))
                }
            }
            if f.retiredRecoverySlot > 0 {
                lines.append("       \(f.retiredRecoverySlot) still open with a retired recovery key (run zone rekey)")
            }
            if f.otherZone + f.damaged + f.temporary + f.unreadable > 0 {
                lines.append("       \(f.otherZone) of another zone, \(f.damaged) with a damaged header, \(f.unreadable) unreadable, \(f.temporary) temporary")
            }
            if f.nestedZones > 0 {
                lines.append("       \(f.nestedZones) folder(s) holding another zone's .zone/, not counted (zones inside zones are not used)")
            }
            return lines.joined(separator: "\n")
        }
    }
}
