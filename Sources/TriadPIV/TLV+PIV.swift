import ISO7816

/// Strict BER-TLV reading of card answers, with failures as `PIVError.malformedResponse`
/// naming the command (`context`), so every PIV command refuses a bad layout the same way.
extension TLV {
    /// Parses exactly one object that must span all of `bytes` and carry `tag`.
    static func parseSingle(_ bytes: [UInt8], tag expected: UInt32, context: String) throws -> TLV {
        let all: [TLV]
        do { all = try parseAll(bytes) } catch let error as TLVError { throw PIVError.malformedResponse(problem: "\(context): \(error)") }
        guard all.count == 1 else {
            throw PIVError.malformedResponse(problem: "\(context): expected one \(tagName(expected)) object, found \(all.count)")
        }
        guard all[0].tag == expected else {
            throw PIVError.malformedResponse(problem: "\(context): expected tag \(tagName(expected)), found \(tagName(all[0].tag))")
        }
        return all[0]
    }

    /// Parses the children of a constructed value, refusing duplicate tags.
    static func children(of value: [UInt8], context: String) throws -> [UInt32: [UInt8]] {
        let all: [TLV]
        do { all = try parseAll(value) } catch let error as TLVError { throw PIVError.malformedResponse(problem: "\(context): \(error)") }
        var map: [UInt32: [UInt8]] = [:]
        for t in all {
            guard map[t.tag] == nil else { throw PIVError.malformedResponse(problem: "\(context): tag \(tagName(t.tag)) appears twice") }
            map[t.tag] = t.value
        }
        return map
    }
}
