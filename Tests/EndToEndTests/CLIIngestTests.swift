import Foundation
import Testing

/// `engram ingest`, `jobs` and `forecast` on the Mauna Loa CO2 series.
@Suite struct CLIIngestTests {
    static let co2 = CLIBinaries.file("data/co2.csv")

    @Test func ingestThenForecast() throws {
        let daemon = try CLIDaemon()
        let ingest = try daemon.engram([
            "ingest", "co2", "--csv", Self.co2, "--horizon", "4", "--target", "co2", "--json",
        ])
        #expect(ingest.code == 0, "\(ingest.stderr)")
        let job = try ingest.object()
        #expect(job["state"] as? String == "done")
        let patterns = try #require(job["rows"] as? Int)
        // 2284 rows less the default program's 32 warm-up rows, the 4-row tail and the rows
        // whose 33-row history or future holds one of the 59 missing values.
        #expect(patterns > 1800)

        let again = try daemon.engram([
            "ingest", "co2", "--csv", Self.co2, "--horizon", "4",
            "--target", "co2",
        ])
        #expect(again.code == 0)
        #expect(again.stderr.contains("already ingested"))
        let info = try daemon.engram(["bank", "info", "co2", "--json"])
        #expect(try info.object()["count"] as? Int == patterns, "a re-run adds nothing")

        let jobs = try daemon.engram(["jobs", "--json"])
        let list = try #require(try jobs.json() as? [[String: Any]])
        #expect(list.count == 1)
        #expect(list.first?["rows"] as? Int == patterns)

        let scratch = try CLIScratch()
        let lines = try String(contentsOfFile: Self.co2, encoding: .utf8).split(separator: "\n")
        let recent = try scratch.write(
            "recent.csv", ([lines[0]] + lines.suffix(80)).joined(separator: "\n") + "\n")
        let forecast = try daemon.engram(["forecast", "co2", "--csv", recent, "--json"])
        #expect(forecast.code == 0, "\(forecast.stderr)")
        let answer = try forecast.object()
        let values = try #require((answer["forecast"] as? [String: Any])?["co2"] as? [Double])
        #expect(values.count == 4)
        #expect(values.allSatisfy { $0 > 300 && $0 < 420 }, "ppm in a plausible range: \(values)")
        let support = try #require(answer["support"] as? [[String: Any]])
        #expect(!support.isEmpty)
        #expect(support.first?["label"] is String)
    }

    @Test func aGrownSeriesResumesWithoutDuplicatesOrGaps() throws {
        let daemon = try CLIDaemon()
        let scratch = try CLIScratch()
        let lines = try String(contentsOfFile: Self.co2, encoding: .utf8).split(separator: "\n")
        let series = scratch.path + "/series.csv"
        let options = [
            "--horizon", "2", "--target", "co2", "--train-rows", "800", "--batch", "100",
        ]

        // First run on the first 1200 rows, second on the whole file at the same path.
        try (lines.prefix(1201).joined(separator: "\n") + "\n").write(
            toFile: series, atomically: true, encoding: .utf8)
        let partial = try daemon.engram(["ingest", "grown", "--csv", series] + options)
        #expect(partial.code == 0, "\(partial.stderr)")
        try (lines.joined(separator: "\n") + "\n").write(
            toFile: series, atomically: true, encoding: .utf8)
        let resumed = try daemon.engram(["ingest", "grown", "--csv", series] + options)
        #expect(resumed.code == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("resuming"))

        // One uninterrupted run over the whole file, for comparison.
        let whole = scratch.path + "/whole.csv"
        try FileManager.default.copyItem(atPath: series, toPath: whole)
        _ = try daemon.engram(["ingest", "whole", "--csv", whole] + options)

        let grownCount = try daemon.engram(["bank", "info", "grown", "--json"]).object()["count"]
        let wholeCount = try daemon.engram(["bank", "info", "whole", "--json"]).object()["count"]
        #expect(grownCount as? Int == wholeCount as? Int)
        let count = try #require(wholeCount as? Int)
        for seq in [1, count / 2, count - 1, count] {
            let a = try daemon.engram(["get", "grown", String(seq), "--json"]).object()
            let b = try daemon.engram(["get", "whole", String(seq), "--json"]).object()
            #expect(a["pattern"] as? [Double] == b["pattern"] as? [Double], "seq \(seq)")
            #expect(a["label"] as? String == b["label"] as? String, "seq \(seq)")
        }
    }

    @Test func backgroundIngestDetachesAndFinishes() throws {
        let daemon = try CLIDaemon()
        let scratch = try CLIScratch()
        let result = try runEngram(
            ["ingest", "bg", "--csv", Self.co2, "--json", "--background"],
            socket: daemon.socket, environment: ["TMPDIR": scratch.path])
        #expect(result.code == 0, "\(result.stderr)")
        let started = try result.object()
        let log = try #require(started["log"] as? String)
        #expect(log.hasPrefix(scratch.path))

        var state: String?
        for _ in 0..<300 {
            let jobs = try daemon.engram(["jobs", "--json"])
            state = (try? jobs.json() as? [[String: Any]])?.first?["state"] as? String
            if state == "done" || state == "failed" { break }
            usleep(100_000)
        }
        #expect(
            state == "done", "log: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        let table = try daemon.engram(["jobs"])
        #expect(table.stdout.hasPrefix("ID"))
        #expect(table.stdout.contains("done"))
    }

