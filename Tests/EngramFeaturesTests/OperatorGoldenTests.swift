import Testing

@testable import EngramFeatures

/// Evaluates `names` over one channel `s` and returns one column per feature.
func evaluateColumns(_ names: [String], _ series: [Double]) throws -> [[Double]] {
    let features = try names.map { try Feature(parsing: $0) }
    let evaluator = FeatureEvaluator(features: features)
    #expect(evaluator.inputs == ["s"])
    var columns = [[Double]](repeating: [], count: names.count)
    var output: [Double] = []
    for value in series {
        evaluator.evaluate([value], into: &output)
        for i in names.indices { columns[i].append(output[i]) }
    }
    return columns
}

/// Equal within `tolerance`, with NaN equal to NaN.
func same(_ a: [Double], _ b: [Double], tolerance: Double = 1e-4) -> Bool {
    a.count == b.count
        && zip(a, b).allSatisfy { x, y in
            (x.isNaN && y.isNaN) || abs(x - y) <= tolerance * max(1, abs(y))
        }
}

let nan = Double.nan
/// The pandas fixture of featureprog.md §2.1: s = [1, 2, NaN, 4, 8, 16].
let goldenInput: [Double] = [1, 2, nan, 4, 8, 16]

@Test func pandasGoldenVectors() throws {
    let names = [
        "diff(s,1)", "diff(s,2)", "lag(s,1)", "win(s,3,mean)", "win(s,3,std)", "win(s,3,sum)",
        "win(s,3,max)", "win(s,3,min)",
    ]
    let expected: [[Double]] = [
        [nan, 1, nan, nan, 4, 8],
        [nan, nan, nan, 2, nan, 12],
        [nan, 1, 2, nan, 4, 8],
        [nan, nan, nan, nan, nan, 9.3333],
        [nan, nan, nan, nan, nan, 6.1101],
        [nan, nan, nan, nan, nan, 28],
        [nan, nan, nan, nan, nan, 16],
        [nan, nan, nan, nan, nan, 4],
    ]
    let columns = try evaluateColumns(names, goldenInput)
    for (i, name) in names.enumerated() {
        #expect(same(columns[i], expected[i]), "\(name): \(columns[i])")
    }
}

@Test func ordersAreDifferencesOfTheChannel() throws {
    let series: [Double] = [3, 5, 4, 10, 2, 7, 7, 1]
    let columns = try evaluateColumns(
        ["d1:s", "d2:s", "d1:win(s,2,max)", "diff(diff(s,1),1)"], series)
    var d1 = [nan]
    var d2 = [nan, nan]
    var maxOfD1 = [nan, nan]
    for t in 1..<series.count { d1.append(series[t] - series[t - 1]) }
    for t in 2..<series.count {
        let acceleration: Double = series[t] - 2 * series[t - 1] + series[t - 2]
        d2.append(acceleration)
        maxOfD1.append(max(d1[t], d1[t - 1]))
    }
    #expect(same(columns[0], d1))
    #expect(same(columns[1], d2))
    #expect(same(columns[2], maxOfD1))
    #expect(same(columns[3], d2))
}

// MARK: - Against the reference evaluator

/// Random walk channels with missing values: runs of NaN and single NaNs.
func randomColumns(
    _ names: [String], rows: Int, seed: UInt64, missing: Double
) -> [String: [Double]] {
    var random = SplitMix(state: seed)
    var columns: [String: [Double]] = [:]
    for name in names {
        var level = random.normal() * 10
        var series: [Double] = []
        var gap = 0
        for _ in 0..<rows {
            level += random.normal()
            if gap == 0 && random.uniform() < missing { gap = 1 + Int(random.uniform() * 4) }
            if gap > 0 {
                series.append(.nan)
                gap -= 1
            } else {
                // Small integers make ties frequent, which stresses the max/min deques.
                series.append(random.uniform() < 0.3 ? (level / 4).rounded() : level)
            }
        }
        columns[name] = series
    }
    return columns
}

@Test func defaultProgramMatchesReferenceWithMissingValues() throws {
    let channels = ["a", "b", "c"]
    let columns = randomColumns(channels, rows: 600, seed: 7, missing: 0.02)
    let features = try FeatureProgram.default.features(channels: channels)
    #expect(features.count == 12 * channels.count)
    try expectMatchesReference(features, columns, rows: 600)
}

@Test func nestedAndWideWindowsMatchReference() throws {
    let program = try FeatureProgram(
        parsing: """
            engram-features 1
            win(a,{1,2,3,7,50},{mean,max,min,sum})
            win(a,{2,3,7,50},std)
            d{0,1,2}:sub(win(a,5,mean),win(b,20,mean))
            win(win(a,4,std),6,max)
            lag(diff(a,3),2)
            d1:win(lag(b,2),3,min)
            """)
    let columns = randomColumns(["a", "b"], rows: 800, seed: 11, missing: 0.01)
    try expectMatchesReference(try program.features(channels: ["a", "b"]), columns, rows: 800)
}

