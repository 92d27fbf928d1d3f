// The one error type of the client, and the exit codes it maps to.

/// The process exit codes of `engram`, following sysexits(3) where one fits.
public enum ExitCode: Int32, Sendable {
    /// The command did what was asked.
    case success = 0
    /// engramd answered the request with an error reply.
    case requestFailed = 1
    /// The command line is malformed (EX_USAGE).
    case usage = 64
    /// Input data (a vector, a CSV row, a feature program) is malformed (EX_DATAERR).
    case dataError = 65
    /// engramd cannot be reached, or a needed part of the client is missing (EX_UNAVAILABLE).
    case unavailable = 69
    /// A local file cannot be read or written (EX_IOERR).
    case ioError = 74
    /// Stopped by SIGINT or SIGTERM after finishing the work in flight (128 + SIGINT).
    case interrupted = 130
}

/// Everything that can make a command fail, with what the user needs to fix it.
///
/// Errors are thrown where they are detected and rendered in one place
/// (``ErrorRenderer``), so no command prints its own error text.
public struct CLIError: Error, Equatable, Sendable {
    /// Which class of failure this is; decides the exit code.
    public enum Kind: Equatable, Sendable {
        /// Bad command line. `command` names the command whose usage to print, if known.
        case usage(command: String?)
        /// Malformed input data detected by the client.
        case data
        /// engramd could not be reached or the connection broke.
        case unavailable
        /// engramd replied `-CODE message`.
        case daemon(code: String)
        /// A local file could not be read or written.
        case io
        /// SIGINT or SIGTERM stopped a long command at a clean point.
        case interrupted
    }

    public var kind: Kind
    /// What went wrong, as a sentence fragment without a final full stop.
    public var message: String
    /// How to fix it, when there is something useful to say.
    public var hint: String?

    public init(_ kind: Kind, _ message: String, hint: String? = nil) {
        self.kind = kind
        self.message = message
        self.hint = hint
    }

    /// The exit code for this error.
    public var exitCode: ExitCode {
        switch kind {
        case .usage: .usage
        case .data: .dataError
        case .unavailable: .unavailable
        case .daemon: .requestFailed
        case .io: .ioError
        case .interrupted: .interrupted
        }
    }

    static func usage(_ message: String, command: String? = nil, hint: String? = nil) -> CLIError {
        CLIError(.usage(command: command), message, hint: hint)
    }

    static func data(_ message: String, hint: String? = nil) -> CLIError {
        CLIError(.data, message, hint: hint)
    }
}
