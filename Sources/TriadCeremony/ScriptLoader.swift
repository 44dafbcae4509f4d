import Foundation
import TriadCrypto
import TriadJournal
import Yams

/// Reads a script from YAML with line-numbered errors and no silent defaults for typos:
/// an unknown key is an error, so `confrim:` cannot quietly drop a confirmation.
public enum ScriptLoader {
    /// Loads and parses the script at `path` (no lint; see `Lint.check`).
    public static func load(path: String) throws -> CeremonyScript {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ScriptError(origin: path, line: nil, message: "cannot read the file; check the path (`ceremony list` shows the scripts)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ScriptError(origin: path, line: nil, message: "the file is not UTF-8 text")
        }
        return try parse(text, origin: path)
    }

    /// Parses script text; `origin` names it in messages.
    public static func parse(_ text: String, origin: String) throws -> CeremonyScript {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else { throw ScriptError(origin: origin, line: nil, message: "the file is empty") }
            root = node
        } catch let error as ScriptError {
            throw error
        } catch {
            throw ScriptError(origin: origin, line: nil, message: "not valid YAML: \(error)")
        }
        let p = Reader(origin: origin)
        let top = try p.mapping(root, "the script", allowed: ["name", "version", "title", "purpose", "roles", "parameters", "acts"])
        var script = CeremonyScript(
            name: try p.string(top, "name"), version: try p.int(top, "version"), title: try p.string(top, "title"),
            purpose: try p.string(top, "purpose"), roles: [], parameters: [], acts: [], source: text,
            sha256: Hex.encode(SHA256.hash(Array(text.utf8))), origin: origin)
        for (key, value) in try p.pairs(try p.required(top, "roles"), "roles") {
            let m = try p.mapping(value, "role \(key)", allowed: ["title", "holds", "witness", "attest"])
            var role = RoleSpec(id: key, title: try p.string(m, "title"), holds: try p.optionalString(m, "holds") ?? "nothing",
                                witness: try p.optionalBool(m, "witness") ?? false)
            if let attest = try p.optionalString(m, "attest") {
                // The only way a participant attests is with their own card; anything else is a typo.
                guard attest == "card" else { throw p.error(m["attest"], "role \(key): attest must be 'card', not '\(attest)'") }
                role.attestsWithCard = true
            }
            script.roles.append(role)
        }
        if let params = top["parameters"] {
            for (key, value) in try p.pairs(params, "parameters") {
                let m = try p.mapping(value, "parameter \(key)", allowed: ["description", "required", "default", "list"])
                let list = try p.optionalBool(m, "list") ?? false
                // A list parameter's default is a YAML sequence; a scalar's is text.
                var defaultValue: ParameterValue?
                if list, let d = m["default"] {
                    guard d.sequence != nil else { throw p.error(d, "parameter \(key) is a list: its default must be a YAML sequence, e.g. []") }
                    defaultValue = .list(try p.stringList(m, "default"))
                } else if let d = try p.optionalString(m, "default") {
                    defaultValue = .text(d)
                }
                script.parameters.append(ScriptParameter(name: key, description: try p.string(m, "description"),
                                                         required: try p.optionalBool(m, "required") ?? false,
                                                         defaultValue: defaultValue, list: list))
            }
        }
        guard let acts = try p.required(top, "acts").sequence else { throw p.error(top["acts"], "acts must be a list") }
        for actNode in acts {
            let a = try p.mapping(actNode, "an act", allowed: ["id", "title", "steps"])
            var act = Act(id: try p.string(a, "id"), title: try p.string(a, "title"), steps: [])
            guard let steps = try p.required(a, "steps").sequence else { throw p.error(a["steps"], "steps of act \(act.id) must be a list") }
            for stepNode in steps {
                let s = try p.mapping(stepNode, "a step of act \(act.id)",
                                      allowed: ["id", "title", "role", "say", "action", "with", "confirm", "after", "requires"])
                var arguments: [String: CanonicalValue] = [:]
                if let with = s["with"] {
                    for (k, v) in try p.pairs(with, "with") { arguments[k] = try p.value(v) }
                }
                act.steps.append(Step(
                    id: try p.string(s, "id"), title: try p.optionalString(s, "title") ?? "", role: try p.string(s, "role"),
                    say: try p.string(s, "say"), action: try p.string(s, "action"), arguments: arguments,
                    confirm: try p.stringList(s, "confirm"), after: try p.stringList(s, "after"),
                    requires: try p.stringList(s, "requires"), line: (stepNode.mark?.line ?? 0)))
            }
            script.acts.append(act)
        }
        return script
    }

    /// The scripts in `directory` (`*.yaml`, `*.yml`), sorted by file name.
    public static func scriptPaths(in directory: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted().map { "\(directory)/\($0)" }
    }

    /// `nameOrPath` as a file, or as a script name (file stem or `name:`) in `directory`.
    public static func resolve(_ nameOrPath: String, in directory: String) throws -> String {
        if FileManager.default.fileExists(atPath: nameOrPath) { return nameOrPath }
        for path in scriptPaths(in: directory) {
            let stem = (path as NSString).lastPathComponent.replacingOccurrences(of: ".yaml", with: "").replacingOccurrences(of: ".yml", with: "")
            if stem == nameOrPath || (try? load(path: path))?.name == nameOrPath { return path }
        }
        throw ScriptError(origin: nameOrPath, line: nil,
                          message: "no such file, and no script of that name in \(directory); `ceremony list` shows the scripts")
    }
}

