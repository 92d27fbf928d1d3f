// EngramCLI: the `engram` command-line client: argument parsing, requests to engramd,
// human and JSON rendering, and errors rendered in one place.

#if canImport(Glibc)
    import Glibc
#endif

/// The entry point of the `engram` client.
public enum EngramCLI {
    /// The client's version, printed by `engram --version`. It mirrors engramd's
    /// (`Dispatcher.version` in EngramServer, which this target does not depend on); the
    /// end-to-end tests check that the two binaries print the same one.
    public static let version = "0.1.0"

    /// Runs one command line and returns the process exit code.
    ///
    /// - Parameters:
    ///   - arguments: the arguments after the program name.
    ///   - environment: the process environment (`ENGRAM_SOCKET`).
    ///   - console: where output goes; tests pass a ``MemoryConsole``.
    ///   - executablePath: this program's path, for `ingest --background` to re-run itself.
    /// - Returns: an ``ExitCode`` raw value: 0, 1, 64, 65, 69 or 74.
    public static func run(
        _ arguments: [String], environment: [String: String], console: any Console,
        executablePath: String = CommandLine.arguments.first ?? "engram"
    ) -> Int32 {
        let parser = ArgumentParser(commands: CommandCatalog.all)
        let code: ExitCode
        do {
            if arguments.isEmpty {
                console.err(HelpRenderer.overview(parser.commands))
                console.flush()
                return ExitCode.usage.rawValue
            }
            switch try parser.parse(arguments) {
            case .help(let spec, _):
                console.out(spec.map(HelpRenderer.page) ?? HelpRenderer.overview(parser.commands))
            case .familyHelp(let word, _):
                console.out(HelpRenderer.family(word, parser.commands))
            case .version:
                console.out("engram \(version)\n")
            case .run(let spec, let parsed):
                let context = try CommandContext(
                    spec: spec, arguments: parsed, rawArguments: arguments,
                    environment: environment, console: console, executablePath: executablePath)
                try Commands.run(context)
            }
            code = .success
        } catch {
            code = ErrorRenderer.render(error, commands: parser.commands, to: console)
        }
        console.flush()
        return code.rawValue
    }

    /// Runs the process's own command line and exits; what `main.swift` calls.
    public static func main() -> Never {
        signal(SIGPIPE, SIG_IGN)
        var environment: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                environment[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            pointer += 1
        }
        let code = run(
            Array(CommandLine.arguments.dropFirst()), environment: environment,
            console: StandardConsole(), executablePath: selfPath())
        exit(code)
    }
}

/// This executable's absolute path (`/proc/self/exe`), so a detached copy can be started
/// whatever the working directory and `PATH`.
private func selfPath() -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard count > 0 else { return CommandLine.arguments.first ?? "engram" }
    return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// What a running command has at hand: its arguments, the global options, the console and a
/// way to reach the daemon.
final class CommandContext {
    let spec: CommandSpec
    let arguments: ParsedArguments
    /// The command line as given, for re-running it detached.
    let rawArguments: [String]
    let globals: GlobalOptions
    let environment: [String: String]
    let console: any Console
    let executablePath: String

    init(
        spec: CommandSpec, arguments: ParsedArguments, rawArguments: [String],
        environment: [String: String], console: any Console, executablePath: String
    ) throws(CLIError) {
        self.spec = spec
        self.arguments = arguments
        self.rawArguments = rawArguments
        self.globals = try GlobalOptions(arguments)
        self.environment = environment
        self.console = console
        self.executablePath = executablePath
    }

    var name: String { spec.name }

    /// The socket this command talks to.
    var socketPath: String {
        SocketPath.resolve(option: globals.socket, environment: environment)
    }

    /// Whether a progress bar may be drawn: stderr is a terminal and `--quiet` is off.
    var showsProgress: Bool { console.stderrIsTerminal && !globals.quiet }

    /// Connects to engramd.
    func connect() throws(CLIError) -> DaemonClient {
        try DaemonClient(path: socketPath)
    }

    /// The positional at `index` (the parser checked the count).
    func positional(_ index: Int) -> String? {
        index < arguments.positionals.count ? arguments.positionals[index] : nil
    }

    /// Prints one JSON document on its own line.
    func emit(_ json: JSONValue) {
        console.out(json.rendered() + "\n")
    }

    /// A note on stderr, unless `--quiet`.
    func note(_ text: String) {
        if !globals.quiet { console.err(text + "\n") }
    }
}
