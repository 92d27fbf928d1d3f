import Foundation
import Testing

/// Banks, single patterns and completions through the real binaries and a real engramd.
@Suite struct CLIBankTests {
    @Test func bankLifecycleWithHumanAndJSONOutput() throws {
        let daemon = try CLIDaemon()

        let created = try daemon.engram(["bank", "create", "tiny", "--dim", "3", "--json"])
        #expect(created.code == 0, "\(created.stderr)")
        let bank = try created.object()
        #expect(bank["name"] as? String == "tiny")
        #expect(bank["dim"] as? Int == 3)
        #expect(bank["count"] as? Int == 0)

        _ = try daemon.engram(["bank", "create", "wide", "--dim", "16", "--beta", "4"])
        let first = try daemon.engram(["store", "tiny", "1,0,0", "--label", "x"])
        #expect(first.code == 0)
        #expect(first.stdout == "1\n")
        let second = try daemon.engram(["store", "tiny", "0,1,0", "--label", "y", "--json"])
        #expect(try second.object()["seq"] as? Int == 2)

        let list = try daemon.engram(["bank", "list"])
        #expect(list.code == 0)
        checkGolden(list.stdout, "bank-list.txt")

        let get = try daemon.engram(["get", "tiny", "2", "--json"])
        let pattern = try get.object()
        #expect(pattern["seq"] as? Int == 2)
        #expect(pattern["pattern"] as? [Double] == [0, 1, 0])
        #expect(pattern["label"] as? String == "y")
        #expect(pattern["time"] is Int)

        let info = try daemon.engram(["bank", "info", "tiny", "--json"])
        #expect(try info.object()["count"] as? Int == 2)

        let refused = try daemon.engram(["bank", "drop", "wide"])
        #expect(refused.code == 64)
        let dropped = try daemon.engram(["bank", "drop", "wide", "--yes"])
        #expect(dropped.code == 0)
        #expect(dropped.stdout == "dropped bank 'wide' and its 0 patterns\n")
    }

    @Test func daemonErrorsExit1WithCodeAndMessage() throws {
        let daemon = try CLIDaemon()
        let missing = try daemon.engram(["get", "nope", "1"])
        #expect(missing.code == 1)
        #expect(missing.stdout.isEmpty)
        #expect(missing.stderr.hasPrefix("engram: error: NOBANK"), "\(missing.stderr)")
        #expect(missing.stderr.contains("hint: list the banks with 'engram bank list'"))

        _ = try daemon.engram(["bank", "create", "tiny", "--dim", "3"])
        let wrongDimension = try daemon.engram(["store", "tiny", "1,2"])
        #expect(wrongDimension.code == 1)
        #expect(wrongDimension.stderr.hasPrefix("engram: error: DIM"))

        let exists = try daemon.engram(["bank", "create", "tiny", "--dim", "3"])
        #expect(exists.code == 1)
        #expect(exists.stderr.hasPrefix("engram: error: EXISTS"))

        let notFound = try daemon.engram(["get", "tiny", "7"])
        #expect(notFound.code == 1)
        #expect(notFound.stderr.hasPrefix("engram: error: NOTFOUND"))
    }

    @Test func completeRecoversAStoredPattern() throws {
        let daemon = try CLIDaemon()
        _ = try daemon.engram(["bank", "create", "tiny", "--dim", "4", "--beta", "4"])
        _ = try daemon.engram(["store", "tiny", "1,1,0,0", "--label", "a"])
        _ = try daemon.engram(["store", "tiny", "0,0,1,1", "--label", "b"])

        let answer = try daemon.engram(["complete", "tiny", "1,1,?,?", "--json"])
        #expect(answer.code == 0, "\(answer.stderr)")
        let completion = try answer.object()
        #expect(completion["pattern"] as? [Double] == [1, 1, 0, 0])
        let support = try #require(completion["support"] as? [[String: Any]])
        #expect(support.first?["seq"] as? Int == 1)
        #expect(support.first?["label"] as? String == "a")
        #expect(completion["exact"] as? Bool == true)
        #expect(completion["converged"] is Bool)
        #expect(completion["energy"] is Double)
        #expect(completion["steps"] as? Int == 1)

        let early = try daemon.engram(["complete", "tiny", "?,?,1,1", "--as-of", "1", "--json"])
        let earlySupport = try #require(try early.object()["support"] as? [[String: Any]])
        #expect(earlySupport.map { $0["seq"] as? Int } == [1], "as of seq 1 only 'a' exists")
        #expect(try early.object()["as_of"] as? Int == 1)

        let human = try daemon.engram(["complete", "tiny", "1,1,?,?", "--show", "--shape", "2x2"])
        #expect(human.code == 0)
        checkGolden(human.stdout, "complete-tiny.txt")

        let stats = try daemon.engram(["stats", "--json"])
        #expect(stats.code == 0)
        #expect(try stats.object()["requests"] is Int)
        let ping = try daemon.engram(["ping"])
        #expect(ping.stdout.hasPrefix("PONG from engramd at \(daemon.socket)"))
    }
}

/// `engram backup` writes a copy the daemon can be started from.
@Suite struct CLIBackupTests {
    @Test func backupPrintsThePathWritten() throws {
        let daemon = try CLIDaemon()
        _ = try daemon.engram(["bank", "create", "tiny", "--dim", "2"])
        _ = try daemon.engram(["store", "tiny", "1,2"])
        let target = daemon.scratch.path + "/backup"
        let human = try daemon.engram(["backup", target])
        #expect(human.code == 0, "\(human.stderr)")
        #expect(human.stdout == "backup written to \(target)\n")
        #expect(FileManager.default.fileExists(atPath: target + "/data.mdb"))

        let json = try daemon.engram(["backup", target + "2", "--json"])
        #expect(try json.object()["path"] as? String == target + "2")
    }
}
