/// The Answer-To-Reset of the virtual card (ISO/IEC 7816-3 §8.2).
///
/// `3B 88 01 "Triad-SW" TCK`: direct convention, T0 = `88` (TD1 present, 8 historical
/// bytes), TD1 = `01` (T=1 only), historical bytes spelling "Triad-SW" so that every
/// `opensc-tool -a`, pcscd log and ATR parser shows this is a *software* card, and the
/// check byte TCK. The ATR is deliberately absent from OpenSC's `piv_atrs` table and
/// names no YubiKey, so OpenSC treats it as a plain PIV card with EC support
/// (OpenSC card-piv.c: the jcardsim ATR `3B 80 80 01 01` would disable EC).
public enum ATR {
    /// "Triad-SW": what every ATR parser shows of this card.
    public static let historicalBytes: [UInt8] = Array("Triad-SW".utf8)

    /// The whole ATR with its check byte.
    public static let bytes: [UInt8] = {
        var atr: [UInt8] = [0x3B, 0x80 | UInt8(historicalBytes.count), 0x01] + historicalBytes
        let tck = atr.dropFirst().reduce(0, ^)
        atr.append(tck)
        return atr
    }()
}
