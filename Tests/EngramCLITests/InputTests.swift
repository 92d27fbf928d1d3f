import Foundation
import Testing

@testable import EngramCLI

@Suite struct VectorParserTests {
    @Test func readsNumbersAndUnknowns() throws {
        #expect(try VectorParser.parseKnown("0.5,1,-2.25, 3") == [0.5, 1, -2.25, 3])
        #expect(try VectorParser.parse("1,?,3", allowUnknown: true) == [1, nil, 3])
    }

    struct BadVector: CustomTestStringConvertible, Sendable {
        let text: String
        let allowUnknown: Bool
        let message: String
        var testDescription: String { text }
    }

    @Test(arguments: [
        BadVector(text: "1,x,3", allowUnknown: false, message: "component 2 'x' is not a number"),
        BadVector(text: "1,,3", allowUnknown: false, message: "component 2 is empty"),
        BadVector(text: "nan", allowUnknown: false, message: "component 1 'nan' is not finite"),
        BadVector(text: "1e39", allowUnknown: false, message: "component 1 '1e39' is not finite"),
        BadVector(
            text: "0x1p3", allowUnknown: false, message: "component 1 '0x1p3' is not a number"),
        BadVector(text: "-inf", allowUnknown: false, message: "component 1 '-inf' is not finite"),
        BadVector(text: "1,?", allowUnknown: false, message: "component 2 is unknown"),
        BadVector(text: "?,?", allowUnknown: true, message: "every component is unknown"),
    ])
    func rejectsBadVectors(_ bad: BadVector) {
        do {
            _ = try VectorParser.parse(bad.text, allowUnknown: bad.allowUnknown)
            Issue.record("accepted '\(bad.text)'")
        } catch {
            #expect(error.message.contains(bad.message), "got '\(error.message)'")
            #expect(error.exitCode == .dataError)
        }
    }
}

@Suite struct PatternCSVTests {
    private func file(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "engram-cli-\(UUID().uuidString).csv"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func readsLabelsFromTheLastColumn() throws {
        let path = try file("1,2,3,a\n4,5,6,b\n\n")
        defer { unlink(path) }
        let reader = try PatternCSVReader(path: path, format: .init(labelColumn: -1))
        let rows = try reader.next(upTo: 10)
        #expect(rows.map(\.values) == [[1, 2, 3], [4, 5, 6]])
        #expect(rows.map(\.label) == ["a", "b"])
        #expect(rows.map(\.line) == [1, 2])
    }

    @Test func readsLabelsFromAPositiveColumnAndSkipsTheHeader() throws {
        let path = try file("label,x,y\nseven,1,2\n")
        defer { unlink(path) }
        let reader = try PatternCSVReader(
            path: path, format: .init(header: true, labelColumn: 1))
        let row = try #require(try reader.next())
        #expect(row.values == [1, 2])
        #expect(row.label == "seven")
        #expect(row.line == 2)
    }

    @Test func aByteOrderMarkIsNotPartOfTheFirstCell() throws {
        let path = try file("\u{FEFF}1,2\n3,4\n")
        defer { unlink(path) }
        let reader = try PatternCSVReader(path: path, format: .init())
        #expect(try reader.next(upTo: 5).map(\.values) == [[1, 2], [3, 4]])
    }

    @Test func blanksAreUnknownInQueries() throws {
        let path = try file("1,,?\n")
        defer { unlink(path) }
        let reader = try PatternCSVReader(path: path, format: .init(allowUnknown: true))
        #expect(try reader.next()?.values == [1, nil, nil])
    }

    @Test func aBadCellNamesFileLineAndColumn() throws {
        let path = try file("1,2\n3,oops\n")
        defer { unlink(path) }
        let reader = try PatternCSVReader(path: path, format: .init())
        _ = try reader.next()
        do {
            _ = try reader.next()
            Issue.record("accepted a bad cell")
        } catch {
            #expect(error.message == "\(path) line 2: component 2 'oops' is not a number")
            #expect(error.exitCode == .dataError)
        }
    }

    @Test func aRaggedRowIsAnError() throws {
        let path = try file("1,2\n3\n")
        defer { unlink(path) }
        let reader = try PatternCSVReader(path: path, format: .init())
        _ = try reader.next()
        #expect(throws: CLIError.self) { try reader.next() }
    }

    @Test func aMissingFileIsAnIOError() {
        do {
            _ = try PatternCSVReader(path: "/nonexistent/x.csv", format: .init())
            Issue.record("opened a missing file")
        } catch {
            #expect(error.exitCode == .ioError)
            #expect(error.message == "cannot read /nonexistent/x.csv: no such file or directory")
        }
    }
}
