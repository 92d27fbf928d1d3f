import EngramWire
import Foundation
import Testing

@testable import EngramCLI

@Suite struct RenderingTests {
    /// The first digit of the UCI digits set (a zero), pixel counts 0..16.
    static let zero: [Float] = [
        0, 0, 5, 13, 9, 1, 0, 0, 0, 0, 13, 15, 10, 15, 5, 0, 0, 3, 15, 2, 0, 11, 8, 0, 0, 4, 12,
        0, 0, 8, 8, 0, 0, 5, 8, 0, 0, 9, 8, 0, 0, 4, 11, 0, 1, 12, 7, 0, 0, 2, 14, 5, 10, 12, 0,
        0, 0, 0, 6, 13, 10, 0, 0, 0,
    ]

    @Test func pictureOfADigit() {
        let picture = Picture.render(Self.zero, shape: PictureShape(height: 8, width: 8))
        Golden.check(picture, "picture-digit-zero.txt")
    }

    @Test func pictureScalesBetweenMinimumAndMaximum() {
        let picture = Picture.render([-1, -0.5, 0, 0.5, 1, 1], shape: .init(height: 1, width: 6))
        let body = picture.split(separator: "\n")[1]
        #expect(body == "│  ░░▒▒▓▓████│")
    }

    @Test func shapeIsSquareOrGiven() throws {
        #expect(
            try PictureShape.resolve(nil, dimension: 64, command: "show")
                == .init(
                    height: 8, width: 8))
        #expect(try PictureShape.parse("4x16", command: "show") == .init(height: 4, width: 16))
        #expect(throws: CLIError.self) {
            try PictureShape.resolve(nil, dimension: 65, command: "show")
        }
        #expect(throws: CLIError.self) { try PictureShape.parse("8by8", command: "show") }
    }

    @Test func tableAlignsColumns() {
        var table = Table([.left("NAME"), .right("DIM"), .left("MODE")])
        table.append(["digits", "64", "sparsemax"])
        table.append(["t", "3", "entmax(1.5)"])
        #expect(
            table.rendered() == """
                NAME    DIM  MODE
                digits   64  sparsemax
                t         3  entmax(1.5)

                """)
    }

    @Test func jsonKeepsKeyOrderAndEscapes() throws {
        let value = JSONValue.object([
            ("z", .int(1)), ("a", .floats([0.1, 2])), ("s", .string("q\"\n\u{1}")), ("n", .null),
        ])
        let text = value.rendered()
        #expect(text == #"{"z":1,"a":[0.1,2],"s":"q\"\n\u0001","n":null}"#)
        let parsed = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        #expect(parsed?["s"] as? String == "q\"\n\u{1}")
    }

    @Test func longVectorsAreWrappedAndCut() {
        let text = Format.vector((0..<600).map(Float.init))
        #expect(text.split(separator: "\n").allSatisfy { $0.count <= 96 || $0.contains("…") })
        #expect(text.hasSuffix("511, … (88 more; --json prints them all)\n"))
        #expect(Format.vector([1, 2]) == "  1, 2\n")
    }

    @Test func numbersAreShortest() {
        #expect(NumberFormat.float(5) == "5")
        #expect(NumberFormat.float(0.1) == "0.1")
        #expect(NumberFormat.double(-0.25) == "-0.25")
        #expect(NumberFormat.short(0.123456) == "0.1235")
    }

    static func completionReply() -> Reply {
        .object([
            ("pattern", .text("0,0.5,1,0.25")),
            (
                "support",
                .array([
                    .array([.integer(3), .text("b"), .text("0.25")]),
                    .array([.integer(1), .text("a"), .text("0.75")]),
                ])
            ),
            ("energy", .text("-1.5")), ("steps", .integer(1)), ("converged", .integer(1)),
            ("exact", .integer(0)), ("as_of", .integer(3)),
        ])
    }

    @Test func completionHumanOutput() throws {
        let completion = try Replies.completion(Self.completionReply())
        #expect(completion.sortedSupport.map(\.seq) == [1, 3])
        let text = CompleteCommand.render(
            completion, unknown: 2, shape: PictureShape(height: 2, width: 2))
        Golden.check(text, "complete-human.txt")
        let one = CompleteCommand.render(completion, unknown: 1, shape: nil)
        #expect(one.hasPrefix("completed pattern (4 components, 1 was unknown):\n"))
    }

    @Test func completionJSONHasTheStableKeys() throws {
        let completion = try Replies.completion(Self.completionReply())
        let text = completion.json.rendered()
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(
            Set(object.keys) == [
                "pattern", "support", "energy", "steps", "converged", "exact", "as_of",
            ])
        let support = try #require(object["support"] as? [[String: Any]])
        #expect(support.map { $0["seq"] as? Int } == [1, 3])
        #expect(support.first?["weight"] as? Double == 0.75)
        #expect(object["exact"] as? Bool == false)
    }

    @Test func statsRendersScalarsAndTables() {
        let stats = Reply.object([
            ("uptime_s", .integer(12)),
            (
                "commands",
                .array([
                    .object([("name", .text("PING")), ("count", .integer(3))]),
                    .object([("name", .text("COMPLETE")), ("count", .integer(10))]),
                ])
            ),
        ])
        #expect(
            StatsRenderer.render(stats.json) == """
                uptime_s  12

                commands:
                  NAME      COUNT
                  PING          3
                  COMPLETE     10

                """)
    }

    @Test func progressLineShowsRowsRateAndETA() {
        let line = ProgressBar.line(
            label: "store d", rows: 500, total: 1000, fraction: nil, elapsed: 2)
        #expect(
            line == "store d  [############------------]   50%  500/1000 rows  250 rows/s  ETA 0:02"
        )
        #expect(ProgressBar.clock(3725) == "1:02:05")
    }

    @Test func errorsRenderInOnePlace() {
        let console = MemoryConsole()
        let code = ErrorRenderer.render(
            CLIError(.daemon(code: "NOBANK"), "NOBANK: no such bank 'x'"),
            commands: CommandCatalog.all, to: console)
        #expect(code == .requestFailed)
        #expect(
            console.stderr
                == "engram: error: NOBANK: no such bank 'x'\nhint: list the banks with 'engram bank list'\n"
        )
    }

    @Test func everyCommandHasHelpWithAnExample() {
        for spec in CommandCatalog.all {
            let page = HelpRenderer.page(for: spec)
            #expect(page.hasPrefix("usage: engram \(spec.name)"))
            #expect(page.contains("examples:"), "\(spec.name) has no example")
        }
    }
}

