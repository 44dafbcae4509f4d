#if canImport(Glibc)
import Glibc
#endif

/// What `zone` and `ceremony` do first: make sure no core dump can hold a key
/// (docs/threat-model.md, "a crash").
///
/// Why: these processes hold members' private keys, zone keys and, in a ceremony, the recovery
/// key in memory. With Swift's backtracer disabled (`SWIFT_BACKTRACE=enable=no`) a crash
/// falls back to the kernel's core dump, and a core file is plaintext memory on disk, readable
/// by whoever may read the dump directory. `PR_SET_DUMPABLE 0` stops core dumps and ptrace
/// attachment by other processes of the same user; `RLIMIT_CORE 0` (soft and hard, so a child
/// cannot raise it) stops them even if something makes the process dumpable again.
public enum ProcessHardening {
    /// Turns core dumps off for this process and its children. Returns what failed, if anything
    /// (the caller warns: running on is safer than refusing, since a key is not yet loaded).
    @discardableResult
    public static func disableCoreDumps() -> [String] {
        var failed: [String] = []
        var limit = rlimit(rlim_cur: 0, rlim_max: 0)
        if setrlimit(Int32(RLIMIT_CORE.rawValue), &limit) != 0 { failed.append("setrlimit(RLIMIT_CORE, 0): \(String(cString: strerror(errno)))") }
        if prctl(setDumpable, 0) != 0 { failed.append("prctl(PR_SET_DUMPABLE, 0): \(String(cString: strerror(errno)))") }
        return failed
    }

    /// Whether this process may dump core now (`PR_GET_DUMPABLE`), for tests and status.
    public static var isDumpable: Bool { prctl(getDumpable, 0) != 0 }

    // <linux/prctl.h>: Glibc's Swift module does not carry <sys/prctl.h>, and prctl(2) is
    // variadic in C, so it is called through its address with the fixed five-argument form.
    private static let getDumpable: Int32 = 3
    private static let setDumpable: Int32 = 4
    private typealias PrctlFunction = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32

    private static func prctl(_ option: Int32, _ value: UInt) -> Int32 {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "prctl") else { errno = ENOSYS; return -1 }
        return unsafeBitCast(symbol, to: PrctlFunction.self)(option, value, 0, 0, 0)
    }
}
