import Foundation
import Testing

/// `engram`'s error paths as a script sees them: exit codes, and stderr against golden files.
@Suite struct CLIErrorTests {
    @Test func noDaemonIsUnavailable() throws {
        let result = try runEngram(["ping"], socket: "/tmp/engram-cli-e2e-missing.sock")
        #expect(result.code == 69)
        #expect(result.stdout.isEmpty)
        checkGolden(result.stderr, "error-no-daemon.txt")
    }

    @Test func refusedConnectionIsUnavailable() throws {
        let scratch = try CLIScratch()
        let path = scratch.path + "/dead.sock"
        // A socket file nobody listens on: bind, then close without listening.
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: Array(path.utf8) + [0])
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        close(fd)
        try #require(bound == 0)

        let result = try runEngram(["bank", "list"], socket: path)
        #expect(result.code == 69)
        #expect(result.stderr.contains("cannot connect to engramd at \(path): connection refused"))
    }

    @Test func badUsageExits64() throws {
        let missing = try runEngram(["get", "digits"])
        #expect(missing.code == 64)
        checkGolden(missing.stderr, "error-usage-get.txt")

        let unknown = try runEngram(["complete", "d", "1,2", "--betta", "2"])
        #expect(unknown.code == 64)
        #expect(unknown.stderr.hasPrefix("engram: error: unknown option '--betta'\n"))
    }

    @Test func badVectorExits65() throws {
        let result = try runEngram(["store", "d", "1,2,x3"], socket: "/tmp/none.sock")
        #expect(result.code == 65)
        #expect(result.stderr == "engram: error: bad vector: component 3 'x3' is not a number\n")
    }

    @Test func unreadableCSVExits74() throws {
        let result = try runEngram(["ingest", "d", "--csv", "/nonexistent.csv"])
        #expect(result.code == 74)
        #expect(result.stderr.contains("cannot read /nonexistent.csv"))
    }

    @Test func helpAndCommandHelpExitZero() throws {
        let overview = try runEngram(["help"])
        #expect(overview.code == 0)
        #expect(overview.stdout.contains("bank create"))
        let page = try runEngram(["store", "--help"])
        #expect(page.code == 0)
        checkGolden(page.stdout, "help-store.txt")
    }

    /// `engram --version` prints the version engramd prints, so the two cannot drift apart.
    @Test func versionMatchesTheDaemons() throws {
        let client = try runEngram(["--version"])
        #expect(client.code == 0, "\(client.stderr)")

        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLIBinaries.engramd)
        process.arguments = ["--version"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let daemon = String(
            decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()

        let daemonVersion = daemon.split(separator: " ").last.map(String.init)
        let clientVersion = client.stdout.split(separator: " ").last.map(String.init)
        #expect(client.stdout.hasPrefix("engram "), "\(client.stdout)")
        #expect(
            daemonVersion != nil && clientVersion == daemonVersion, "\(client.stdout) \(daemon)")
    }
}
