import Foundation
import Testing

@testable import EngramFeatures

/// Sunspots: 309 yearly rows (1700-2008); the last 30 years are held out.
let sunspotRows = 309
let trainingRows = 279
let horizon = 3

func sunspotSpec() throws -> FeatureSpec {
    let header = try CSVReader(path: dataPath("sunspots.csv")).header
    return try FeatureSpec(
        program: .default, header: header, timeColumn: "YEAR", targets: ["SUNACTIVITY"],
        horizon: horizon)
}

/// The sunspots file with every held-out value replaced.
func perturbedSunspots() throws -> String {
    let lines = try String(contentsOfFile: dataPath("sunspots.csv"), encoding: .utf8)
        .split(separator: "\n")
    var text = String(lines[0]) + "\n"
    for (index, line) in lines.dropFirst().enumerated() {
        let year = line.split(separator: ",")[0]
        text += index < trainingRows ? line + "\n" : "\(year),\(1000 + index)\n"
    }
    return text
}

@Test func normalizationIgnoresHeldOutYears() throws {
    let spec = try sunspotSpec()
    let fitted = try spec.fittingNormalization(
        csvPath: dataPath("sunspots.csv"), prefix: .rows(trainingRows))
    let normalization = try #require(fitted.normalization)
    #expect(normalization.rowsUsed <= trainingRows)
    #expect(normalization.count == trainingRows - 32 - horizon)
    #expect(normalization.mean.count == spec.dimension)

    let perturbed = try perturbedSunspots()
    let again = try spec.fittingNormalization(prefix: .rows(trainingRows)) {
        try CSVReader(text: perturbed)
    }
    #expect(again.normalization == normalization)
    // Not vacuous: a fit that may see the held-out years does change.
    let leaky = try spec.fittingNormalization(prefix: .rows(sunspotRows)) {
        try CSVReader(text: perturbed)
    }
    #expect(leaky.normalization != normalization)

    // The metadata survives JSON exactly.
    #expect(try FeatureSpec(json: fitted.json()) == fitted)
}

@Test func forecastsOfHeldOutYearsUseOnlyThePast() throws {
    let spec = try sunspotSpec().fittingNormalization(
        csvPath: dataPath("sunspots.csv"), prefix: .rows(trainingRows))
    let all = try drain(try PatternBuilder(csvPath: dataPath("sunspots.csv"), spec: spec))
    let bank = all.filter { $0.row + horizon < trainingRows }
    let byRow = Dictionary(uniqueKeysWithValues: all.map { ($0.row, $0) })
    let values = try plainColumn("sunspots.csv").map(\.1)
    let lines = try String(contentsOfFile: dataPath("sunspots.csv"), encoding: .utf8)
        .split(separator: "\n")
    let featureCount = spec.features.count
    let climatology = values[0..<trainingRows].reduce(0, +) / Double(trainingRows)

    var knnError = 0.0
    var meanError = 0.0
    var forecasts = 0
    for origin in (trainingRows - 1)..<(sunspotRows - horizon) {
        // "Recent data": the file up to and including the origin year only.
        let recent = lines[0...(origin + 1)].joined(separator: "\n") + "\n"
        let query = try spec.forecastQuery(reader: try CSVReader(text: recent))
        #expect(query.row == origin)
        #expect(query.label == String(lines[origin + 1].split(separator: ",")[0]))
        #expect(query.known == (0..<spec.dimension).map { $0 < featureCount })

        // The query's features are those of the same row in a full run.
        let full = try #require(byRow[origin])
        for i in 0..<featureCount {
            #expect(abs(query.values[i] - full.values[i]) <= 1e-12)
        }
        // De-normalizing the full pattern and adding the query's anchor (the origin's own
        // value) gives back the true future values.
        #expect(query.anchors == [values[origin]])
        let truth = spec.forecast(fromPattern: full.values, query: query).map { $0[0] }
        for step in 0..<horizon {
            #expect(abs(truth[step] - values[origin + step + 1]) <= 1e-9)
        }

        // A plain 5-nearest-neighbour completion over the known components.
        let nearest = bank.map { pattern in
            var distance = 0.0
            for i in 0..<featureCount {
                distance +=
                    (pattern.values[i] - query.values[i]) * (pattern.values[i] - query.values[i])
            }
            return (distance, pattern)
        }.sorted { $0.0 < $1.0 }.prefix(5)
        var completed = query.values
        for i in featureCount..<spec.dimension {
            completed[i] = nearest.map { $0.1.values[i] }.reduce(0, +) / 5
        }
        let forecast = spec.forecast(fromPattern: completed, query: query)
        knnError += abs(forecast[0][0] - values[origin + 1])
        meanError += abs(climatology - values[origin + 1])
        forecasts += 1
    }
    #expect(forecasts == 28)
    // One year ahead, the neighbours must beat the training mean (climatology).
    #expect(knnError < 0.7 * meanError, "kNN \(knnError / 28), mean \(meanError / 28)")
}

@Test func forecastNeedsACompleteLastRow() throws {
    let spec = try sunspotSpec()
    let short =
        "\"YEAR\",\"SUNACTIVITY\"\n"
        + (0..<10).map { "\(1700 + $0),\($0)" }
        .joined(separator: "\n")
    let error = #expect(throws: FeatureError.self) {
        try spec.forecastQuery(reader: try CSVReader(text: short))
    }
    #expect(error?.code == .insufficientData)
    #expect(error?.line == 11)
}

@Test func specOptionsAreValidated() throws {
    let header = ["t", "x"]
    let cases: [(String?, [String], Int, FeatureError.Code)] = [
        ("t", ["x"], 0, .option), ("t", [], 2, .option), ("t", ["t"], 1, .option),
        ("t", ["y"], 1, .unknownChannel), ("when", ["x"], 1, .unknownChannel),
        ("t", ["x", "x"], 1, .option),
    ]
    for (time, targets, horizon, code) in cases {
        let error = #expect(throws: FeatureError.self) {
            try FeatureSpec(
                program: .default, header: header, timeColumn: time, targets: targets,
                horizon: horizon)
        }
        #expect(error?.code == code, "\(targets) \(horizon)")
    }
    #expect(throws: FeatureError.self) { try FeatureSpec(json: "{\"format\": 1}") }
}

@Test func corruptNormalizationIsRefused() throws {
    var spec = try sunspotSpec().fittingNormalization(
        csvPath: dataPath("sunspots.csv"), prefix: .patterns(100))
    #expect(try FeatureSpec(json: spec.json()) == spec)
    spec.normalization?.scale[3] = 0
    let zero = #expect(throws: FeatureError.self) { try FeatureSpec(json: spec.json()) }
    #expect(zero?.code == .spec)
    spec.normalization?.scale.removeLast()
    #expect(throws: FeatureError.self) { try FeatureSpec(json: spec.json()) }
}
