import ISO7816

/// The PIV data objects the card synthesises or creates at initialisation, laid out as
/// SP 800-73-4 Part 1 §3.1 and Appendix A (Table 8 CCC, Table 9 CHUID, Table 16
/// Discovery Object, Table 19 Key History) describe them.
public enum DataObjects {
    /// PIV application identifier, full form (SP 800-73-4 Part 1 §2.2).
    public static let pivAID: [UInt8] = [0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00]
    /// The NIST RID alone; ykpiv selects with this (ykpiv.c `_ykpiv_select_application`).
    public static let pivRID: [UInt8] = [0xA0, 0x00, 0x00, 0x03, 0x08]

    /// Tags of the data objects the card creates or answers itself (SP 800-73-4 Part 1 Table 3).
    public static let chuidTag: UInt32 = 0x5FC102
    /// Card Capability Container.
    public static let cccTag: UInt32 = 0x5FC107
    /// Key History Object.
    public static let keyHistoryTag: UInt32 = 0x5FC10C
    /// Discovery Object (PIN usage policy).
    public static let discoveryTag: UInt32 = 0x7E

    /// Certificate containers by key slot (SP 800-73-4 Part 1 Table 3).
    public static let certificateTags: [UInt8: UInt32] = [
        0x9A: 0x5FC105, 0x9C: 0x5FC10A, 0x9D: 0x5FC10B, 0x9E: 0x5FC101,
    ]

    /// Containers whose contact access rule is "PIN" (Part 1 Table 2): Cardholder
    /// Fingerprints, Printed Information, Facial Image, Iris Images, Pairing Code (the last
    /// is PIN-protected on YubiKeys). Before VERIFY they answer `6982`; OpenSC probes
    /// `5FC109` to learn whether the PIN is verified (OpenSC card-piv.c).
    public static let pinProtectedTags: Set<UInt32> = [0x5FC103, 0x5FC109, 0x5FC108, 0x5FC121, 0x5FC123]

    /// Tags PUT DATA may write: the 5FC1xx container range and YubiKey's 5FFFxx objects.
    static func isWritable(_ tag: UInt32) -> Bool {
        (0x5FC101...0x5FC123).contains(tag) || (0x5FFF00...0x5FFF15).contains(tag)
    }

    /// Shown in the SELECT response (`50` application label) so every client and log
    /// names this card for what it is.
    public static let applicationLabel = "Triad software PIV card - no hardware protection"

    /// SELECT response: the application property template (Part 2 §3.1.1, Table 3), with
    /// the algorithms the card supports (`AC`) so OpenSC registers RSA and EC mechanisms.
    static var applicationPropertyTemplate: [UInt8] {
        var inner = TLV(tag: 0x4F, value: pivAID).encoded
        inner += TLV(tag: 0x79, value: TLV(tag: 0x4F, value: pivRID).encoded).encoded
        inner += TLV(tag: 0x50, value: Array(applicationLabel.utf8)).encoded
        for alg: UInt8 in [0x07, 0x11, 0x14] {
            inner += TLV(tag: 0xAC, value: TLV(tag: 0x80, value: [alg]).encoded + TLV(tag: 0x06, value: [0x00]).encoded).encoded
        }
        return TLV(tag: 0x61, value: inner).encoded
    }

    /// Discovery Object: the AID and PIN usage policy `40 00` (PIV application PIN only).
    static var discovery: [UInt8] {
        TLV(tag: 0x7E, value: TLV(tag: 0x4F, value: pivAID).encoded + TLV(tag: 0x5F2F, value: [0x40, 0x00]).encoded).encoded
    }

    /// Key History: no retired keys on or off the card.
    static var keyHistory: [UInt8] {
        TLV(tag: 0xC1, value: [0]).encoded + TLV(tag: 0xC2, value: [0]).encoded + TLV(tag: 0xFE, value: []).encoded
    }

    /// A FASC-N with agency code 9999 ("non-government", SP 800-73-4 Part 1 §3.3.2,
    /// TIG SCEPACS): OpenSC then takes the token serial from the GUID instead.
    static let nonGovernmentFASCN: [UInt8] = [
        0xD4, 0xE7, 0x39, 0xDA, 0x73, 0x9C, 0xED, 0x39, 0xCE, 0x73, 0x9D, 0x83, 0x68,
        0x58, 0x21, 0x08, 0x42, 0x10, 0x84, 0x21, 0xC8, 0x42, 0x10, 0xC3, 0xEB,
    ]

    /// CHUID content: FASC-N, GUID, expiry date, empty issuer signature, error detection.
    static func chuid(guid: [UInt8]) -> [UInt8] {
        TLV(tag: 0x30, value: nonGovernmentFASCN).encoded
            + TLV(tag: 0x34, value: guid).encoded
            + TLV(tag: 0x35, value: Array("20991231".utf8)).encoded
            + TLV(tag: 0x3E, value: []).encoded
            + TLV(tag: 0xFE, value: []).encoded
    }

    /// CCC content. The 21-byte card identifier is the GSC-RID, a manufacturer byte,
    /// card type `02` (Java Card-like) and 14 bytes that spell "Triad-SW" plus the serial.
    static func ccc(serial: UInt32) -> [UInt8] {
        var cardID: [UInt8] = [0xA0, 0x00, 0x00, 0x01, 0x16, 0xFF, 0x02]
        cardID += Array("Triad-SW".utf8)
        cardID += [0x00, 0x00, UInt8(serial >> 24), UInt8(serial >> 16 & 0xFF),
                   UInt8(serial >> 8 & 0xFF), UInt8(serial & 0xFF)]
        var content = TLV(tag: 0xF0, value: cardID).encoded
        content += TLV(tag: 0xF1, value: [0x21]).encoded + TLV(tag: 0xF2, value: [0x21]).encoded + TLV(tag: 0xF3, value: []).encoded
        content += TLV(tag: 0xF4, value: [0x00]).encoded + TLV(tag: 0xF5, value: [0x10]).encoded + TLV(tag: 0xF6, value: []).encoded
        content += TLV(tag: 0xF7, value: []).encoded + TLV(tag: 0xFA, value: []).encoded + TLV(tag: 0xFB, value: []).encoded
        content += TLV(tag: 0xFC, value: []).encoded + TLV(tag: 0xFD, value: []).encoded + TLV(tag: 0xFE, value: []).encoded
        return content
    }
}
