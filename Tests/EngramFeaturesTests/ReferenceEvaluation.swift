// A whole-array reference evaluator, written independently of the streaming code: every
// operator is recomputed from its definition at every row (O(k) windows, two-pass std).

import Foundation

@testable import EngramFeatures

enum Reference {
    /// The values of `feature` at every row, NaN where undefined.
    static func evaluate(_ feature: Feature, _ columns: [String: [Double]]) -> [Double] {
        evaluate(feature.expression, order: feature.order, columns)
    }

    static func evaluate(
        _ expression: FeatureExpr, order: Int, _ columns: [String: [Double]]
    )
        -> [Double]
    {
        switch expression {
        case .channel(let name):
            var series = columns[name]!
            for _ in 0..<order { series = shiftedDifference(series, 1) }
            return series
        case .lag(let s, let k):
            let x = evaluate(s, order: order, columns)
            return x.indices.map { $0 >= k ? x[$0 - k] : .nan }
        case .diff(let s, let k):
            return shiftedDifference(evaluate(s, order: order, columns), k)
        case .sub(let a, let b):
            let x = evaluate(a, order: order, columns)
            let y = evaluate(b, order: order, columns)
            return x.indices.map { x[$0] - y[$0] }
        case .win(let s, let k, let function):
            let x = evaluate(s, order: order, columns)
            return x.indices.map { t in
                guard t >= k - 1 else { return .nan }
                let window = Array(x[(t - k + 1)...t])
                guard !window.contains(where: \.isNaN) else { return .nan }
                return reduce(window, function)
            }
        }
    }

    static func shiftedDifference(_ x: [Double], _ k: Int) -> [Double] {
        x.indices.map { $0 >= k ? x[$0] - x[$0 - k] : .nan }
    }

    static func reduce(_ window: [Double], _ function: WindowFunction) -> Double {
        switch function {
        case .sum: return window.reduce(0, +)
        case .mean: return window.reduce(0, +) / Double(window.count)
        case .max: return window.max()!
        case .min: return window.min()!
        case .std: return twoPassStd(window)
        }
    }

    /// Sample standard deviation, ddof = 1, by the two-pass formula.
    static func twoPassStd(_ window: [Double]) -> Double {
        let mean = window.reduce(0, +) / Double(window.count)
        let squares = window.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        return (squares / Double(window.count - 1)).squareRoot()
    }
}

/// A small deterministic generator (SplitMix64) so failures reproduce.
struct SplitMix {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }

    /// Standard normal (Box-Muller).
    mutating func normal() -> Double {
        let u = max(uniform(), 1e-300)
        let v = uniform()
        return (-2 * Foundation.log(u)).squareRoot() * Foundation.cos(2 * Double.pi * v)
    }
}
