import TriadCrypto

/// The audit view of `.zone/policy.1 … policy.N` (docs/zone.md §1): every version is kept, each
/// names the SHA-256 of the one before, and each must be signed by an officer of the version
/// before it. Trust in the newest version does not depend on this (local state and the trust
/// file decide that); this lets an auditor see that the history is complete and unbroken.
public struct PolicyHistory: Equatable {
    public var versions: Int
    /// One sentence per break, naming the file; empty when the chain is intact.
    public var problems: [String]
    public var isIntact: Bool { problems.isEmpty }

    public static func verify(root: String) throws -> PolicyHistory {
        guard let newest = try Zone.latestPolicyVersion(root: root) else { throw ZoneError.noPolicy(root) }
        var problems: [String] = []
        var previous: SignedPolicy?
        for version in 1...max(1, newest) {
            let path = Zone.policyPath(root: root, version: version)
            guard FileIO.exists(path) else {
                problems.append("\(path) is missing")
                previous = nil
                continue
            }
            let signed: SignedPolicy
            do { signed = try SignedPolicy(fileBytes: try FileIO.readAll(path), context: path) } catch {
                problems.append("\(error)")
                previous = nil
                continue
            }
            let policy = signed.policy
            if policy.version != version { problems.append("\(path) holds version \(policy.version)") }
            if !signed.signatureIsValid { problems.append("\(path) is not signed by one of its officers") }
            if version == 1 {
                if policy.previousPolicyHash != [UInt8](repeating: 0, count: 32) { problems.append("\(path) names a predecessor") }
            } else if let previous {
                if policy.previousPolicyHash != previous.hash { problems.append("\(path) does not chain to policy.\(version - 1)") }
                if policy.zoneID != previous.policy.zoneID { problems.append("\(path) belongs to another zone") }
                if !previous.policy.officers.contains(where: { $0.der == signed.signer.der }) {
                    problems.append("\(path) is signed by \(signed.signer.subject), not an officer of policy.\(version - 1)")
                }
            }
            previous = signed
        }
        return PolicyHistory(versions: Int(newest), problems: problems)
    }
}
