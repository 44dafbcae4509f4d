// swift-tools-version:6.0
// Triad: split-knowledge encryption and recovery. Targets are layered one way:
// C bindings → safe wrappers → format → zones / cards / journal → ceremonies → thin CLIs.
// Each target declares exactly the modules it imports; docs/ARCHITECTURE.md draws the same edges.
import PackageDescription

let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")
let grdb: Target.Dependency = .product(name: "GRDB", package: "GRDB.swift")
let yams: Target.Dependency = .product(name: "Yams", package: "Yams")
let system: Target.Dependency = .product(name: "SystemPackage", package: "swift-system")

let package = Package(
    name: "Triad",
    products: [
        .executable(name: "zone", targets: ["zone"]),
        .executable(name: "ceremony", targets: ["ceremony"]),
        .executable(name: "virtual-card", targets: ["virtual-card"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.4.0"),
    ],
    targets: [
        // C bindings: only TriadCrypto imports COpenSSL, only TriadPCSC imports CPCSC, each through
        // `internal import`, so no C type leaks into a public interface (docs/ARCHITECTURE.md).
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CPCSC", pkgConfig: "libpcsclite", providers: [.apt(["libpcsclite-dev"])]),
        // Only TriadMount imports CFUSE (docs/mount.md §1.1).
        .systemLibrary(name: "CFUSE", pkgConfig: "fuse3", providers: [.apt(["libfuse3-dev"])]),
        // Only TriadFormat (openat2, extended attributes) and DurableFile (renameat2) import
        // CLinux: calls the C library does not wrap (docs/zone.md §1b: zone files are opened
        // beneath the zone root; docs/format.md §7.1: outputs that must not replace anything).
        .systemLibrary(name: "CLinux", path: "Sources/CLinux"),

        // ISO/IEC 7816-4 values (APDUs, status words, BER-TLV): the standard library only,
        // shared by the PC/SC transport, the PIV client and the virtual card.
        .target(name: "ISO7816"),

        // Safe wrappers.
        .target(name: "TriadCrypto", dependencies: ["COpenSSL"]),
        // The one way a file is written durably and exclusively (docs/format.md §7.1, §7.4):
        // a temporary in the destination's folder, by descriptor, published by rename. On
        // swift-system's FilePath, without Foundation; every writer in the project uses it.
        .target(name: "DurableFile", dependencies: ["CLinux", system]),
        .target(name: "TriadPCSC", dependencies: ["CPCSC", "ISO7816"]),

        // Format: the encrypted file, key slots, recipients and identities.
        .target(name: "TriadFormat", dependencies: ["DurableFile", "TriadCrypto", "CLinux", system]),

        // Zones, cards, journal.
        .target(name: "TriadZone", dependencies: ["TriadFormat", "DurableFile", "TriadCrypto", system]),
        .target(name: "TriadPIV", dependencies: ["ISO7816", "TriadPCSC", "TriadCrypto"]),
        .target(name: "VirtualPIV", dependencies: ["ISO7816", "DurableFile", "TriadCrypto", system]),
        .target(name: "TriadJournal", dependencies: ["DurableFile", "TriadCrypto", grdb, system]),

        // Recovery: the escrow blob and the key operations ceremonies run.
        .target(name: "TriadRecovery", dependencies: ["TriadZone", "TriadPIV", "TriadPCSC", "TriadFormat", "DurableFile", "TriadCrypto", system]),

        // Ceremonies.
        .target(name: "TriadCeremony", dependencies: ["TriadJournal", "TriadRecovery", "TriadZone", "TriadPIV", "TriadPCSC", "DurableFile", "TriadCrypto", yams, system]),

        // zone mount: the FUSE daemon (docs/mount.md).
        .target(name: "TriadMount", dependencies: ["CFUSE", "TriadZone", "TriadFormat", "TriadCrypto", "TriadPCSC", "DurableFile", system]),

        // Shared CLI plumbing (the command shell, identity strings, PIN entry, error messages)
        // and the thin CLIs: each main() is one call to CommandShell.main.
        .target(name: "TriadCLI", dependencies: ["TriadZone", "TriadPIV", "TriadPCSC", "TriadFormat", "TriadCrypto", argumentParser]),
        .executableTarget(name: "zone", dependencies: ["TriadCLI", "TriadZone", "TriadMount", "TriadCrypto", argumentParser]),
        .executableTarget(name: "ceremony", dependencies: ["TriadCLI", "TriadCeremony", "TriadJournal", "TriadRecovery", argumentParser]),
        .executableTarget(name: "virtual-card", dependencies: ["TriadCLI", "VirtualPIV", argumentParser]),

        // Benchmarks are not products: the format alone, timed by scripts/bench (docs/performance.md).
        .executableTarget(name: "triad-format-bench", dependencies: ["TriadFormat", "TriadCrypto"],
                          path: "Tests/Benchmarks/FormatBench"),

        // Test support shared by every test target (docs/testing.md): running the built binaries,
        // PKI made with stock openssl, seeded data, the virtual-card harness. Test targets only.
        .target(name: "TriadTestSupport", path: "Tests/TriadTestSupport"),
        .testTarget(name: "TriadTestSupportTests", dependencies: ["TriadTestSupport"]),
        .testTarget(name: "TriadCLITests", dependencies: ["TriadCLI", "TriadZone", "TriadTestSupport", argumentParser]),
        .testTarget(name: "TriadCryptoTests", dependencies: ["TriadCrypto", "TriadTestSupport"]),
        .testTarget(name: "DurableFileTests", dependencies: ["DurableFile", system]),
        .testTarget(name: "TriadFormatTests", dependencies: ["TriadFormat", "DurableFile", "TriadCrypto"]),
        .testTarget(name: "TriadZoneTests", dependencies: ["TriadZone", "TriadFormat", "TriadCrypto", "TriadTestSupport"]),
        .testTarget(name: "TriadPIVTests", dependencies: ["ISO7816", "TriadPIV", "VirtualPIV", "TriadPCSC", "TriadCLI", "TriadCrypto", "TriadTestSupport"]),
        .testTarget(name: "TriadJournalTests", dependencies: ["TriadJournal", "TriadCrypto", "TriadTestSupport", grdb]),
        .testTarget(name: "TriadCeremonyTests", dependencies: ["TriadCeremony", "TriadJournal", "TriadCrypto", "TriadTestSupport"]),
        .testTarget(name: "TriadMountTests", dependencies: ["TriadMount", "TriadFormat", "TriadCrypto"]),
        .testTarget(name: "TriadRecoveryTests", dependencies: ["ISO7816", "TriadRecovery", "TriadCeremony", "TriadZone", "TriadPIV", "TriadPCSC", "VirtualPIV", "TriadFormat", "TriadCrypto", "TriadTestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)
