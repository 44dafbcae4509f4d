#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import TriadCLI
import TriadMount
import TriadZone

extension ZoneCommand {
    /// `zone unlock` (docs/mount.md §7): a card mount locked because its card left is opened
    /// again in place once the card is back. The PIN goes to the mount's daemon over its
    /// control socket (0600, in the user's runtime folder, caller's uid checked), never through
    /// argv, the environment or a file; the daemon verifies it on the card.
    struct Unlock: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Unlock a card mount again after its card left and came back (the PIN is verified on the card).",
            discussion: """
            A mount made with --identity piv: and --on-removal lock (the default) refuses every access once \
            its card leaves. Put the card back and run zone unlock MOUNTPOINT: the PIN is asked (or read \
            from --pin-fd N), verified on the card, and the zone keys are unwrapped again. A wrong PIN is \
            refused with the tries left; files opened before the card left stay unusable, open them again.
            """)

        @Argument(help: "The mount point of the locked mount.") var mountPoint: String
        @Option(name: .customLong("pin-fd"), help: "Read the card PIN from this file descriptor.") var pinFD: Int32?

        func run() throws {
            let point = Zone.absolute(mountPoint)
            guard MountTable.current().contains(where: { $0.mountPoint == point }) else {
                throw MountError.notMounted(path: point)
            }
            let pin = try PINEntry.read(pinFD: pinFD, prompt: "PIN for the card of the mount \(point): ")
            if let reason = try ControlSocket.unlock(mountPoint: point, pin: pin) {
                throw MountError.unlock(reason: "\(point): not unlocked: \(reason)")
            }
            print("\(point): unlocked")
        }
    }
}