/// A problem in a script file, with its line where known.
public struct ScriptError: Error, Equatable, CustomStringConvertible {
    /// The file (or script name) the problem is in.
    public var origin: String
    /// The 1-based line, when the problem has one.
    public var line: Int?
    /// What is wrong and how to fix it.
    public var message: String
    /// `file:line: message`, the form editors jump to.
    public var description: String { "\(origin)\(line.map { ":\($0)" } ?? ""): \(message)" }
}

/// Typed access to YAML nodes with errors that name the file and line.
private struct Reader {
    let origin: String

    func error(_ node: Node?, _ message: String) -> ScriptError {
        ScriptError(origin: origin, line: node?.mark?.line, message: message)
    }

    func mapping(_ node: Node, _ what: String, allowed: Set<String>) throws -> Node.Mapping {
        guard let m = node.mapping else { throw error(node, "\(what) must be a mapping of keys to values") }
        for key in m.keys {
            guard let k = key.string, allowed.contains(k) else {
                throw error(key, "unknown key '\(key.string ?? "?")' in \(what); allowed: \(allowed.sorted().joined(separator: ", "))")
            }
        }
        return m
    }

    func pairs(_ node: Node, _ what: String) throws -> [(String, Node)] {
        guard let m = node.mapping else { throw error(node, "\(what) must be a mapping") }
        return try m.map { pair in
            guard let k = pair.key.string else { throw error(pair.key, "keys in \(what) must be text") }
            return (k, pair.value)
        }
    }

    func required(_ m: Node.Mapping, _ key: String) throws -> Node {
        guard let v = m[key] else { throw error(.mapping(m), "missing '\(key)'") }
        return v
    }

    func string(_ m: Node.Mapping, _ key: String) throws -> String {
        let v = try required(m, key)
        guard let s = v.scalar?.string, !s.isEmpty else { throw error(v, "'\(key)' must be non-empty text") }
        return s
    }

    func optionalString(_ m: Node.Mapping, _ key: String) throws -> String? {
        guard let v = m[key] else { return nil }
        guard let s = v.scalar?.string else { throw error(v, "'\(key)' must be text") }
        return s
    }

    func int(_ m: Node.Mapping, _ key: String) throws -> Int {
        let v = try required(m, key)
        guard let i = v.int else { throw error(v, "'\(key)' must be a whole number") }
        return i
    }

    func optionalBool(_ m: Node.Mapping, _ key: String) throws -> Bool? {
        guard let v = m[key] else { return nil }
        guard let b = v.bool else { throw error(v, "'\(key)' must be true or false") }
        return b
    }

    func stringList(_ m: Node.Mapping, _ key: String) throws -> [String] {
        guard let v = m[key] else { return [] }
        if let s = v.scalar?.string { return [s] }
        guard let seq = v.sequence else { throw error(v, "'\(key)' must be a list") }
        return try seq.map { item in
            guard let s = item.scalar?.string else { throw error(item, "'\(key)' must list text items") }
            return s
        }
    }

    /// An action argument: text, whole number, true/false, or a list of those.
    func value(_ node: Node) throws -> CanonicalValue {
        if let seq = node.sequence { return .array(try seq.map { try value($0) }) }
        guard let scalar = node.scalar else { throw error(node, "an argument must be text, a number, true/false or a list") }
        if scalar.style == .plain {
            if let b = node.bool { return .bool(b) }
            if let i = node.int { return .int(Int64(i)) }
        }
        return .string(scalar.string)
    }
}
