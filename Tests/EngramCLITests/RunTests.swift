import Testing

@testable import EngramCLI

/// Whole command lines through ``EngramCLI/run(_:environment:console:executablePath:)`` that
/// fail before reaching a daemon, checking the exit codes and the rendered errors.
@Suite struct RunTests {
    private func run(_ arguments: [String]) -> (Int32, MemoryConsole) {
        let console = MemoryConsole()
        let code = EngramCLI.run(
            arguments, environment: ["ENGRAM_SOCKET": "/tmp/engram-cli-test-none.sock"],
            console: console)
        return (code, console)
    }

    @Test func noDaemonIsUnavailable() {
        let (code, console) = run(["ping"])
        #expect(code == 69)
        #expect(
            console.stderr == """
                engram: error: cannot connect to engramd at /tmp/engram-cli-test-none.sock: \
                no such file
                hint: is engramd running? set --socket or ENGRAM_SOCKET

                """)
    }

    @Test func socketOptionBeatsTheEnvironment() {
        let (_, console) = run(["--socket", "/tmp/other.sock", "ping"])
        #expect(console.stderr.contains("/tmp/other.sock"))
    }

    @Test func badUsageExits64WithTheUsageLine() {
        let (code, console) = run(["get", "digits"])
        #expect(code == 64)
        #expect(console.stderr.contains("usage: engram get BANK SEQ"))
        #expect(console.stderr.contains("see 'engram get --help'"))
    }

    @Test func badVectorExits65BeforeConnecting() {
        let (code, console) = run(["store", "d", "1,x"])
        #expect(code == 65)
        #expect(console.stderr == "engram: error: bad vector: component 2 'x' is not a number\n")
    }

    @Test func dropWithoutYesIsRefused() {
        let (code, console) = run(["bank", "drop", "d"])
        #expect(code == 64)
        #expect(console.stderr.contains("add --yes to confirm"))
    }

    @Test func versionNeedsNoDaemon() {
        let (code, console) = run(["--version"])
        #expect(code == 0)
        #expect(console.stdout == "engram \(EngramCLI.version)\n")
        let (afterGlobal, quiet) = run(["--quiet", "--version"])
        #expect(afterGlobal == 0)
        #expect(quiet.stdout == console.stdout)
    }

    @Test func helpGoesToStdout() {
        let (code, console) = run(["help", "store"])
        #expect(code == 0)
        #expect(console.stdout.hasPrefix("usage: engram store BANK VECTOR"))
        #expect(console.stderr.isEmpty)
    }

    @Test func overviewListsEveryCommand() {
        let (code, console) = run(["help"])
        #expect(code == 0)
        Golden.check(console.stdout, "help-overview.txt")
    }
}
