import TriadCrypto

/// Secrets of one running ceremony, by name (e.g. `recovery-key`, `escrow-kek`).
///
/// A reference type so every action of the ceremony sees the same store, and the engine
/// can empty it at close or abort. Values are `SecureBytes`, whose storage is cleansed when
/// the last copy goes; `zeroise` drops the store's copies and overwrites them first.
/// Secrets live only here, in memory of this process: they cannot be carried from one
/// ceremony to another, which is how "the three factors only combine inside one running
/// ceremony" holds (docs/ceremony.md §3 rule 9).
public final class SecretStore: @unchecked Sendable {
    private var values: [String: SecureBytes] = [:]
    /// True after `zeroise`; a later `set` is a programming error and traps.
    public private(set) var zeroised = false

    /// An empty store for one ceremony.
    public init() {}

    /// Keeps `value` under `name`, replacing (and so releasing) an earlier one.
    public func set(_ name: String, _ value: SecureBytes) {
        precondition(!zeroised, "secret store used after the ceremony ended")
        values[name] = value
    }

    /// The secret under `name`, or nil: a combining action finds a missing factor here.
    public func get(_ name: String) -> SecureBytes? { values[name] }

    /// The names held, for tests that check nothing outlives the ceremony.
    public var names: [String] { values.keys.sorted() }

    /// Overwrites and drops the secret under `name` as soon as it is no longer needed.
    public func remove(_ name: String) {
        guard var value = values.removeValue(forKey: name) else { return }
        value.withUnsafeMutableBytes { buffer in
            for i in buffer.indices { buffer[i] = 0 }
        }
    }

    /// Overwrites and drops every secret; called by the engine at CLOSED and ABORTED.
    public func zeroise() {
        for name in names { remove(name) }
        zeroised = true
    }
}
