import Foundation
import Testing

/// The UCI digits through the CLI: bulk store, a picture of a stored digit, completion of
/// digits whose last two pixel rows are unknown, one at a time and from a CSV.
///
/// The bank is `l2`-normalized: raw pixel counts make bright digits outscore the right one on
/// a partial query (the retrieval notes explain why), which is what normalization is for.
@Suite struct CLIDigitsTests {
    static let digits = CLIBinaries.file("data/digits.csv")
    static let createBank = [
        "bank", "create", "digits", "--dim", "64", "--normalize", "l2", "--beta", "30",
    ]

    @Test func storeDigitsShowAndComplete() throws {
        let daemon = try CLIDaemon()
        _ = try daemon.engram(Self.createBank)

        let stored = try daemon.engram([
            "store", "digits", "--csv", Self.digits, "--label-column", "-1", "--json",
        ])
        #expect(stored.code == 0, "\(stored.stderr)")
        #expect(stored.stderr.isEmpty, "no progress bar when stderr is not a terminal")
        let range = try stored.object()
        #expect(range["first"] as? Int == 1)
        #expect(range["last"] as? Int == 1797)
        #expect(range["count"] as? Int == 1797)

        let picture = try daemon.engram(["show", "digits", "1"])
        #expect(picture.code == 0)
        checkGolden(picture.stdout, "show-digit-1.txt")

        let last = try daemon.engram(["get", "digits", "1797", "--json"])
        #expect(try last.object()["label"] as? String == "8")

        // The first digit with its last two rows unknown is recalled from itself.
        let rows = try String(contentsOfFile: Self.digits, encoding: .utf8).split(separator: "\n")
        let first = rows[0].split(separator: ",").prefix(64)
        let query = (first.prefix(48) + Array(repeating: "?", count: 16)).joined(separator: ",")
        let answer = try daemon.engram(["complete", "digits", query, "--json", "--top", "3"])
        #expect(answer.code == 0, "\(answer.stderr)")
        let support = try #require(try answer.object()["support"] as? [[String: Any]])
        #expect(support.first?["seq"] as? Int == 1)
        #expect(support.first?["label"] as? String == "0")
        #expect(support.count <= 3)
    }

    @Test func completeFromCSVReportsLabelAgreement() throws {
        let daemon = try CLIDaemon()
        let scratch = try CLIScratch()
        _ = try daemon.engram(Self.createBank)
        _ = try daemon.engram(["store", "digits", "--csv", Self.digits, "--label-column", "-1"])

        // Twenty stored digits, last two rows blank (unknown), label kept as the expected one.
        let rows = try String(contentsOfFile: Self.digits, encoding: .utf8)
            .split(separator: "\n").prefix(20)
        let masked = rows.map { row -> String in
            let cells = row.split(separator: ",", omittingEmptySubsequences: false)
            return (cells.prefix(48) + Array(repeating: "", count: 16) + [cells[64]])
                .joined(separator: ",")
        }
        let queries = try scratch.write("queries.csv", masked.joined(separator: "\n") + "\n")

        let lines = try daemon.engram([
            "complete", "digits", "--csv", queries, "--label-column", "-1", "--json",
        ])
        #expect(lines.code == 0, "\(lines.stderr)")
        let documents = lines.stdout.split(separator: "\n")
        #expect(documents.count == 20)
        for document in documents {
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(document.utf8)) as? [String: Any])
            #expect(object["pattern"] is [Double])
            #expect(object["expected"] is String)
        }

        let table = try daemon.engram([
            "complete", "digits", "--csv", queries, "--label-column", "-1",
        ])
        #expect(table.code == 0)
        let summary = try #require(
            table.stdout.split(separator: "\n").last { $0.hasPrefix("the top supporting label") })
        let matched = try #require(Int(summary.split(separator: " ")[9]))
        #expect(matched >= 15, "\(summary)")
        #expect(summary.hasSuffix("of 20 rows (\(matched * 5)%)"))
    }

    @Test func badCSVRowStoresNothing() throws {
        let daemon = try CLIDaemon()
        let scratch = try CLIScratch()
        _ = try daemon.engram(["bank", "create", "tiny", "--dim", "3"])
        let file = try scratch.write("bad.csv", "1,2,3\n4,5,6\n7,eight,9\n")

        let result = try daemon.engram(["store", "tiny", "--csv", file])
        #expect(result.code == 65)
        #expect(result.stderr.contains("\(file) line 3: component 2 'eight' is not a number"))
        let info = try daemon.engram(["bank", "info", "tiny", "--json"])
        #expect(try info.object()["count"] as? Int == 0)

        let wide = try scratch.write("wide.csv", "1,2,3,4\n")
        let mismatch = try daemon.engram(["store", "tiny", "--csv", wide])
        #expect(mismatch.code == 65)
        #expect(mismatch.stderr.contains("4 components; the bank's dimension is 3"))
    }
}

/// The progress bar appears on a terminal: `script` gives `engram` a pseudo-terminal.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script")))
struct CLIProgressTests {
    @Test func bulkStoreDrawsAProgressBarOnATerminal() throws {
        let daemon = try CLIDaemon()
        _ = try daemon.engram(CLIDigitsTests.createBank)
        let command = [
            CLIBinaries.engram, "--socket", daemon.socket, "store", "digits", "--csv",
            CLIDigitsTests.digits, "--label-column", "-1", "--batch", "100",
        ].joined(separator: " ")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        process.arguments = ["-qec", command, "/dev/null"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let output = String(
            decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(output)")
        #expect(output.contains("\r\u{1B}[Kstore digits  ["), "\(output)")
        #expect(output.contains("1797/1797 rows"))
        #expect(output.contains("stored 1797 patterns in digits: seq 1..1797"))
    }
}
