import Foundation

/// A JSON value restricted to what the journal needs, with one byte encoding.
///
/// The entry hash is computed over bytes, so every entry needs exactly one encoding
/// (docs/ceremony.md §"Canonical encoding"): objects with keys sorted by their UTF-8
/// bytes, no whitespace, integers only (no floats, so no rounding differences between
/// implementations), and the shortest string escapes. A verifier re-encodes each parsed
/// line and refuses a line whose bytes differ, so a transcript has no second spelling.
public enum CanonicalValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case string(String)
    case array([CanonicalValue])
    case object([String: CanonicalValue])

    /// The canonical bytes of this value.
    public var canonicalBytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        encode(into: &out)
        return out
    }

    /// The canonical text of this value (always valid UTF-8).
    public var canonicalText: String { String(decoding: canonicalBytes, as: UTF8.self) }

    private func encode(into out: inout [UInt8]) {
        switch self {
        case .null: out += Array("null".utf8)
        case .bool(let b): out += Array((b ? "true" : "false").utf8)
        case .int(let i): out += Array(String(i).utf8)
        case .string(let s): Self.encodeString(s, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                item.encode(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            let keys = members.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            for (index, key) in keys.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                Self.encodeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                members[key]!.encode(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func encodeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += [0x5C, 0x22]
            case UInt8(ascii: "\\"): out += [0x5C, 0x5C]
            case 0x08: out += [0x5C, UInt8(ascii: "b")]
            case 0x0C: out += [0x5C, UInt8(ascii: "f")]
            case 0x0A: out += [0x5C, UInt8(ascii: "n")]
            case 0x0D: out += [0x5C, UInt8(ascii: "r")]
            case 0x09: out += [0x5C, UInt8(ascii: "t")]
            case 0x00..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

// MARK: - Parsing

extension CanonicalValue: Decodable {
    /// Decodes any JSON value; fractions are refused, because the canonical encoding has integers only (docs/ceremony.md §7).
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null; return }
        if let b = try? container.decode(Bool.self) { self = .bool(b); return }
        if let i = try? container.decode(Int64.self) { self = .int(i); return }
        if let s = try? container.decode(String.self) { self = .string(s); return }
        if let a = try? container.decode([CanonicalValue].self) { self = .array(a); return }
        if let o = try? container.decode([String: CanonicalValue].self) { self = .object(o); return }
        throw DecodingError.dataCorruptedError(in: container,
            debugDescription: "only null, booleans, integers, strings, arrays and objects are allowed (no fractions)")
    }

    /// The value of an `Encodable` payload as the journal stores it: encoded to JSON and read
    /// back, so its bytes are the canonical encoding whatever order the encoder chose.
    public init(encoding value: some Encodable) throws {
        self = try Self.parse(String(decoding: try JSONEncoder().encode(value), as: UTF8.self))
    }

    /// This value decoded as `T` (a typed payload); unknown members are ignored.
    public func decode<T: Decodable>(as type: T.Type) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(canonicalBytes))
    }

    /// Parses JSON text; the result may still be non-canonical (compare `canonicalBytes`).
    public static func parse(_ text: String) throws -> CanonicalValue {
        try JSONDecoder().decode(CanonicalValue.self, from: Data(text.utf8))
    }
}

extension CanonicalValue: Encodable {
    /// Encodes the value as the JSON it stands for, so a typed payload may hold one (a
    /// signature, an action's result) and still encode canonically.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let b): try container.encode(b)
        case .int(let i): try container.encode(i)
        case .string(let s): try container.encode(s)
        case .array(let a): try container.encode(a)
        case .object(let o): try container.encode(o)
        }
    }
}

// MARK: - Convenience

extension CanonicalValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral {
    /// Lets payloads be written as literals in the engine and the tests.
    public init(stringLiteral value: String) { self = .string(value) }
    /// An integer literal is a canonical integer (the encoding has no fractions).
    public init(integerLiteral value: Int64) { self = .int(value) }
    /// A boolean literal is `true` or `false`.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// An array literal of canonical values.
    public init(arrayLiteral elements: CanonicalValue...) { self = .array(elements) }
    /// A dictionary literal becomes an object; its keys are sorted only when encoded (docs/ceremony.md §7).
    public init(dictionaryLiteral elements: (String, CanonicalValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }

    /// The string, or nil for any other kind: readers of payloads (verifier, log) check kinds instead of trapping.
    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    /// The integer, or nil for any other kind.
    public var intValue: Int64? { if case .int(let i) = self { return i }; return nil }
    /// The boolean, or nil for any other kind.
    public var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }
    /// The elements, or nil for any other kind.
    public var arrayValue: [CanonicalValue]? { if case .array(let a) = self { return a }; return nil }
    /// The members, or nil for any other kind.
    public var objectValue: [String: CanonicalValue]? { if case .object(let o) = self { return o }; return nil }

    /// Member `key` of an object, or nil.
    public subscript(key: String) -> CanonicalValue? { objectValue?[key] }
}
