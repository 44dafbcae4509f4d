import DurableFile
import Foundation
import SystemPackage
import TriadCrypto
import ISO7816

/// The state file of a virtual card: JSON, written atomically (temporary file in the
/// same folder, fsync, rename, fsync of the folder) with mode 0600, so a crash leaves the
/// old or the new state and never a torn one. A blocked card therefore stays blocked
/// across restarts, and a counted PIN try is on disk before the card answers.
public struct CardStateFile: CardStatePersistence {
    /// The state file.
    public let path: String

    /// The state kept at `path`.
    public init(path: String) { self.path = path }

    /// The format version written into every file.
    static let formatVersion = 1

    /// True when a card was made at `path`.
    public var exists: Bool { FileManager.default.fileExists(atPath: path) }

    /// Reads and checks the state.
    /// - Throws: `VirtualCardError.stateUnreadable` naming the file and what is wrong.
    public func load() throws -> VirtualCardState {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw VirtualCardError.stateMissing(path: path, reason: error.localizedDescription)
        }
        let record: StateRecord
        do {
            record = try JSONDecoder().decode(StateRecord.self, from: data)
        } catch {
            throw VirtualCardError.stateUnreadable(path: path, reason: "it is not a virtual-card state file (\(error))")
        }
        guard record.version == Self.formatVersion else {
            throw VirtualCardError.stateUnreadable(path: path, reason: "format version \(record.version) is not \(Self.formatVersion)")
        }
        guard let state = record.state else {
            throw VirtualCardError.stateMalformed(path: path)
        }
        return state
    }

    /// Writes the state atomically with mode 0600 (docs/format.md §7.1, through the
    /// durable-write module): a temporary created through the folder's descriptor, exclusively
    /// and never through a link, made durable, renamed over the old state, the folder fsynced.
    public func save(_ state: VirtualCardState) throws {
        var json = try JSONEncoder.sorted.encode(StateRecord(state))
        defer { json.resetBytes(in: 0..<json.count) }
        var bytes = [UInt8](json)
        defer { wipe(&bytes) }
        do {
            try Durable.write(bytes, to: FilePath(path), mode: 0o600)
        } catch let error as DurableError {
            throw VirtualCardError.stateUnwritable(path: path, reason: error.reason)
        }
    }
}

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return encoder
    }
}

/// The JSON shape of the state file: byte strings as lowercase hex, slots and tags as hex.
struct StateRecord: Codable {
    struct KeyRecord: Codable {
        var algorithm: UInt8
        var pkcs8: String
        var origin: UInt8
        var pinPolicy: UInt8
        var touchPolicy: UInt8
    }

    var version: Int
    var notice: String
    var serial: UInt32
    var guid: String
    var secretSalt: String
    var pinDigest: String
    var pukDigest: String
    var pinRetries: Int
    var pinTriesLeft: Int
    var pukRetries: Int
    var pukTriesLeft: Int
    var pinIsDefault: Bool
    var pukIsDefault: Bool
    var managementAlgorithm: UInt8
    var managementKey: String
    var managementKeyIsDefault: Bool
    var keys: [String: KeyRecord]
    var objects: [String: String]

    init(_ s: VirtualCardState) {
        version = CardStateFile.formatVersion
        notice = "Triad virtual PIV card: a SOFTWARE card with no hardware protection. This file holds its private keys; keep it mode 0600."
        serial = s.serial
        guid = Hex.encode(s.guid)
        secretSalt = Hex.encode(s.secretSalt)
        pinDigest = Hex.encode(s.pinDigest)
        pukDigest = Hex.encode(s.pukDigest)
        pinRetries = s.pinRetries; pinTriesLeft = s.pinTriesLeft
        pukRetries = s.pukRetries; pukTriesLeft = s.pukTriesLeft
        pinIsDefault = s.pinIsDefault; pukIsDefault = s.pukIsDefault
        managementAlgorithm = s.managementAlgorithm.pivAlgorithmID
        managementKey = s.managementKey.withUnsafeBytes { Hex.encode(Array($0)) }
        managementKeyIsDefault = s.managementKeyIsDefault
        keys = [:]
        for (slot, key) in s.keys {
            keys[Hex.encode([slot])] = KeyRecord(
                algorithm: key.algorithm,
                pkcs8: key.pkcs8.withUnsafeBytes { Hex.encode(Array($0)) },
                origin: key.origin, pinPolicy: key.pinPolicy, touchPolicy: key.touchPolicy)
        }
        objects = [:]
        for (tag, content) in s.objects { objects[Hex.encode(TLV.tagBytes(tag))] = Hex.encode(content) }
    }

