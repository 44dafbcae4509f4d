import ISO7816

/// `63Cx`: verification failed, x tries left (SP 800-73-4 Part 2 §3.2.1).
func triesLeftSW(_ n: Int) -> StatusWord { .verificationFailed(triesLeft: n) }

/// The outcome of one command before response chunking: data plus status word.
struct Reply {
    var data: [UInt8]
    var sw: StatusWord

    static func ok(_ data: [UInt8] = []) -> Reply { Reply(data: data, sw: .success) }
    static func status(_ sw: StatusWord) -> Reply { Reply(data: [], sw: sw) }
}
