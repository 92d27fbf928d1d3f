import Foundation
import Testing

@testable import EngramFeatures

// MARK: - Increments

@Test func co2IncrementsAreExact() throws {
    let values = try plainColumn("co2.csv").map(\.1)
    let horizon = 3
    let increments = try drain(
        try PatternBuilder(csvPath: dataPath("co2.csv"), spec: co2Spec(horizon: horizon)))
    let levels = try drain(
        try PatternBuilder(
            csvPath: dataPath("co2.csv"), spec: co2Spec(horizon: horizon, encoding: .level)))

    // Every feature of the default program reads y(t), so both encodings keep the same rows
    // and the same features; only the targets differ.
    #expect(increments.count > 1800)
    #expect(increments.map(\.row) == levels.map(\.row))
    for (pattern, level) in zip(increments, levels) {
        #expect(pattern.values.prefix(12) == level.values.prefix(12))
        let expected = (1...horizon).map { values[pattern.row + $0] - values[pattern.row] }
        #expect(Array(pattern.values.suffix(horizon)) == expected, "row \(pattern.row)")
    }
}

/// Rows t, x = t, y = t² + 1 except a blank y at row 25: x is the only channel, so the
/// features never see y.
private let anchorCSV =
    "t,x,y\n"
    + (0..<40).map { t in "\(t),\(t),\(t == 25 ? "" : String(t * t + 1))" }
    .joined(separator: "\n") + "\n"

private func anchorSpec(_ encoding: TargetEncoding) throws -> FeatureSpec {
    try FeatureSpec(
        program: FeatureProgram(parsing: "engram-features 1\nd0:x\n"), header: ["t", "x", "y"],
        timeColumn: "t", channels: ["x"], targets: ["y"], horizon: 2, targetEncoding: encoding)
}

@Test func aMissingAnchorSkipsTheRowOnlyForIncrements() throws {
    let level = try PatternBuilder(reader: try CSVReader(text: anchorCSV), spec: anchorSpec(.level))
    let levelRows = try drain(level).map(\.row)
    #expect(levelRows == Array(0..<23) + Array(25..<38))
    #expect(level.counts.skippedMissing == 2)

    let increment = try PatternBuilder(
        reader: try CSVReader(text: anchorCSV), spec: anchorSpec(.increment))
    let patterns = try drain(increment)
    #expect(patterns.map(\.row) == Array(0..<23) + Array(26..<38))
    #expect(increment.counts.skippedMissing == 3)
    #expect(increment.counts.tail == 2)
    #expect(increment.counts.rows == 40)
    for pattern in patterns {
        let t = Double(pattern.row)
        #expect(pattern.values == [t, 2 * t + 1, 4 * t + 4])
    }
}

// MARK: - Back to original units

@Test func forecastAddsTheAnchorsBackAfterDenormalizing() throws {
    let spec = try co2Spec(horizon: 4)
        .fittingNormalization(csvPath: dataPath("co2.csv"), prefix: .fraction(0.5))
    let normalization = try #require(spec.normalization)
    // Fitted on the encoded values: the step-4 increments are a few ppm, not ~330 ppm.
    #expect(abs(normalization.mean[12 + 3]) < 5)

    let values = try plainColumn("co2.csv").map(\.1)
    let lines = try String(contentsOfFile: dataPath("co2.csv"), encoding: .utf8)
        .split(separator: "\n")
    let patterns = try drain(try PatternBuilder(csvPath: dataPath("co2.csv"), spec: spec))
    for pattern in stride(from: 0, to: patterns.count, by: 97).map({ patterns[$0] }) {
        let row = pattern.row
        let recent = lines[0...(row + 1)].joined(separator: "\n") + "\n"
        let query = try spec.forecastQuery(reader: try CSVReader(text: recent))
        #expect(query.row == row)
        #expect(query.anchors == [values[row]])
        let forecast = spec.forecast(fromPattern: pattern.values, query: query)
        for step in 0..<4 {
            #expect(abs(forecast[step][0] - values[row + step + 1]) <= 1e-9, "row \(row)")
        }
        // Without the anchor the same pattern is only the increment.
        let bare = spec.forecast(fromPattern: pattern.values, anchors: [0])
        #expect(abs(bare[0][0] - (values[row + 1] - values[row])) <= 1e-9)
    }
}

