import Foundation

/// The libFuzzer entry points of the one harness binary (docs/testing.md §6). Every harness is
/// linked into it once, and the name it is started under picks one: `.build/fuzz/harness/policy`
/// is a link to the binary and runs `fuzzPolicy` (or set TRIAD_FUZZ_HARNESS). One link instead
/// of eleven keeps the build short; libFuzzer's coverage counts only the edges an input reached,
/// so the figures stay per harness.
let harnesses: [String: ([UInt8]) -> Void] = [
    "file": fuzzFile, "policy": fuzzPolicy, "keyring": fuzzKeyring, "trust": fuzzTrust,
    "escrow": fuzzEscrow, "enrolment": fuzzEnrolment, "journal": fuzzJournal, "script": fuzzScript,
    "answers": fuzzAnswers, "piv-client": fuzzPIVClient, "applet": fuzzApplet,
]

/// The harness chosen at start.
nonisolated(unsafe) var selected: ([UInt8]) -> Void = { _ in }

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<Int32>,
                           _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    let environment = ProcessInfo.processInfo.environment
    if let dir = environment["TRIAD_FUZZ_SEEDS"] { writePIVSeeds(to: dir) }
    let invoked = argv.pointee?.pointee.map { String(cString: $0) } ?? ""
    let name = environment["TRIAD_FUZZ_HARNESS"] ?? URL(fileURLWithPath: invoked).lastPathComponent
    guard let harness = harnesses[name] else {
        FileHandle.standardError.write(Data("fuzz: no harness '\(name)'; start the binary as one of \(harnesses.keys.sorted().joined(separator: ", ")) (a link named so) or set TRIAD_FUZZ_HARNESS\n".utf8))
        exit(2)
    }
    selected = harness
    if name == "applet" || name == "piv-client" { _ = FuzzCard.state }   // the card's keys, made before the clock runs
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    selected(FuzzInput.bytes(data, size))
    return 0
}