    /// The state, or nil when a field does not decode.
    var state: VirtualCardState? {
        guard let guid = Hex.decode(guid), guid.count == 16,
              let salt = Hex.decode(secretSalt),
              let pinDigest = Hex.decode(pinDigest), let pukDigest = Hex.decode(pukDigest),
              let cipher = BlockCipher(pivAlgorithmID: managementAlgorithm),
              var mgm = Hex.decode(managementKey), mgm.count == cipher.keySize,
              (0...pinRetries).contains(pinTriesLeft), (0...pukRetries).contains(pukTriesLeft) else {
            return nil
        }
        defer { wipe(&mgm) }
        var slotKeys: [UInt8: VirtualCardState.SlotKey] = [:]
        for (slotHex, record) in keys {
            guard let slot = Hex.decode(slotHex), slot.count == 1, var der = Hex.decode(record.pkcs8) else { return nil }
            slotKeys[slot[0]] = .init(algorithm: record.algorithm, pkcs8: SecureBytes(der), origin: record.origin,
                                      pinPolicy: record.pinPolicy, touchPolicy: record.touchPolicy)
            wipe(&der)
        }
        var dataObjects: [UInt32: [UInt8]] = [:]
        for (tagHex, contentHex) in objects {
            guard let tag = Hex.decode(tagHex), (1...3).contains(tag.count), let content = Hex.decode(contentHex) else { return nil }
            dataObjects[tag.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }] = content
        }
        return VirtualCardState(
            serial: serial, guid: guid, secretSalt: salt, pinDigest: pinDigest, pukDigest: pukDigest,
            pinRetries: pinRetries, pinTriesLeft: pinTriesLeft, pukRetries: pukRetries, pukTriesLeft: pukTriesLeft,
            pinIsDefault: pinIsDefault, pukIsDefault: pukIsDefault,
            managementAlgorithm: cipher, managementKey: SecureBytes(mgm),
            managementKeyIsDefault: managementKeyIsDefault, keys: slotKeys, objects: dataObjects)
    }
}

/// Errors of the virtual card outside the APDU protocol, each saying what to do.
public enum VirtualCardError: Error, Equatable, CustomStringConvertible {
    /// The state file cannot be read (absent, unreadable): no card there yet.
    case stateMissing(path: String, reason: String)
    /// The state file is readable but not a virtual-card state file.
    case stateUnreadable(path: String, reason: String)
    /// A field of the state file is malformed: restore it or make a new card.
    case stateMalformed(path: String)
    case stateUnwritable(path: String, reason: String)
    case stateExists(path: String)
    case serialOutOfRange(serial: UInt64)
    case vpcdUnreachable(port: UInt16, reason: String)

    /// One sentence naming the state file and what to do.
    public var description: String {
        switch self {
        case let .stateMissing(path, reason):
            return "card state \(path): cannot read it (\(reason)); make a card there first"
        case let .stateUnreadable(path, reason):
            return "card state \(path): \(reason)"
        case let .stateMalformed(path):
            return "card state \(path): a field is malformed; restore the file from a backup or make a new card in its place"
        case let .stateUnwritable(path, reason):
            return "card state \(path): cannot be written (\(reason)); check the folder exists and is writable"
        case let .stateExists(path):
            return "card state \(path) already exists; choose another path, or replace that card (its keys are lost)"
        case let .serialOutOfRange(n):
            return "serial \(n) is outside the software-card range \(VirtualCardState.serialRange.lowerBound)-\(VirtualCardState.serialRange.upperBound); give a number in that range, or below 1000000 to pick one inside it"
        case let .vpcdUnreachable(port, reason):
            return "vpcd at 127.0.0.1:\(port): \(reason); start pcscd with the vsmartcard-vpcd driver (scripts/lib/pcsc.sh: pcsc_up)"
        }
    }
}
