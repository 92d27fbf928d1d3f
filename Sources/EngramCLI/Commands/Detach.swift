// `ingest --background`: the same command in its own session, its output in a log file.

#if canImport(Glibc)
    import Glibc
#endif

enum Detach {
    /// `POSIX_SPAWN_SETSID` from glibc's spawn.h (2.26+), which Swift's Glibc module does not
    /// export because it sits behind `_GNU_SOURCE`.
    static let setSessionFlag: Int16 = 0x80

    /// Starts this program again with the same arguments, `--background` replaced by the hidden
    /// `--detached-log FILE`, in a new session (so closing the terminal does not stop it), with
    /// standard input from /dev/null and output appended to the log; prints the pid and log.
    static func spawn(_ context: CommandContext, jobID: String) throws(CLIError) {
        let directory = context.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        let log = "\(directory)/engram-\(jobID).log"
        let arguments =
            [context.executablePath]
            + context.rawArguments.filter { $0 != "--background" } + ["--detached-log", log]

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(
            &actions, 1, log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, setSessionFlag)

        var pid: pid_t = 0
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let result = posix_spawn(&pid, context.executablePath, &actions, &attributes, argv, environ)
        guard result == 0 else {
            throw CLIError(
                .io, "cannot start a background ingest: \(UnixSocket.reason(result))")
        }
        if context.globals.json {
            context.emit(
                .object([("pid", .int(pid)), ("job", .string(jobID)), ("log", .string(log))]))
        } else {
            context.console.out(
                "ingesting in the background (pid \(pid), job \(jobID))\nlog: \(log)\n"
                    + "follow it with 'engram jobs'\n")
        }
    }
}