@Test func anIncrementForecastNeedsTheLastTargetValue() throws {
    // Rows 0 … 25 of the anchor series end at the blank y.
    let recent = anchorCSV.split(separator: "\n").prefix(27).joined(separator: "\n") + "\n"
    let error = #expect(throws: FeatureError.self) {
        try anchorSpec(.increment).forecastQuery(reader: try CSVReader(text: recent))
    }
    #expect(error?.code == .insufficientData)
    #expect(error?.line == 27)

    let query = try anchorSpec(.level).forecastQuery(reader: try CSVReader(text: recent))
    #expect(query.anchors.count == 1 && query.anchors[0].isNaN)
    #expect(query.values.prefix(1) == [25])
}

// MARK: - Metadata

@Test func metadataWithoutAnEncodingIsLevel() throws {
    // As `json()` wrote it before the encoding existed.
    let old =
        #"{"channels":["x"],"features":["x"],"format":1,"horizon":2,"#
        + #""program":"engram-features 1\nd0:x\n","targets":["y"],"timeColumn":"t"}"#
    let spec = try FeatureSpec(json: old)
    #expect(spec.targetEncoding == .level)
    #expect(spec == (try anchorSpec(.level)))
    // Its text, and so its digest, is what it was.
    #expect(spec.json() == old)

    let increment = try anchorSpec(.increment)
    #expect(increment.json().contains(#""targetEncoding":"increment""#))
    #expect(try FeatureSpec(json: increment.json()) == increment)
    #expect(increment.digest != spec.digest)

    let unknown = old.replacingOccurrences(
        of: #""format":1,"#, with: #""format":1,"targetEncoding":"ratio","#)
    let error = #expect(throws: FeatureError.self) { try FeatureSpec(json: unknown) }
    #expect(error?.code == .spec)
}

// MARK: - Forecasting a trend

/// 1400 weekly rows: a trend of 0.02 per row, a yearly cycle of amplitude 2 and uniform
/// noise in ±0.3 (a fixed linear congruential generator).
private func trendingSeries() -> [Double] {
    var state: UInt64 = 12_345
    return (0..<1400).map { t in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        let noise = (Double(state >> 11) / Double(1 << 53) - 0.5) * 0.6
        return 0.02 * Double(t) + 2 * sin(2 * Double.pi * Double(t) / 52) + noise
    }
}

/// Mean absolute error of 8-step forecasts made from origins after the first 1000 rows, each
/// completed by one step of softmax retrieval (β = 1/√d, scores ⟨ξ, x⟩ over the known
/// features, as `engram forecast` asks of the daemon) over the patterns whose futures lie in
/// the first 1000 rows.
private func heldOutError(_ encoding: TargetEncoding) throws -> Double {
    let series = trendingSeries()
    let lines = ["t,y"] + series.enumerated().map { "\($0),\($1)" }
    let text = lines.joined(separator: "\n") + "\n"
    let horizon = 8
    let training = 1000
    let spec = try FeatureSpec(
        program: .default, header: ["t", "y"], timeColumn: "t", targets: ["y"],
        horizon: horizon, targetEncoding: encoding
    ).fittingNormalization(prefix: .rows(training)) { try CSVReader(text: text) }
    let bank = try drain(try PatternBuilder(reader: try CSVReader(text: text), spec: spec))
        .filter { $0.row + horizon < training }
    let featureCount = spec.features.count
    let beta = 1 / Double(spec.dimension).squareRoot()

    var error = 0.0
    var count = 0
    for origin in stride(from: training, to: series.count - horizon, by: 25) {
        let recent = lines[0...(origin + 1)].joined(separator: "\n") + "\n"
        let query = try spec.forecastQuery(reader: try CSVReader(text: recent))
        let scores = bank.map { pattern in
            (0..<featureCount).reduce(0.0) { $0 + pattern.values[$1] * query.values[$1] }
        }
        let top = scores.max() ?? 0
        let weights = scores.map { exp(beta * ($0 - top)) }
        let total = weights.reduce(0, +)
        var completed = query.values
        for i in featureCount..<spec.dimension {
            completed[i] = zip(weights, bank).reduce(0.0) { $0 + $1.0 * $1.1.values[i] } / total
        }
        let forecast = spec.forecast(fromPattern: completed, query: query)
        for step in 0..<horizon {
            error += abs(forecast[step][0] - series[origin + step + 1])
            count += 1
        }
    }
    #expect(count == 16 * horizon)
    return error / Double(count)
}

@Test func incrementsForecastATrendBetterThanLevels() throws {
    let increment = try heldOutError(.increment)
    let level = try heldOutError(.level)
    // The level blend lags the trend by the distance from the training years (4 … 8 units
    // here); the increment blend only carries the cycle's shape and the drift.
    #expect(increment < 0.5 * level, "increment \(increment), level \(level)")
    #expect(increment < 1.0, "increment \(increment)")
}
