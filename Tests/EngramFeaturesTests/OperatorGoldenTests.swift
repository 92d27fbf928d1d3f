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
