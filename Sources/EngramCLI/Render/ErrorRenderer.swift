// The one place where failures become text on stderr and an exit code.

/// Renders any error a command throws.
enum ErrorRenderer {
    /// Writes `engram: error: …`, an optional hint, and for usage errors the command's usage
    /// line; returns the exit code.
    static func render(
        _ error: any Error, commands: [CommandSpec], to console: any Console
    )
        -> ExitCode
    {
        guard let error = error as? CLIError else {
            console.err("engram: error: \(error)\n")
            return .requestFailed
        }
        var text = "engram: error: \(error.message)\n"
        if let hint = error.hint ?? defaultHint(for: error) {
            text += "hint: \(hint)\n"
        }
        if case .usage(let name?) = error.kind,
            let spec = commands.first(where: { $0.name == name })
        {
            text += "usage: \(HelpRenderer.usageLine(spec))\n"
            text += "see 'engram \(name) --help'\n"
        }
        console.err(text)
        return error.exitCode
    }

    /// Remedies for daemon error codes, when the daemon's message alone does not say what to do.
    private static func defaultHint(for error: CLIError) -> String? {
        guard case .daemon(let code) = error.kind else { return nil }
        switch code {
        case "NOBANK": return "list the banks with 'engram bank list'"
        case "EXISTS": return "choose another name, or drop the bank first"
        case "DIM": return "'engram bank info BANK' shows the bank's dimension"
        case "PERM": return "your user lacks the role for this command; see engramd's roles"
        case "BUSY": return "engramd is at its connection limit; retry later"
        case "FULL": return "raise engramd's map size cap, or drop banks you no longer need"
        case "TIMEOUT": return "narrow the query (--top, --steps) or raise engramd's time budget"
        default: return nil
        }
    }
}
