import ISO7816

/// SELECT, GET DATA and PUT DATA (SP 800-73-4 Part 2 §3.1.1, §3.1.2, §3.3.2).
extension VirtualPIVApplet {
    /// SELECT by AID. Any prefix of at least 5 bytes of the PIV AID selects PIV: the full
    /// AID, the 9-byte right-truncated form (Part 1 §2.2) and ykpiv's 5-byte RID. PIV is
    /// the only application, so re-selecting it keeps the security status (Part 2 §3.1.1)
    /// and an unknown AID answers `6A82` leaving PIV selected and its state unchanged;
    /// `9000` there would make OpenSC's MUSCLE driver claim the card (OpenSC card-muscle.c).
    mutating func select(_ apdu: CommandAPDU) -> Reply {
        guard apdu.p1 == 0x04 else { return .status(.incorrectP1P2) }
        let aid = apdu.data
        guard aid.count >= 5, aid.count <= DataObjects.pivAID.count,
              Array(DataObjects.pivAID.prefix(aid.count)) == aid else {
            return .status(.fileNotFound)
        }
        // P2 = 0C asks for no response data.
        return .ok(apdu.p2 == 0x0C ? [] : DataObjects.applicationPropertyTemplate)
    }

    /// GET DATA with a tag list `5C L tag`. Discovery (`7E`) is returned bare, everything
    /// else wrapped as `53 L content`. PIN-protected containers answer `6982` until VERIFY.
    mutating func getData(_ apdu: CommandAPDU) -> Reply {
        guard apdu.p1 == 0x3F, apdu.p2 == 0xFF else { return .status(.incorrectP1P2) }
        guard let list = try? TLV.parseAll(apdu.data), list.count == 1, list[0].tag == 0x5C,
              (1...3).contains(list[0].value.count) else {
            return .status(.incorrectData)
        }
        let tag = list[0].value.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        if tag == DataObjects.discoveryTag { return .ok(DataObjects.discovery) }
        if DataObjects.pinProtectedTags.contains(tag) && !pinVerified {
            return .status(.securityStatusNotSatisfied)
        }
        if let content = state.objects[tag] {
            return .ok(TLV(tag: 0x53, value: content).encoded)
        }
        if tag == DataObjects.keyHistoryTag {
            return .ok(TLV(tag: 0x53, value: DataObjects.keyHistory).encoded)
        }
        return .status(.fileNotFound)
    }

    /// PUT DATA `5C L tag, 53 L content`: writing needs the management key (Part 1 Table 2,
    /// write access "PIV Card Application Administrator"). `53 00` deletes the object, as
    /// ykpiv's `delete-certificate` does.
    mutating func putData(_ apdu: CommandAPDU) -> Reply {
        guard apdu.p1 == 0x3F, apdu.p2 == 0xFF else { return .status(.incorrectP1P2) }
        guard adminAuthenticated else { return .status(.securityStatusNotSatisfied) }
        guard let parts = try? TLV.parseAll(apdu.data), parts.count == 2,
              parts[0].tag == 0x5C, parts[1].tag == 0x53,
              (1...3).contains(parts[0].value.count) else {
            return .status(.incorrectData)
        }
        let tag = parts[0].value.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        guard DataObjects.isWritable(tag) else { return .status(.fileNotFound) }
        guard parts[1].value.count <= Self.maxObjectLength else { return .status(.notEnoughMemory) }
        let content = parts[1].value
        let saved = mutateState { state in
            state.objects[tag] = content.isEmpty ? nil : content
        }
        return saved ? .ok() : .status(.memoryFailure)
    }

    /// Largest data object (a YubiKey 5 allows about 3 KB per object).
    static let maxObjectLength = 3072
}
