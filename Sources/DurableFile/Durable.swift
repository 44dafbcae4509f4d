#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemPackage

/// One-call durable writes of content already in memory (metadata, state files, reports,
/// transcripts): the whole `StagedFile` sequence of docs/format.md §7.1 in one call.
public enum Durable {
    /// Writes `bytes` as the file `name` in `folder`: temporary (0600), fdatasync, `mode`,
    /// publication, folder fsync. With `.noReplace` an existing name throws
    /// `DurableError.exists` and nothing is written.
    public static func write(_ bytes: [UInt8], as name: String, in folder: DurableFolder, mode: mode_t,
                             publication: StagedFile.Publication = .replace) throws {
        let file = try StagedFile(in: folder, name: name, publication: publication, finalMode: mode)
        do { try file.write(bytes) } catch { file.discard(); throw error }
        try file.commit()
    }

    /// The same for the file at `path`, its folder opened by path.
    public static func write(_ bytes: [UInt8], to path: FilePath, mode: mode_t,
                             publication: StagedFile.Publication = .replace) throws {
        let (folder, name) = try DurableFolder.containing(path)
        try write(bytes, as: name, in: folder, mode: mode, publication: publication)
    }
}
