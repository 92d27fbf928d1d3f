// A small parser for `engram`'s command lines: global options, a command path, then the
// command's positionals, options and flags.

/// The parsed arguments of one command, before their values are interpreted.
struct ParsedArguments: Sendable, Equatable {
    var positionals: [String] = []
    var values: [String: String] = [:]
    var flags: Set<String> = []
    /// `--help` or `-h` appeared.
    var helpRequested = false
}

/// The result of reading a whole command line.
enum Invocation: Sendable {
    /// Run `spec` with these arguments.
    case run(CommandSpec, ParsedArguments)
    /// Print help: general help when the spec is nil.
    case help(CommandSpec?, GlobalOptions)
    /// Print the subcommands of a command family such as `bank`.
    case familyHelp(String, GlobalOptions)
    /// Print the client's version (`engram --version`, before any command).
    case version
}

/// Reads command lines against a fixed set of command specs.
///
/// Rules: options may come anywhere after the command, as `--name value` or `--name=value`;
/// global options (`--socket`, `--json`, `--quiet`) may also come before the command; a token
/// starting with `-` and then a digit, `.` or `?` is a value (a negative number or a vector), not
/// an option; `--` ends option parsing. Every violation is a ``CLIError`` of kind `usage`.
struct ArgumentParser: Sendable {
    let commands: [CommandSpec]

    /// Splits `arguments` (without the program name) into a command and its arguments.
    func parse(_ arguments: [String]) throws(CLIError) -> Invocation {
        var leading = ParsedArguments()
        var index = 0

        // Global options before the command word.
        while index < arguments.count, Self.isOption(arguments[index]) {
            if arguments[index] == "--version" { return .version }
            try consumeOption(arguments, at: &index, spec: nil, into: &leading)
        }
        let globals = try GlobalOptions(leading)
        if leading.helpRequested || index == arguments.count {
            return .help(nil, globals)
        }

        // The command path: one word, or a family word and its subcommand.
        if isFamily(arguments[index]) {
            let next = index + 1 < arguments.count ? arguments[index + 1] : nil
            if next == "--help" || next == "-h" {
                return .familyHelp(arguments[index], globals)
            }
            if next == nil {
                let word = arguments[index]
                let subcommands = commands.filter { $0.path.first == word }.map { $0.path[1] }
                throw .usage(
                    "'\(word)' needs a subcommand: \(subcommands.joined(separator: ", "))",
                    hint: "see 'engram help \(word)'")
            }
        }
        let (spec, pathLength) = try resolveCommand(arguments, from: index)
        index += pathLength
        if spec.path == ["help"] {
            let rest = Array(arguments[index...]).filter { !Self.isOption($0) }
            if rest.count == 1, isFamily(rest[0]) {
                return .familyHelp(rest[0], globals)
            }
            let target = rest.isEmpty ? nil : try resolveCommand(rest, from: 0).0
            return .help(target, globals)
        }

        var parsed = leading
        var optionsEnded = false
        while index < arguments.count {
            let token = arguments[index]
            if !optionsEnded, token == "--" {
                optionsEnded = true
                index += 1
            } else if !optionsEnded, Self.isOption(token) {
                try consumeOption(arguments, at: &index, spec: spec, into: &parsed)
            } else {
                parsed.positionals.append(token)
                index += 1
            }
        }
        if parsed.helpRequested {
            return .help(spec, try GlobalOptions(parsed))
        }
        try checkPositionals(parsed.positionals, of: spec)
        return .run(spec, parsed)
    }

    // MARK: - Steps

    /// Whether a token is an option rather than a value such as `-1.5,2` or `?,3`.
    static func isOption(_ token: String) -> Bool {
        guard token.hasPrefix("-"), token.count > 1 else { return false }
        let second = token[token.index(after: token.startIndex)]
        return !(second.isNumber || second == "." || second == "?" || second == ",")
    }

    private func isFamily(_ word: String) -> Bool {
        commands.contains { $0.path.first == word && $0.path.count > 1 }
    }

    private func resolveCommand(
        _ arguments: [String], from start: Int
    ) throws(CLIError) -> (CommandSpec, Int) {
        let word = arguments[start]
        let family = commands.filter { $0.path.first == word }
        guard !family.isEmpty else {
            throw .usage(
                "unknown command '\(word)'", hint: "see 'engram help' for the list of commands")
        }
        if let single = family.first(where: { $0.path.count == 1 }) {
            return (single, 1)
        }
        let subcommands = family.map { $0.path[1] }.joined(separator: ", ")
        guard start + 1 < arguments.count, !Self.isOption(arguments[start + 1]) else {
            throw .usage(
                "'\(word)' needs a subcommand: \(subcommands)",
                hint: "see 'engram help \(word)'")
        }
        let sub = arguments[start + 1]
        guard let spec = family.first(where: { $0.path[1] == sub }) else {
            throw .usage("unknown subcommand '\(word) \(sub)'; expected one of: \(subcommands)")
        }
        return (spec, 2)
    }

    private func consumeOption(
        _ arguments: [String], at index: inout Int, spec: CommandSpec?,
        into parsed: inout ParsedArguments
    ) throws(CLIError) {
        let token = arguments[index]
        index += 1
        if token == "--help" || token == "-h" {
            parsed.helpRequested = true
            return
        }
        guard token.hasPrefix("--") else {
            throw .usage("unknown option '\(token)'", command: spec?.name)
        }

        var name = String(token.dropFirst(2))
        var inlineValue: String?
        if let equals = name.firstIndex(of: "=") {
            inlineValue = String(name[name.index(after: equals)...])
            name = String(name[..<equals])
        }
        let known = spec?.option(named: name) ?? GlobalOptions.specs.first { $0.name == name }
        guard let option = known else {
            throw .usage("unknown option '--\(name)'", command: spec?.name)
        }

        guard let valueName = option.valueName else {
            if inlineValue != nil {
                throw .usage("option '--\(name)' takes no value", command: spec?.name)
            }
            parsed.flags.insert(name)
            return
        }
        let value: String
        if let inlineValue {
            value = inlineValue
        } else if index < arguments.count, !Self.isOption(arguments[index]) {
            value = arguments[index]
            index += 1
        } else {
            throw .usage("option '--\(name)' needs a value \(valueName)", command: spec?.name)
        }
        if parsed.values[name] != nil {
            throw .usage("option '--\(name)' given more than once", command: spec?.name)
        }
        parsed.values[name] = value
    }

    private func checkPositionals(
        _ positionals: [String], of spec: CommandSpec
    ) throws(CLIError) {
        let required = spec.positionals.filter { !$0.optional }
        if positionals.count < required.count {
            let missing = required[positionals.count...].map(\.name).joined(separator: " ")
            throw .usage("missing \(missing)", command: spec.name)
        }
        if positionals.count > spec.positionals.count {
            let extra = positionals[spec.positionals.count...]
            let quoted = extra.map { "'\($0)'" }.joined(separator: ", ")
            let noun = extra.count == 1 ? "argument" : "arguments"
            throw .usage("unexpected \(noun) \(quoted)", command: spec.name)
        }
    }
}