    @Test func badProgramIsBadData() throws {
        let daemon = try CLIDaemon()
        let scratch = try CLIScratch()
        let program = try scratch.write("bad.fp", "engram-features 1\nwin(co2,0,mean)\n")
        let result = try daemon.engram(["ingest", "x", "--csv", Self.co2, "--program", program])
        #expect(result.code == 65, "\(result.stderr)")
        #expect(result.stderr.hasPrefix("engram: error: \(program) line 2"))
    }

    /// A channel the CSV lacks, named on a program line, is reported against that line of the
    /// program file, not the CSV; so is a program that expands to nothing.
    @Test func programErrorsNameTheProgramFile() throws {
        let daemon = try CLIDaemon()
        let scratch = try CLIScratch()
        let program = try scratch.write(
            "nope.fp", "engram-features 1\nlag(co2,1)\nlag(NOPE,1)\n")
        let result = try daemon.engram(["ingest", "x", "--csv", Self.co2, "--program", program])
        #expect(result.code == 65, "\(result.stderr)")
        #expect(result.stderr.hasPrefix("engram: error: \(program) line 3"), "\(result.stderr)")
        #expect(!result.stderr.contains("co2.csv"), "\(result.stderr)")

        let empty = try scratch.write("empty.fp", "engram-features 1\n# nothing\n")
        let none = try daemon.engram(["ingest", "x", "--csv", Self.co2, "--program", empty])
        #expect(none.code == 65, "\(none.stderr)")
        #expect(none.stderr.hasPrefix("engram: error: \(empty): "), "\(none.stderr)")
    }
}

/// An ingest killed mid-way and run again ends with the same patterns as one uninterrupted run.
@Suite struct CLIIngestKillTests {
    @Test func killedIngestResumesWithoutDuplicatesOrGaps() throws {
        let daemon = try CLIDaemon()
        let scratch = try CLIScratch()
        let series = scratch.path + "/co2.csv"
        try FileManager.default.copyItem(atPath: CLIIngestTests.co2, toPath: series)
        let options = ["--train-rows", "800", "--batch", "25"]

        // Start an ingest of small batches and kill it once some batches are committed.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLIBinaries.engram)
        process.arguments = ["--socket", daemon.socket, "ingest", "cut", "--csv", series] + options
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let committed = try daemon.waitForJobProgress(while: process)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()

        let resumed = try daemon.engram(["ingest", "cut", "--csv", series] + options)
        #expect(resumed.code == 0, "\(resumed.stderr)")
        let whole = scratch.path + "/whole.csv"
        try FileManager.default.copyItem(atPath: series, toPath: whole)
        _ = try daemon.engram(["ingest", "whole", "--csv", whole] + options)

        let cut = try daemon.engram(["bank", "info", "cut", "--json"]).object()["count"] as? Int
        let reference = try daemon.engram(["bank", "info", "whole", "--json"]).object()["count"]
        #expect(cut == reference as? Int, "killed after \(committed) patterns")
        let count = try #require(cut)
        for seq in [1, max(1, committed), min(count, committed + 1), count] {
            let a = try daemon.engram(["get", "cut", String(seq), "--json"]).object()
            let b = try daemon.engram(["get", "whole", String(seq), "--json"]).object()
            #expect(a["pattern"] as? [Double] == b["pattern"] as? [Double], "seq \(seq)")
        }
    }
}

/// Ctrl-C during an ingest stops it at a batch boundary with a job record that says so.
@Suite struct CLIIngestInterruptTests {
    @Test func interruptedIngestRecordsItAndResumes() throws {
        let daemon = try CLIDaemon()
        let scratch = try CLIScratch()
        let series = scratch.path + "/co2.csv"
        try FileManager.default.copyItem(atPath: CLIIngestTests.co2, toPath: series)
        let options = ["--train-rows", "800", "--batch", "10"]

        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLIBinaries.engram)
        process.arguments = ["--socket", daemon.socket, "ingest", "int", "--csv", series] + options
        let errors = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        try process.run()
        let committed = try daemon.waitForJobProgress(while: process)
        kill(process.processIdentifier, SIGINT)
        let stderr = String(
            decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if process.terminationStatus == 0 { return }  // it finished just before the signal
        #expect(committed > 0)

        #expect(process.terminationStatus == 130, "\(stderr)")
        #expect(stderr.contains("engram: error: interrupted after"), "\(stderr)")
        let job = try #require(
            try daemon.engram(["jobs", "--json"]).json() as? [[String: Any]]
        ).first
        #expect(job?["state"] as? String == "failed")
        #expect((job?["message"] as? String)?.contains("run the same command to resume") == true)

        let resumed = try daemon.engram(["ingest", "int", "--csv", series] + options + ["--json"])
        #expect(resumed.code == 0, "\(resumed.stderr)")
        #expect(try resumed.object()["state"] as? String == "done")
        let whole = scratch.path + "/whole.csv"
        try FileManager.default.copyItem(atPath: series, toPath: whole)
        _ = try daemon.engram(["ingest", "whole", "--csv", whole] + options)
        let a = try daemon.engram(["bank", "info", "int", "--json"]).object()["count"] as? Int
        let b = try daemon.engram(["bank", "info", "whole", "--json"]).object()["count"] as? Int
        #expect(a != nil && a == b)
    }
}
