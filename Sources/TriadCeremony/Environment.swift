import Foundation
import TriadCrypto

/// Facts about the machine and the tool, for the BEGIN entry and `record-environment`.
public struct Environment: Sendable {
    /// The host name.
    public var host: String
    /// The kernel release (`uname -r`).
    public var kernel: String
    /// SHA-256 of the running executable, so a transcript names the exact tool.
    public var toolSHA256: String
    /// The USB devices attached (vendor:product and name): a card reader that should not be there shows up here.
    public var usbDevices: [String]

    /// The tool's version, recorded in every BEGIN entry.
    public static let toolVersion = "triad-ceremony 0.1.0"

    nonisolated(unsafe) private static var cachedToolHash: String?

    /// Reads the facts of this machine and process now.
    public static func current() -> Environment {
        var u = utsname()
        uname(&u)
        func field<T>(_ value: T) -> String {
            withUnsafeBytes(of: value) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
        }
        return Environment(host: field(u.nodename), kernel: "\(field(u.sysname)) \(field(u.release))",
                           toolSHA256: toolHash(), usbDevices: usb())
    }

    /// SHA-256 of the running executable (`/proc/self/exe`), streamed.
    public static func toolHash() -> String {
        if let h = cachedToolHash { return h }
        guard let handle = FileHandle(forReadingAtPath: "/proc/self/exe") else { return "unknown" }
        defer { try? handle.close() }
        let hasher = SHA256Hasher()
        while let chunk = try? handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(Array(chunk)) }
        let h = Hex.encode(hasher.finalize())
        cachedToolHash = h
        return h
    }

    static func usb() -> [String] {
        let base = "/sys/bus/usb/devices"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []
        return names.sorted().compactMap { name in
            func read(_ f: String) -> String? {
                (try? String(contentsOfFile: "\(base)/\(name)/\(f)", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            guard let vendor = read("idVendor"), let product = read("idProduct") else { return nil }
            return "\(vendor):\(product)" + (read("product").map { " \($0)" } ?? "")
        }
    }
}