func expectMatchesReference(
    _ features: [Feature], _ columns: [String: [Double]], rows: Int
)
    throws
{
    let evaluator = FeatureEvaluator(features: features)
    var output: [Double] = []
    var streamed = [[Double]](repeating: [], count: features.count)
    for t in 0..<rows {
        let input = evaluator.inputs.map { columns[$0]![t] }
        let complete = evaluator.evaluate(input, into: &output)
        #expect(complete == !output.contains(where: \.isNaN))
        for i in features.indices { streamed[i].append(output[i]) }
    }
    var defined = 0
    for (i, feature) in features.enumerated() {
        let expected = Reference.evaluate(feature, columns)
        #expect(same(streamed[i], expected, tolerance: 1e-9), "\(feature.name)")
        defined += expected.filter { !$0.isNaN }.count
    }
    // The data must exercise both defined and missing values.
    #expect(defined > features.count * rows / 2)
    #expect(defined < features.count * rows)
}

// MARK: - Numerical safety

@Test func rollingStdIsSafeWithALargeOffset() throws {
    var random = SplitMix(state: 3)
    let series = (0..<100_000).map { _ in 1e6 + 1e-3 * random.normal() }
    let columns = try evaluateColumns(["win(s,16,std)", "win(s,16,mean)"], series)
    var worst = 0.0
    for t in 15..<series.count {
        let window = Array(series[(t - 15)...t])
        let exact = Reference.twoPassStd(window)
        worst = max(worst, abs(columns[0][t] - exact) / exact)
        let mean = window.reduce(0, +) / 16
        #expect(abs(columns[1][t] - mean) <= 1e-9)
    }
    // The textbook Σx² − (Σx)²/n formula loses every digit here (relative error ≫ 1).
    #expect(worst < 1e-7, "worst relative error \(worst)")
}

@Test func constantWindowAfterLargeValuesHasZeroStd() throws {
    let series: [Double] =
        [1000, 1e17, -3e16] + Array(repeating: 0.1, count: 10)
        + [2e3 + 0.5, 2e3 - 0.25, 2e3, 2e3 + 1]
    let columns = try evaluateColumns(["win(s,4,std)"], series)
    for t in 6...12 { #expect(columns[0][t] == 0, "row \(t): \(columns[0][t])") }
    let last = Reference.twoPassStd(Array(series.suffix(4)))
    #expect(abs(columns[0][series.count - 1] - last) <= 1e-12 * last)
}

@Test func laterRowsNeverChangeEarlierValues() throws {
    let columns = randomColumns(["s"], rows: 200, seed: 5, missing: 0.03)
    let full = try evaluateColumns(["win(s,9,std)", "d2:win(s,5,max)"], columns["s"]!)
    let prefix = try evaluateColumns(
        ["win(s,9,std)", "d2:win(s,5,max)"], Array(columns["s"]!.prefix(120)))
    for i in 0..<2 { #expect(same(Array(full[i].prefix(120)), prefix[i], tolerance: 0)) }
}

@Test func startingLaterGivesIdenticalValuesAfterSettling() throws {
    let features = try FeatureProgram.default.features(channels: ["s"])
    let series = randomColumns(["s"], rows: 400, seed: 9, missing: 0.01)["s"]!
    let whole = FeatureEvaluator(features: features)
    let late = FeatureEvaluator(features: features, startRow: 150)
    var a: [Double] = []
    var b: [Double] = []
    for t in 0..<series.count {
        whole.evaluate([series[t]], into: &a)
        guard t >= 150 else { continue }
        late.evaluate([series[t]], into: &b)
        if t >= 150 + late.settleRows {
            #expect(a.elementsEqual(b) { $0 == $1 || ($0.isNaN && $1.isNaN) }, "row \(t)")
        }
    }
}

@Test func overflowingFeaturesMakeARowIncomplete() throws {
    let evaluator = FeatureEvaluator(features: [
        try Feature(parsing: "win(s,2,sum)"), try Feature(parsing: "win(s,2,std)"),
    ])
    var output: [Double] = []
    #expect(!evaluator.evaluate([1e308], into: &output))
    #expect(!evaluator.evaluate([1e308], into: &output))
    #expect(output[0] == .infinity)
    // Once the huge values have left the window, the exact recompute restores the sums.
    evaluator.evaluate([1], into: &output)
    #expect(evaluator.evaluate([3], into: &output))
    #expect(output == [4, 2.0.squareRoot()])
}
