import TriadCrypto
import ISO7816

/// The YubiKey PIV extensions yubico-piv-tool and ykcs11 use (ykpiv.h `YKPIV_INS_*`,
/// docs/virtual-card.md): GET METADATA, SET MANAGEMENT KEY, RESET, SET PIN RETRIES,
/// IMPORT ASYMMETRIC KEY.
/// GET VERSION and GET SERIAL are answered in `dispatch`.
extension VirtualPIVApplet {
    /// GET METADATA `00 F7 00 slot`: algorithm (`01`), policies (`02`), origin (`03`),
    /// public key (`04`), default flag (`05`), retries (`06`). ykpiv ≥ 2.3 reads the
    /// management-key algorithm from here before authenticating.
    mutating func getMetadata(_ apdu: CommandAPDU) -> Reply {
        guard apdu.p1 == 0x00 else { return .status(.incorrectP1P2) }
        switch apdu.p2 {
        case Self.managementKeyReference:
            return .ok(TLV(tag: 0x01, value: [state.managementAlgorithm.pivAlgorithmID]).encoded
                + TLV(tag: 0x02, value: [0x00, 0x01]).encoded
                + TLV(tag: 0x05, value: [state.managementKeyIsDefault ? 1 : 0]).encoded)
        case Self.pinReference:
            return .ok(TLV(tag: 0x01, value: [0xFF]).encoded
                + TLV(tag: 0x05, value: [state.pinIsDefault ? 1 : 0]).encoded
                + TLV(tag: 0x06, value: [UInt8(state.pinRetries), UInt8(state.pinTriesLeft)]).encoded)
        case Self.pukReference:
            return .ok(TLV(tag: 0x01, value: [0xFF]).encoded
                + TLV(tag: 0x05, value: [state.pukIsDefault ? 1 : 0]).encoded
                + TLV(tag: 0x06, value: [UInt8(state.pukRetries), UInt8(state.pukTriesLeft)]).encoded)
        case let slot where PIVSlot.asymmetric.contains(slot):
            guard let slotKey = state.keys[slot] else { return .status(.referenceNotFound) }
            guard let key = try? PrivateKey(pkcs8DER: slotKey.pkcs8),
                  let publicTemplate = Self.publicKeyTemplate(key.publicKey) else {
                return .status(.memoryFailure)
            }
            return .ok(TLV(tag: 0x01, value: [slotKey.algorithm]).encoded
                + TLV(tag: 0x02, value: [effectivePINPolicy(slot: slot, slotKey), slotKey.touchPolicy == 0 ? 1 : slotKey.touchPolicy]).encoded
                + TLV(tag: 0x03, value: [slotKey.origin]).encoded
                + TLV(tag: 0x04, value: publicTemplate).encoded)
        default:
            return .status(.referenceNotFound)
        }
    }

    /// YubiKey defaults when no PIN policy was requested: 9E never, 9C always, else once.
    func effectivePINPolicy(slot: UInt8, _ key: VirtualCardState.SlotKey) -> UInt8 {
        if key.pinPolicy != 0 { return key.pinPolicy }
        switch slot {
        case PIVSlot.cardAuthentication: return PIVSlot.pinPolicyNever
        case PIVSlot.digitalSignature: return PIVSlot.pinPolicyAlways
        default: return 2
        }
    }

    /// SET MANAGEMENT KEY `00 FF FF FF|FE`, data `alg ‖ 9B ‖ len ‖ key`; needs the current
    /// management key. Any of 3DES/AES-128/192/256 may be set.
    mutating func setManagementKey(_ apdu: CommandAPDU) -> Reply {
        guard apdu.p1 == 0xFF, apdu.p2 == 0xFF || apdu.p2 == 0xFE else { return .status(.incorrectP1P2) }
        guard adminAuthenticated else { return .status(.securityStatusNotSatisfied) }
        let d = apdu.data
        guard d.count >= 3, d[1] == Self.managementKeyReference,
              let cipher = BlockCipher(pivAlgorithmID: d[0]),
              Int(d[2]) == cipher.keySize, d.count == 3 + cipher.keySize else {
            return .status(.incorrectData)
        }
        let newKey = SecureBytes(d[3...])
        let saved = mutateState {
            $0.managementAlgorithm = cipher
            $0.managementKey = newKey
            $0.managementKeyIsDefault = newKey == SecureBytes(VirtualCardState.defaultManagementKey)
        }
        return saved ? .ok() : .status(.memoryFailure)
    }

