import Foundation
import Glibc
import Testing

/// Clients we did not write: redis-cli and redis-py speak to engramd with no code of ours.
@Suite struct ClientTests {
    @Test func redisCLICreatesStoresCompletesAndReadsErrors() throws {
        let daemon = try DaemonProcess()
        let cli = "/usr/bin/redis-cli"
        let socket = daemon.socketPath
        func run(_ arguments: String...) throws -> String {
            try runProgram(cli, ["-s", socket] + arguments).output
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        #expect(try run("PING") == "PONG")
        #expect(try run("BANK.CREATE", "digits", "DIM", "3") == "OK")
        #expect(try run("STORE", "digits", "1,0,0", "LABEL", "one") == "1")
        #expect(try run("STORE", "digits", "0,1,0", "LABEL", "two") == "2")
        let completion = try run("COMPLETE", "digits", "0.8,0.2,?")
        #expect(completion.hasPrefix("pattern\n0.8,0.2,0"), "\(completion)")
        #expect(completion.contains("one"))
        #expect(try run("BANK.CREATE", "digits", "DIM", "3").hasPrefix("EXISTS"))
        #expect(try run("GET", "digits", "9").hasPrefix("NOTFOUND"))
        #expect(try run("COMPLETE", "digits", "1,2").hasPrefix("DIM"))
        #expect(try run("STORE", "digits", "1,inf,0").hasPrefix("BADFLOAT"))
        #expect(daemon.stop() == 0)
    }

    /// `[]` is redis-py's default protocol (RESP3 since redis-py 8), `["2"]` forces RESP2.
    @Test(arguments: [[], ["2"]] as [[String]])
    func redisPyClient(version: [String]) throws {
        let daemon = try DaemonProcess()
        let result = try runProgram(
            "/usr/bin/env",
            ["python3", clientsDirectory + "/redis_py_client.py", daemon.socketPath] + version)
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output == "ok\n")
        #expect(daemon.stop() == 0)
    }
}
