import Foundation
import XCTest
import TriadTestSupport

/// Runs stock command-line tools (openssl) so that tests compare Triad with an independent
/// implementation rather than with itself.
enum Shell {
    @discardableResult
    static func run(_ arguments: [String], stdin: [UInt8]? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> [UInt8] {
        let result = try Command(arguments[0], Array(arguments.dropFirst()), stdin: stdin.map { Data($0) }).run()
        guard result.succeeded else {
            XCTFail("\(arguments.joined(separator: " ")) failed: \(result.err)", file: file, line: line)
            throw TestSupportError.toolFailed(result)
        }
        return Array(result.stdout)
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("triad-crypto-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A key and self-signed certificate made by stock `openssl req -x509` (TriadTestSupport's TestPKI).
    static func makeKey(_ spec: String, in dir: URL, name: String) throws -> (key: String, cert: String) {
        let made = try TestPKI(directory: dir.path).make(name, spec)
        return (made.key, made.cert)
    }
}

extension Array where Element == UInt8 {
    init(hex: String) { self = Hex.decode(hex)! }
}

import TriadCrypto