    /// RESET `00 FB 00 00`: wipes keys, objects and secrets back to a blank card, but only
    /// when both PIN and PUK are blocked (a YubiKey's rule, so a thief cannot reset a card
    /// that still has tries left without first spending them all).
    mutating func resetApplet(_ apdu: CommandAPDU) -> Reply {
        guard state.pinTriesLeft == 0, state.pukTriesLeft == 0 else {
            return .status(.conditionsOfUseNotSatisfied)
        }
        clearVolatile()
        return replaceState(.blank(serial: state.serial, managementAlgorithm: state.managementAlgorithm))
            ? .ok() : .status(.memoryFailure)
    }

    /// SET PIN RETRIES `00 FA pinTries pukTries`: needs the management key and the PIN;
    /// resets PIN and PUK to their defaults, as a YubiKey does.
    mutating func setPINRetries(_ apdu: CommandAPDU) -> Reply {
        guard adminAuthenticated, pinVerified else { return .status(.securityStatusNotSatisfied) }
        guard (1...15).contains(apdu.p1), (1...15).contains(apdu.p2) else { return .status(.incorrectP1P2) }
        let saved = mutateState {
            $0.pinRetries = Int(apdu.p1); $0.pinTriesLeft = Int(apdu.p1)
            $0.pukRetries = Int(apdu.p2); $0.pukTriesLeft = Int(apdu.p2)
            $0.setPIN(VirtualCardState.padded(VirtualCardState.defaultPIN)); $0.pinIsDefault = true
            $0.setPUK(VirtualCardState.padded(VirtualCardState.defaultPUK)); $0.pukIsDefault = true
        }
        return saved ? .ok() : .status(.memoryFailure)
    }

    /// IMPORT ASYMMETRIC KEY `00 FE alg slot` (ykpiv `ykpiv_import_private_key`): RSA as
    /// `01 p, 02 q, 03 dP, 04 dQ, 05 qInv` (each modulus/2 bytes; the card recomputes the
    /// rest from p and q with e = 65537, as a YubiKey does), EC as `06 d`; optional `AA`/`AB`
    /// policies. Needs the management key. Metadata then reports origin 2 (imported).
    /// Triad's ceremonies generate keys on the card; this exists for drills that must
    /// reproduce a known key and for yubico-piv-tool's `import-key`.
    mutating func importKey(_ apdu: CommandAPDU) -> Reply {
        guard PIVSlot.asymmetric.contains(apdu.p2) else { return .status(.incorrectP1P2) }
        guard adminAuthenticated else { return .status(.securityStatusNotSatisfied) }
        guard let algorithm = PIVAlgorithm.keyAlgorithm(apdu.p1) else { return .status(.incorrectP1P2) }
        guard let parts = try? TLV.parseAll(apdu.data) else { return .status(.incorrectData) }
        let key: PrivateKey
        do {
            switch algorithm {
            case let .rsa(bits):
                guard let p = parts.value(0x01), let q = parts.value(0x02),
                      p.count == bits / 16, q.count == bits / 16 else { return .status(.incorrectData) }
                key = try PrivateKey(rsaPrimeP: SecureBytes(p), primeQ: SecureBytes(q))
                guard key.algorithm == algorithm else { return .status(.incorrectData) }
            case .ecP256, .ecP384:
                guard let d = parts.value(0x06), d.count == (algorithm.ecPointByteCount! - 1) / 2 else {
                    return .status(.incorrectData)
                }
                key = try PrivateKey(ecPrivateScalar: SecureBytes(d), curve: algorithm)
            }
        } catch {
            return .status(.incorrectData)
        }
        guard let der = try? key.pkcs8DER() else { return .status(.noPreciseDiagnosis) }
        let slotKey = VirtualCardState.SlotKey(algorithm: apdu.p1, pkcs8: der, origin: 2,
                                               pinPolicy: parts.value(0xAA)?.first ?? 0,
                                               touchPolicy: parts.value(0xAB)?.first ?? 0)
        return mutateState({ $0.keys[apdu.p2] = slotKey }) ? .ok() : .status(.memoryFailure)
    }
}
