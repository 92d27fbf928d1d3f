// Typed access to option values, with usage errors that name the option and the command.

extension ParsedArguments {
    func flag(_ name: String) -> Bool { flags.contains(name) }

    func string(_ name: String) -> String? { values[name] }

    func requiredString(_ name: String, command: String) throws(CLIError) -> String {
        guard let value = values[name] else {
            throw .usage("missing required option '--\(name)'", command: command)
        }
        return value
    }

    /// An integer option within `range`, or nil when absent.
    func int(
        _ name: String, in range: ClosedRange<Int> = Int.min...Int.max, command: String
    ) throws(CLIError) -> Int? {
        guard let text = values[name] else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw .usage(
                "option '--\(name)' needs an integer\(Self.describe(range)), got '\(text)'",
                command: command)
        }
        return value
    }

    /// A finite real option, or nil when absent.
    func double(_ name: String, command: String) throws(CLIError) -> Double? {
        guard let text = values[name] else { return nil }
        guard let value = Double(text), value.isFinite else {
            throw .usage(
                "option '--\(name)' needs a finite number, got '\(text)'", command: command)
        }
        return value
    }

    /// An option whose value must be one of `choices`.
    func choice(_ name: String, _ choices: [String], command: String) throws(CLIError) -> String? {
        guard let text = values[name] else { return nil }
        guard choices.contains(text.lowercased()) else {
            let list = choices.joined(separator: ", ")
            throw .usage(
                "option '--\(name)' must be one of \(list), got '\(text)'", command: command)
        }
        return text.lowercased()
    }

    private static func describe(_ range: ClosedRange<Int>) -> String {
        switch (range.lowerBound, range.upperBound) {
        case (Int.min, Int.max): ""
        case (let low, Int.max): " ≥ \(low)"
        case (let low, let high): " in \(low)...\(high)"
        }
    }
}

/// The options every command accepts, before or after the command word.
struct GlobalOptions: Sendable, Equatable {
    /// `--socket PATH`: overrides `ENGRAM_SOCKET` and the default.
    var socket: String?
    /// `--json`: one JSON document per answer on stdout.
    var json = false
    /// `--quiet`: no progress bar and no informational lines on stderr.
    var quiet = false

    static let specs: [OptionSpec] = [
        .value("socket", "PATH", "engramd's socket (default: $ENGRAM_SOCKET, see 'engram help')"),
        .flag("json", "print one JSON document per answer on stdout"),
        .flag("quiet", "no progress bar or notes on stderr"),
    ]

    init() {}

    init(_ parsed: ParsedArguments) throws(CLIError) {
        socket = parsed.values["socket"]
        if socket?.isEmpty == true {
            throw .usage("option '--socket' needs a non-empty path")
        }
        json = parsed.flags.contains("json")
        quiet = parsed.flags.contains("quiet")
    }
}
