// triad-format-bench: times TriadFormat alone, without the zone layer (policy, keyring),
// for scripts/bench. Not a user tool. Fixed test zone key; the recovery slot is real.
//
//   triad-format-bench encrypt IN OUT RECOVERY_CERT    file → file (temp + fsync + rename)
//   triad-format-bench decrypt IN OUT RECOVERY_CERT    file → file (temp + fsync + rename)
//   triad-format-bench cat IN OUT RECOVERY_CERT        file → descriptor (verify pass + write pass)
//   triad-format-bench seal IN - RECOVERY_CERT         file → /dev/null (crypto and reads only)
//   triad-format-bench encrypt-dir DIR - RECOVERY_CERT every regular file of DIR in place (per-file cost)
import Glibc
import TriadCrypto
import TriadFormat

func fail(_ message: String) -> Never {
    fputs("triad-format-bench: \(message)\n", stderr)
    exit(1)
}

let args = CommandLine.arguments
guard args.count == 5 else { fail("usage: triad-format-bench encrypt|decrypt|cat|seal IN OUT RECOVERY_CERT") }
let zoneID = [UInt8](repeating: 0x42, count: 16)
let zone = ZoneSlotKey(zoneID: zoneID, epoch: 1, zoneKey: SecureBytes([UInt8](repeating: 0x17, count: 32)))
do {
    guard let file = fopen(args[4], "r") else { fail("\(args[4]): cannot open the recovery certificate") }
    var pem: [UInt8] = []
    var c = fgetc(file)
    while c != EOF { pem.append(UInt8(c)); c = fgetc(file) }
    fclose(file)
    let recovery = RecoveryRecipient(certificate: try Certificate(pem: String(decoding: pem, as: UTF8.self)))
    switch args[1] {
    case "encrypt":
        try EncryptedFile.encrypt(OpenedFile.at(args[2]), to: FileLocation.at(args[3]), zoneID: zoneID, recipients: [zone, recovery]).commit()
    case "decrypt":
        try EncryptedFile.decrypt(OpenedFile.at(args[2]), to: FileLocation.at(args[3]), identities: [zone]).commit()
    case "cat":
        let fd = open(args[3], O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { fail("\(args[3]): cannot open") }
        try EncryptedFile.decrypt(OpenedFile.at(args[2]), to: fd, identities: [zone])
        close(fd)
    case "seal":
        let input = open(args[2], O_RDONLY), output = open("/dev/null", O_WRONLY)
        guard input >= 0, output >= 0 else { fail("\(args[2]): cannot open") }
        try EncryptedFile.encrypt(readingFrom: input, writingTo: output, zoneID: zoneID, recipients: [zone, recovery])
    case "encrypt-dir":
        guard let dir = opendir(args[2]) else { fail("\(args[2]): cannot open the folder") }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if entry.pointee.d_type == UInt8(DT_REG) { names.append(name) }
        }
        closedir(dir)
        for name in names {
            let path = args[2] + "/" + name
            try EncryptedFile.encrypt(OpenedFile.at(path), zoneID: zoneID, recipients: [zone, recovery]).commit()
        }
    default:
        fail("unknown mode \(args[1])")
    }
} catch {
    fail("\(error)")
}
