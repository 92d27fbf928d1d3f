import Foundation
import Testing

@testable import EngramFeatures

/// A two-column CSV read without `CSVReader`: (label, value or NaN) per data row.
func plainColumn(_ file: String) throws -> [(String, Double)] {
    let text = try String(contentsOfFile: dataPath(file), encoding: .utf8)
    return text.split(separator: "\n").dropFirst().map { line in
        let parts = line.split(separator: ",", omittingEmptySubsequences: false)
        let cell = parts[1].trimmingCharacters(in: .whitespacesAndNewlines)
        return (String(parts[0]), cell.isEmpty ? .nan : Double(cell)!)
    }
}

func drain(_ builder: PatternBuilder) throws -> [Pattern] {
    var patterns: [Pattern] = []
    while let pattern = try builder.next() { patterns.append(pattern) }
    return patterns
}

func co2Spec(horizon: Int, encoding: TargetEncoding = .increment) throws -> FeatureSpec {
    let header = try CSVReader(path: dataPath("co2.csv")).header
    return try FeatureSpec(
        program: .default, header: header, timeColumn: "date",
        targets: horizon > 0 ? ["co2"] : [], horizon: horizon, targetEncoding: encoding)
}

// MARK: - Missing values

@Test(arguments: [0, 2])
func co2SkippedRowsAreExact(horizon: Int) throws {
    let rows = try plainColumn("co2.csv")
    let values = rows.map(\.1)
    #expect(rows.count == 2284)
    #expect(values.filter(\.isNaN).count == 59)

    // The default program at row t reads rows t−32 … t, all of them (the one-row changes
    // under a 32-row window).
    let warmUp = 32
    var skipped = 0
    var expectedRows: [Int] = []
    for t in warmUp..<(rows.count - horizon) {
        let history = values[(t - warmUp)...t].contains(where: \.isNaN)
        let future = horizon > 0 && values[(t + 1)...(t + horizon)].contains(where: \.isNaN)
        if history || future { skipped += 1 } else { expectedRows.append(t) }
    }

    let builder = try PatternBuilder(
        csvPath: dataPath("co2.csv"), spec: co2Spec(horizon: horizon, encoding: .level))
    let patterns = try drain(builder)
    let counts = builder.counts
    #expect(counts.rows == rows.count)
    #expect(counts.warmUp == warmUp)
    #expect(counts.tail == horizon)
    #expect(counts.skippedMissing == skipped)
    #expect(counts.patterns == expectedRows.count)
    #expect(counts.rows == counts.warmUp + counts.skippedMissing + counts.tail + counts.patterns)
    #expect(patterns.map(\.row) == expectedRows)
    #expect(patterns.allSatisfy { !$0.values.contains(where: \.isNaN) })
    #expect(patterns.allSatisfy { $0.values.count == 12 + horizon })
    #expect(patterns.map(\.label) == expectedRows.map { rows[$0].0 })
    if horizon > 0 {
        // The level encoding's target components are the next values of co2.
        for pattern in patterns.prefix(50) {
            #expect(
                Array(pattern.values.suffix(horizon)) == [1, 2].map { values[pattern.row + $0] })
        }
    }
}

@Test func macrodataHasTheDocumentedShape() throws {
    let header = try CSVReader(path: dataPath("macrodata.csv")).header
    let spec = try FeatureSpec(
        program: .default, header: header, channels: Array(header.dropFirst(2)),
        targets: ["realgdp", "infl"], horizon: 4)
    #expect(spec.features.count == 12 * 12)
    #expect(spec.dimension == 12 * 12 + 2 * 4)
    #expect(spec.componentNames.last == "lead(infl,4)")
    let builder = try PatternBuilder(csvPath: dataPath("macrodata.csv"), spec: spec)
    let patterns = try drain(builder)
    #expect(patterns.count == 203 - 32 - 4)
    #expect(builder.counts.skippedMissing == 0)
}

// MARK: - Resume

@Test func resumingAfterAnyPatternEqualsAnUninterruptedRun() throws {
    let spec = try co2Spec(horizon: 3)
        .fittingNormalization(csvPath: dataPath("co2.csv"), prefix: .fraction(0.5))
    let whole = try PatternBuilder(csvPath: dataPath("co2.csv"), spec: spec)
    let expected = try drain(whole)

    for split in [0, 1, 5, 400, 1000, expected.count - 1, expected.count] {
        let first = try PatternBuilder(csvPath: dataPath("co2.csv"), spec: spec)
        var patterns: [Pattern] = []
        while patterns.count < split, let pattern = try first.next() { patterns.append(pattern) }
        // The resume point goes through JSON, as it would through the store.
        let data = try JSONEncoder().encode(first.resumePoint)
        let point = try JSONDecoder().decode(ResumePoint.self, from: data)
        if split >= 400 { #expect(point.restart.byteOffset > 1000, "re-reads only recent rows") }

        let second = try PatternBuilder(csvPath: dataPath("co2.csv"), spec: spec, resume: point)
        patterns += try drain(second)
        #expect(patterns == expected, "split after \(split)")
        #expect(second.counts == whole.counts, "split after \(split)")
    }
}

@Test func aResumePointOfAnotherSpecIsRefused() throws {
    let builder = try PatternBuilder(csvPath: dataPath("co2.csv"), spec: co2Spec(horizon: 1))
    _ = try builder.next()
    let error = #expect(throws: FeatureError.self) {
        try PatternBuilder(
            csvPath: dataPath("co2.csv"), spec: co2Spec(horizon: 2), resume: builder.resumePoint)
    }
    #expect(error?.code == .spec)
}

@Test func aGrownFileRepeatsTheEarlierPatterns() throws {
    let spec = try co2Spec(horizon: 2)
        .fittingNormalization(csvPath: dataPath("co2.csv"), prefix: .patterns(500))
    let text = try String(contentsOfFile: dataPath("co2.csv"), encoding: .utf8)
    let lines = text.split(separator: "\n")
    let head = lines.prefix(1200).joined(separator: "\n") + "\n"
    let short = try drain(try PatternBuilder(reader: try CSVReader(text: head), spec: spec))
    let full = try drain(try PatternBuilder(csvPath: dataPath("co2.csv"), spec: spec))
    #expect(short.count > 800)
    #expect(Array(full.prefix(short.count)) == short)
}
