import Foundation

/// Where the package's built executables and its checked-in files are, seen from a running test.
///
/// `swift build --build-tests` puts `zone`, `ceremony` and `virtual-card` in the same products
/// folder as the test runner (`TriadPackageTests.xctest`), so the tests always run the binaries
/// built from the same sources as themselves — also in a second checkout (a mutation run).
public enum Products {
    /// The repository this support target was compiled from.
    public static let repositoryRoot: String = {
        // …/Tests/TriadTestSupport/Products.swift → …
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
    }()

    /// A checked-in file or folder of the repository (`Fixtures/format`, `Ceremonies/…`).
    public static func source(_ relativePath: String) -> String {
        repositoryRoot + "/" + relativePath
    }

    /// Folders searched for built products, most likely first: the test runner's own folder,
    /// then this checkout's `.build/debug`.
    public static let searchPath: [String] = {
        var folders: [String] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            folders.append(URL(fileURLWithPath: exe).deletingLastPathComponent().path)
        }
        folders.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path)
        folders.append(repositoryRoot + "/.build/debug")
        var seen = Set<String>()
        return folders.filter { seen.insert($0).inserted }
    }()

    /// The path of a built executable, or an error naming where it was looked for.
    public static func locate(_ name: String) throws -> String {
        for folder in searchPath {
            let path = folder + "/" + name
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw TestSupportError.productNotBuilt(name: name, searched: searchPath)
    }

    /// The path of a built executable; stops the test run with a message saying to build first
    /// when it is missing (every test that needs it would fail anyway).
    public static func path(_ name: String) -> String {
        do { return try locate(name) } catch { fatalError("\(error)") }
    }

    public static var zone: String { path("zone") }
    public static var ceremony: String { path("ceremony") }
    public static var virtualCard: String { path("virtual-card") }
}
