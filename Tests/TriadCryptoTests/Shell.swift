import Foundation
import XCTest

/// Runs stock command-line tools (openssl) so that tests compare Triad with an independent
/// implementation rather than with itself.
enum Shell {
    @discardableResult
    static func run(_ arguments: [String], stdin: [UInt8]? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let output = Pipe(), errors = Pipe(), input = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin)) }
        try input.fileHandleForWriting.close()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            XCTFail("\(arguments.joined(separator: " ")) failed: \(String(decoding: err, as: UTF8.self))", file: file, line: line)
            throw CocoaError(.executableLoad)
        }
        return Array(out)
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("triad-crypto-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A key and self-signed certificate made by stock `openssl`, as CONTRACT.md requires.
    static func makeKey(_ spec: String, in dir: URL, name: String) throws -> (key: String, cert: String) {
        let key = dir.appendingPathComponent("\(name).key").path
        let cert = dir.appendingPathComponent("\(name).crt").path
        switch spec {
        case "p256": try run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key])
        case "p384": try run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", key])
        default: try run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:\(spec.dropFirst(3))", "-out", key])
        }
        try run(["openssl", "req", "-x509", "-new", "-key", key, "-subj", "/CN=\(name)/O=Test Hospital", "-days", "30", "-out", cert])
        return (key, cert)
    }
}

extension Array where Element == UInt8 {
    init(hex: String) { self = Hex.decode(hex)! }
}

import TriadCrypto