@Suite struct ListRenderingTests {
    @Test func bankTableShowsEntmaxAlpha() throws {
        let banks = [
            BankObject(
                name: "digits", dimension: 64, mode: .sparsemax, beta: 0.05, normalize: .l2,
                created: 0, count: 1797, meta: ""),
            BankObject(
                name: "e", dimension: 3, mode: .entmax(alpha: 1.5), beta: 2, normalize: .none,
                created: 0, count: 0, meta: ""),
            BankObject(
                name: "co2", dimension: 30, mode: .sparsemax, beta: 1 / 30.0.squareRoot(),
                normalize: .none, created: 0, count: 9, meta: ""),
        ]
        #expect(
            BankCommands.table(banks).rendered() == """
                NAME    DIM  MODE             BETA  NORMALIZE  COUNT
                digits   64  sparsemax        0.05  l2          1797
                e         3  entmax(1.5)         2  none           0
                co2      30  sparsemax    0.182574  none           9

                """)
        #expect(BankCommands.describe(banks[2]).contains("0.182574\n"))
        #expect(banks[2].json.rendered().contains("0.18257418583505536"), "JSON stays exact")
    }

    @Test func jobTableShowsProgressRateAndErrors() {
        let jobs = [
            JobObject(
                id: "ingest.co2.1", bank: "co2", source: "/data/co2.csv", position: 1142,
                rows: 1000, total: 2284, skipped: 42, state: .running, message: "",
                updated: 1_764_750_600_000),
            JobObject(
                id: "ingest.x.2", bank: "x", source: "/x.csv", position: 10, rows: 9,
                total: nil, skipped: 1, state: .failed, message: "DIM: bad", updated: 0),
        ]
        let now = 1_764_750_601_000
        let text = ServerCommands.jobTable(jobs, rates: ["ingest.co2.1": 2500], now: now)
        Golden.check(text.rendered(), "jobs-table.txt")
        let stalled = ServerCommands.jobTable(jobs, rates: [:], now: now + 60_000).rendered()
        #expect(stalled.contains("no progress for 61 s; if its ingest is gone, run it again"))
    }

    @Test func jobIDsAreStableAndValidNames() {
        let id = FeatureSupport.jobID(bank: "co2", source: "/data/co2.csv")
        #expect(id == FeatureSupport.jobID(bank: "co2", source: "/data/co2.csv"))
        #expect(id != FeatureSupport.jobID(bank: "co2", source: "/data/co2-b.csv"))
        #expect(id != FeatureSupport.jobID(bank: "co3", source: "/data/co2.csv"))
        let long = FeatureSupport.jobID(bank: String(repeating: "b", count: 64), source: "/x")
        #expect(long.count <= 64)
        #expect(long.allSatisfy { $0.isLetter || $0.isNumber || "._-".contains($0) })
    }

    @Test func timeColumnIsGuessedFromUsualNames() {
        #expect(FeatureSupport.guessTimeColumn(["date", "co2"]) == "date")
        #expect(FeatureSupport.guessTimeColumn(["YEAR", "SUNACTIVITY"]) == "YEAR")
        #expect(FeatureSupport.guessTimeColumn(["a", "date"]) == nil)
    }
}
