import ArgumentParser
import TriadCLI
import Foundation
import TriadCeremony

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the scripts in Ceremonies/.")
    @OptionGroup var scripts: ScriptsOption

    func run() throws {
        let paths = ScriptLoader.scriptPaths(in: scripts.resolved)
        guard !paths.isEmpty else { throw CommandFailure("no scripts in \(scripts.resolved); pass --scripts DIR") }
        for path in paths {
            do {
                let s = try ScriptLoader.load(path: path)
                let problems = TriadCeremony.Lint.check(s)
                print("\(s.name)\tv\(s.version)\t\(s.title)\t\(path)\(problems.isEmpty ? "" : "\t(INVALID: ceremony lint \(path))")")
            } catch {
                print("?\t-\t(unreadable: \(error))\t\(path)")
            }
        }
    }
}

struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the script for paper: roles, acts, steps, lines to initial.")
    @Argument(help: "A script file, or a script name from Ceremonies/.") var script: String
    @Option(help: "markdown or html.") var format: String = "markdown"
    @OptionGroup var scripts: ScriptsOption

    func validate() throws {
        guard ["markdown", "md", "html"].contains(format) else { throw ValidationError("--format must be markdown or html") }
    }

    func run() throws {
        let s = try scripts.load(script)
        let problems = TriadCeremony.Lint.check(s)
        guard problems.isEmpty else { throw CeremonyError.scriptInvalid(origin: s.origin, problems: problems) }
        print(format == "html" ? HTMLRender.render(s) : MarkdownRender.render(s), terminator: "")
    }
}

struct Lint: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check scripts: actions, roles, preconditions, recovery factors.")
    @Argument(help: "Script files or names (default: every script in Ceremonies/).") var paths: [String] = []
    @OptionGroup var scripts: ScriptsOption

    func run() throws {
        let targets = paths.isEmpty ? ScriptLoader.scriptPaths(in: scripts.resolved) : paths
        guard !targets.isEmpty else { throw CommandFailure("no scripts to check in \(scripts.resolved)") }
        var bad = 0
        for target in targets {
            do {
                let s = try scripts.load(target)
                let problems = TriadCeremony.Lint.check(s)
                if problems.isEmpty {
                    print("ok   \(s.origin)  \(s.name) v\(s.version)  SHA-256 \(s.sha256)")
                } else {
                    bad += 1
                    FileHandle.standardError.write(Data("\(CeremonyError.scriptInvalid(origin: s.origin, problems: problems))\n".utf8))
                }
            } catch {
                bad += 1
                FileHandle.standardError.write(Data("\(error)\n".utf8))
            }
        }
        if bad > 0 { throw CommandFailure("\(bad) of \(targets.count) script(s) are not valid; fix the lines named above") }
    }
}
