import Foundation
import Testing

/// The UCI digits through the CLI: bulk store, a picture of a stored digit, completion of
/// half-masked digits one at a time and from a CSV.
// TODO(#6): drop the condition once engramd is on main.
@Suite(.enabled(if: CLIDaemon.available, "needs a built engramd"))
struct CLIDigitsTests {
    static let digits = CLIBinaries.file("data/digits.csv")

    @Test func storeDigitsShowAndComplete() throws {
        let daemon = try CLIDaemon()
        _ = try daemon.engram(["bank", "create", "digits", "--dim", "64", "--beta", "0.05"])

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

        // The first digit with its lower half unknown comes back as itself.
        let rows = try String(contentsOfFile: Self.digits, encoding: .utf8).split(separator: "\n")
        let first = rows[0].split(separator: ",").prefix(64)
        let query = (first.prefix(32) + Array(repeating: "?", count: 32)).joined(separator: ",")
        let answer = try daemon.engram(["complete", "digits", query, "--json", "--top", "3"])
        #expect(answer.code == 0, "\(answer.stderr)")
        let support = try #require(try answer.object()["support"] as? [[String: Any]])
        #expect(support.first?["label"] as? String == "0")
        #expect(support.count <= 3)
    }

    @Test func completeFromCSVReportsLabelAgreement() throws {
        let daemon = try CLIDaemon()
        let scratch = try CLIScratch()
        _ = try daemon.engram(["bank", "create", "digits", "--dim", "64", "--beta", "0.05"])
        _ = try daemon.engram(["store", "digits", "--csv", Self.digits, "--label-column", "-1"])

        // Twenty stored digits, lower half blank (unknown), label kept as the expected one.
        let rows = try String(contentsOfFile: Self.digits, encoding: .utf8)
            .split(separator: "\n").prefix(20)
        let masked = rows.map { row -> String in
            let cells = row.split(separator: ",", omittingEmptySubsequences: false)
            return (cells.prefix(32) + Array(repeating: "", count: 32) + [cells[64]])
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
        #expect(table.stdout.contains("matched the expected one in 20 of 20 rows"))
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
