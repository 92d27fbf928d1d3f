import Foundation
import Testing

@testable import EngramFeatures

/// All records of a reader as strings.
func records(_ reader: CSVReader) throws -> [[String]] {
    var rows: [[String]] = []
    while try reader.next() { rows.append((0..<reader.fieldCount).map(reader.string)) }
    return rows
}

func csvError(_ text: String) -> FeatureError? {
    do {
        _ = try records(try CSVReader(text: text))
        return nil
    } catch {
        return error as? FeatureError
    }
}

@Test func quotingEdgeCases() throws {
    let text =
        "a,\"b,\"\"x\"\"\",c\r\n"
        + "1,\"two, with comma\",3\r\n"
        + "\"\",\"line\nbreak\",\"say \"\"hi\"\"\"\r\n"
        + "\r\n"
        + "4,,\"\"\"\"\r\n"
        + "5,6,7"
    let reader = try CSVReader(text: text)
    #expect(reader.header == ["a", "b,\"x\"", "c"])
    var rows: [[String]] = []
    var lines: [Int] = []
    while try reader.next() {
        rows.append((0..<reader.fieldCount).map(reader.string))
        lines.append(reader.recordPosition.line)
    }
    #expect(
        rows == [
            ["1", "two, with comma", "3"], ["", "line\nbreak", "say \"hi\""], ["4", "", "\""],
            ["5", "6", "7"],
        ])
    #expect(lines == [2, 3, 6, 7])
}

@Test func numbersAndMissingValues() throws {
    let reader = try CSVReader(text: "x,y\n1.5, -2e3 \nNA,\n nan ,.5\n5.,+0.25e-1\n")
    var values: [[Double]] = []
    while try reader.next() { values.append([try reader.number(0), try reader.number(1)]) }
    #expect(values.count == 4)
    #expect(values[0] == [1.5, -2000])
    #expect(values[1][0].isNaN && values[1][1].isNaN)
    #expect(values[2][0].isNaN && values[2][1] == 0.5)
    #expect(values[3] == [5, 0.025])

    let bad = try CSVReader(text: "x,y\n1,2\n3,abc\n")
    _ = try bad.next()
    _ = try bad.next()
    let error = #expect(throws: FeatureError.self) { try bad.number(1) }
    #expect(error?.code == .csv && error?.line == 3 && error?.column == 2)
    for text in ["inf", "1e999", "0x10", "1.2.3", "--1", "e5", "1e", "NAN1"] {
        let reader = try CSVReader(text: "x\n\(text)\n")
        _ = try reader.next()
        #expect(throws: FeatureError.self, "\(text)") { try reader.number(0) }
    }
}

@Test func decimalParsingMatchesTheStandardLibrary() throws {
    var random = SplitMix(state: 42)
    var text = "x\n"
    var expected: [Double] = []
    for i in 0..<5_000 {
        let value = (random.uniform() - 0.5) * pow(10, Double(Int(random.uniform() * 40) - 20))
        let written =
            i % 3 == 0
            ? String(format: "%.17g", value)
            : i % 3 == 1 ? "\(value)" : String(format: "%.6f", value)
        text += written + "\n"
        expected.append(Double(written)!)
    }
    text += "123456789012345678901234567890\n0.000000000000000000000000000001234\n"
    // The nearest Double to each text, as strtod gives it (the long integer is not exact).
    expected += [Double("123456789012345678901234567890")!, 0.000000000000000000000000000001234]
    let reader = try CSVReader(text: text)
    var parsed: [Double] = []
    while try reader.next() { parsed.append(try reader.number(0)) }
    #expect(parsed == expected)
}

@Test func malformedRowsReportTheirLine() throws {
    let fieldCount = try #require(csvError("a,b\n1,2\n\"x\ny\",3\n4,5,6\n"))
    #expect(fieldCount.code == .csv && fieldCount.line == 5)
    let unterminated = try #require(csvError("a,b\n1,2\n3,\"open\n4,5\n"))
    #expect(unterminated.code == .csv && unterminated.line == 3)
    let stray = try #require(csvError("a,b\n1,2\n3,ab\"c\n"))
    #expect(stray.code == .csv && stray.line == 3 && stray.column == 2)
    let afterQuote = try #require(csvError("a,b\n\"1\"x,2\n"))
    #expect(afterQuote.code == .csv && afterQuote.line == 2)
    let empty = #expect(throws: FeatureError.self) { try CSVReader(text: "\n\n") }
    #expect(empty?.code == .csv)
    let missingFile = #expect(throws: FeatureError.self) {
        try CSVReader(path: "/nonexistent/x.csv")
    }
    #expect(missingFile?.code == .io)
}

