// Help text: the command list for `engram help`, and each command's own page.

/// Renders help pages from command specs.
enum HelpRenderer {
    /// `engram NAME SYNOPSIS…`, wrapped before 80 columns with continuation lines indented.
    static func usageLine(_ spec: CommandSpec) -> String {
        let lead = "engram \(spec.name)"
        let indent = String(repeating: " ", count: lead.count + 8)
        var lines: [String] = []
        var line = lead
        for word in spec.synopsis {
            if line.count + 1 + word.count > 72, line != lead, line != indent {
                lines.append(line)
                line = indent + word
            } else {
                line += (line == indent ? "" : " ") + word
            }
        }
        lines.append(line)
        return lines.joined(separator: "\n")
    }

    /// The page for one command: usage, summary, discussion, arguments, options, examples.
    static func page(for spec: CommandSpec) -> String {
        var out = "usage: \(usageLine(spec))\n\n\(spec.summary)\n"
        if !spec.discussion.isEmpty {
            out += "\n\(spec.discussion)\n"
        }
        if !spec.positionals.isEmpty {
            out += "\narguments:\n"
            out += list(spec.positionals.map { ($0.name, $0.help) })
        }
        let visible = spec.options.filter { !$0.hidden }
        if !visible.isEmpty {
            out += "\noptions:\n" + list(visible.map(entry))
        }
        out += "\nglobal options:\n" + list(GlobalOptions.specs.map(entry))
        if !spec.examples.isEmpty {
            out += "\nexamples:\n"
            out += spec.examples.map { "  \($0)\n" }.joined()
        }
        return out
    }

    /// The overview: every command with its summary, then the environment and exit codes.
    static func overview(_ commands: [CommandSpec]) -> String {
        var out = """
            engram: the command-line client of engramd, an associative-memory database

            usage: engram [--socket PATH] [--json] [--quiet] COMMAND [ARGUMENTS…]
                   engram --version

            commands:

            """
        let shown = commands.filter { $0.path != ["help"] }
        out += list(shown.map { ($0.name, $0.summary) })
        out += """

            global options:

            """
        out += list(GlobalOptions.specs.map(entry))
        out += """

            environment:
              ENGRAM_SOCKET  engramd's socket when --socket is not given; without either,
                             ./\(SocketPath.localDefault) if it exists, else
                             \(SocketPath.systemDefault)

            exit codes:
              0   success
              1   engramd replied with an error (its code and message are printed)
              64  bad usage
              65  bad input data (a vector, a CSV row, a feature program)
              69  engramd unavailable
              74  a local file cannot be read or written
              130 an ingest was interrupted (run it again to resume)

            Run 'engram COMMAND --help' for a command's options and examples.

            """
        return out
    }

    /// The subcommands of a family such as `bank`.
    static func family(_ word: String, _ commands: [CommandSpec]) -> String {
        let members = commands.filter { $0.path.first == word }
        var out = "usage: engram \(word) SUBCOMMAND …\n\nsubcommands:\n"
        out += list(members.map { ($0.name, $0.summary) })
        out += "\nRun 'engram \(word) SUBCOMMAND --help' for its options and examples.\n"
        return out
    }

    // MARK: - Layout

    private static func entry(_ option: OptionSpec) -> (String, String) {
        let name = option.valueName.map { "--\(option.name) \($0)" } ?? "--\(option.name)"
        return (name, option.help)
    }

    /// Two columns: names padded to the widest (capped so long names wrap their help).
    private static func list(_ rows: [(String, String)]) -> String {
        let width = min(28, rows.map(\.0.count).max() ?? 0)
        var out = ""
        for (name, help) in rows {
            if name.count > width {
                out += "  \(name)\n" + String(repeating: " ", count: width + 4) + help + "\n"
            } else {
                let pad = String(repeating: " ", count: width - name.count)
                out += "  \(name)\(pad)  \(help)\n"
            }
        }
        return out
    }
}
