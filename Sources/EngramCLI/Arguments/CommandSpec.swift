// The declarative description of a command line: what a command accepts and how its help reads.

/// One `--name [VALUE]` option of a command.
struct OptionSpec: Sendable {
    /// The name without the leading dashes: `dim` for `--dim`.
    let name: String
    /// The placeholder of the value (`D`), or nil for a flag that takes none.
    let valueName: String?
    /// One line for the help text.
    let help: String
    /// Hidden options are accepted but not listed in help (internal plumbing).
    var hidden = false

    static func value(_ name: String, _ valueName: String, _ help: String) -> OptionSpec {
        OptionSpec(name: name, valueName: valueName, help: help)
    }

    static func flag(_ name: String, _ help: String) -> OptionSpec {
        OptionSpec(name: name, valueName: nil, help: help)
    }
}

/// One positional argument of a command.
struct PositionalSpec: Sendable {
    /// The placeholder shown in usage: `BANK`, `VECTOR`.
    let name: String
    let help: String
    /// An optional positional may be left out; only trailing ones may be optional.
    var optional = false
}

/// Everything the parser and the help renderer need to know about one command.
struct CommandSpec: Sendable {
    /// The words that name the command after `engram`: `["bank", "create"]`.
    let path: [String]
    /// The usage line after `engram <path>`, written by hand because it reads better than a
    /// generated one: `NAME --dim D [--mode M]`.
    let synopsis: [String]
    /// One line saying what the command does.
    let summary: String
    var discussion: String = ""
    var positionals: [PositionalSpec] = []
    var options: [OptionSpec] = []
    var examples: [String] = []

    /// The command's name as typed: `bank create`.
    var name: String { path.joined(separator: " ") }

    func option(named name: String) -> OptionSpec? {
        options.first { $0.name == name } ?? GlobalOptions.specs.first { $0.name == name }
    }
}
