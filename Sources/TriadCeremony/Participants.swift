import Foundation

/// A person filling a role: a name and a staff or badge number, as on an IANA sign-in
/// sheet (docs/ceremony.md §3 rule 2).
public struct Person: Equatable, Sendable {
    /// The full name as stated in the roll call.
    public var name: String
    /// The staff or badge number as stated in the roll call.
    public var staffID: String

    /// A person as they identified themselves.
    public init(name: String, staffID: String) { self.name = name; self.staffID = staffID }

    /// Case, accents and spacing do not make a different person.
    var nameKey: String {
        name.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil)
            .split(whereSeparator: { $0.isWhitespace || $0 == "." || $0 == "," }).joined(separator: " ")
    }

    var idKey: String { staffID.uppercased().filter { $0.isLetter || $0.isNumber } }

    /// "Name (staff number)", as journaled and printed.
    public var display: String { "\(name) (\(staffID))" }
}

/// Who fills which role in a running ceremony, and who is in the room.
///
/// Counts distinct principals (docs/ceremony.md §3 rule 3): a second role for the same name or the
/// same staff number is refused, whatever the spelling — the TUF threshold bugs counted one
/// key twice.
public struct Participants: Sendable {
    /// Who was admitted to each role.
    public private(set) var byRole: [String: Person] = [:]
    /// Roles whose person did not return after a break (docs/ceremony.md §3 rule 7).
    public private(set) var absent: Set<String> = []

    /// Nobody admitted yet: the state before the roll call.
    public init() {}

    /// The person admitted to `role`, present or not.
    public func person(for role: String) -> Person? { byRole[role] }

    /// True when `role` was admitted and is not absent; a step needs its roles present (docs/ceremony.md §3 rule 2).
    public func isPresent(_ role: String) -> Bool { byRole[role] != nil && !absent.contains(role) }

    /// Admits `person` to `role`.
    /// - Throws: `CeremonyError.samePersonTwoRoles` when they already fill another role, or
    ///   `.roleAlreadyFilled` when the role has another person.
    public mutating func admit(_ person: Person, to role: String) throws {
        guard !person.nameKey.isEmpty, !person.idKey.isEmpty else {
            throw CeremonyError.invalidParticipant(role: role, reason: "a name and a staff number are both needed")
        }
        for (otherRole, other) in byRole where otherRole != role {
            if other.nameKey == person.nameKey || other.idKey == person.idKey {
                throw CeremonyError.samePersonTwoRoles(person: person.display, role: role, otherRole: otherRole)
            }
        }
        if let existing = byRole[role], existing.nameKey != person.nameKey || existing.idKey != person.idKey {
            throw CeremonyError.roleAlreadyFilled(role: role, by: existing.display)
        }
        byRole[role] = person
        absent.remove(role)
    }

    /// Empties a role: a roll call that is corrected or run again fills it anew.
    public mutating func remove(_ role: String) { byRole[role] = nil; absent.remove(role) }

    /// Marks a role's person as having left (after a break).
    public mutating func markAbsent(_ role: String) { absent.insert(role) }
}
