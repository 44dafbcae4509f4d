import TriadJournal

/// What the terminal shows: the ceremony header, act banners, and for each step the act,
/// the step number, who acts, the words to read aloud and who confirms.
enum StepCard {
    static func header(_ script: CeremonyScript, ceremonyID: String, practice: Bool, mode: String) -> String {
        let hash = Array(script.sha256.prefix(32))
        let words = AnchorWords.anchor(hexHash: String(hash))
        var lines = [String(repeating: "#", count: 72)]
        if practice { lines.append("##  PRACTICE RUN — not a production ceremony") }
        lines += [
            "##  \(script.title) — \(script.name) v\(script.version)",
            "##  Ceremony id: \(ceremonyID)",
            "##  Mode: \(mode)",
            "##  Script SHA-256: \(script.sha256)",
            "##  Script words:   \(AnchorWords.display(words))",
            "##  Compare the SHA-256 with the approved printed script before going on.",
            String(repeating: "#", count: 72),
        ]
        return lines.joined(separator: "\n")
    }

    static func actBanner(_ act: Act, number: Int, of total: Int) -> String {
        "\n━━━━ ACT \(number) of \(total): \(act.title) ━━━━"
    }

    static func card(_ script: CeremonyScript, _ act: Act, _ step: Step, action: any CeremonyAction.Type,
                     participants: Participants) -> String {
        let all = script.allSteps
        let index = (all.firstIndex { $0.step.id == step.id } ?? 0) + 1
        func who(_ role: String) -> String {
            let title = script.role(role)?.title ?? role
            return participants.person(for: role).map { "\(title) — \($0.display)" } ?? "\(title) (not yet identified)"
        }
        var lines = [
            "",
            "Step \(index) of \(all.count) · \(act.title) · \(step.id)\(step.title.isEmpty ? "" : " — \(step.title)")",
            "  Acting:     \(who(step.role))",
            "  Read aloud: \(step.say.trimmingCharacters(in: .whitespacesAndNewlines))",
            "  Tool does:  \(action.summary)",
        ]
        if !step.confirm.isEmpty { lines.append("  Confirms:   " + step.confirm.map(who).joined(separator: "; ")) }
        return lines.joined(separator: "\n")
    }
}