@Test func byteOrderMarkAndSingleColumnBlankLines() throws {
    let reader = try CSVReader(bytes: [0xEF, 0xBB, 0xBF] + Array("v\n1\n\n3\n".utf8))
    #expect(reader.header == ["v"])
    var values: [Double] = []
    while try reader.next() { values.append(try reader.number(0)) }
    #expect(values.count == 3 && values[0] == 1 && values[1].isNaN && values[2] == 3)
}

/// A file with quoted fields, CRLF and embedded line breaks, read through tiny buffers so
/// records straddle refills; every saved position resumes to the same remaining records.
@Test func fileReadingAcrossBufferBoundariesAndResume() throws {
    var text = "id,\"name, quoted\",value\r\n"
    for i in 0..<300 {
        let name = i % 7 == 0 ? "\"multi\r\nline \"\"\(i)\"\"\"" : "n\(i)"
        text += "\(i),\(name),\(Double(i) * 0.5)" + (i % 2 == 0 ? "\r\n" : "\n")
        if i % 50 == 0 { text += "\n" }
    }
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("engram-csv-\(UUID().uuidString).csv")
    try text.write(to: url, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: url) }

    let expected = try records(try CSVReader(text: text))
    #expect(expected.count == 300)
    for size in [16, 17, 33, 100, 1 << 16] {
        let reader = try CSVReader(path: url.path, bufferSize: size)
        var positions: [CSVPosition] = []
        var rows: [[String]] = []
        while true {
            positions.append(reader.position)
            guard try reader.next() else { break }
            rows.append((0..<reader.fieldCount).map(reader.string))
        }
        #expect(rows == expected, "buffer \(size)")
        for index in stride(from: 0, to: positions.count, by: 37) {
            let resumed = try CSVReader(path: url.path, from: positions[index], bufferSize: size)
            #expect(resumed.position.row == index)
            #expect(try records(resumed) == Array(expected[index...]), "resume at \(index)")
        }
    }
}

/// Random fields (commas, quotes, CR, LF, spaces, non-ASCII) written the RFC 4180 way read
/// back unchanged, from memory and through small file buffers.
@Test func randomFieldsRoundTrip() throws {
    var random = SplitMix(state: 23)
    let alphabet = ["a", "7", ",", "\"", "\n", "\r\n", " ", "é", "-", "."]
    let columns = 4
    var expected: [[String]] = []
    var text = (0..<columns).map { "c\($0)" }.joined(separator: ",") + "\n"
    for _ in 0..<400 {
        var row: [String] = []
        for _ in 0..<columns {
            let length = Int(random.uniform() * 6)
            row.append((0..<length).map { _ in alphabet[Int(random.uniform() * 10)] }.joined())
        }
        expected.append(row)
    }
    // A field with a comma, quote or line break must be quoted; an empty one may be.
    for row in expected {
        let encoded = row.map { field -> String in
            // Bytes, not Characters: "\r\n" is one Character, equal to neither "\r" nor "\n".
            let special = field.utf8.contains { [0x2C, 0x22, 0x0A, 0x0D].contains($0) }
            return special || (field.isEmpty && random.uniform() < 0.5)
                ? "\"" + field.replacingAll("\"", with: "\"\"") + "\"" : field
        }
        text += encoded.joined(separator: ",") + (random.uniform() < 0.5 ? "\r\n" : "\n")
    }
    #expect(try records(try CSVReader(text: text)) == expected)

    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("engram-csv-fuzz-\(UUID().uuidString).csv")
    try text.write(to: url, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: url) }
    for size in [16, 23, 64] {
        #expect(try records(try CSVReader(path: url.path, bufferSize: size)) == expected)
    }
}
