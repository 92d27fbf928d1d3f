// A plain reference model for the differential tests: Float64 throughout, no BLAS, no
// candidate pruning, every normalizer over the full score vector. Written from the math,
// independently of the library's algorithms (softmax directly, sparsemax by a full sort,
// every α-entmax including 1.5 by bisection).

import Foundation

@testable import EngramRetrieval

/// SplitMix64: seedable and fast; the tests print their seeds.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func uniform(_ low: Double, _ high: Double) -> Double {
        Double.random(in: low..<high, using: &self)
    }
}

/// One step of the reference dynamics.
struct ReferenceStep {
    var weights: [Double]
    var state: [Double]

    /// G(x_t, p_t) = −⟨Ξp_t, x_t⟩ + Ψ(p_t)/β + ½‖x_t‖².
    var answerEnergy: Double

    /// max |p_t − p_{t−1}| (infinity on the first step).
    var change: Double
}

struct ReferenceModel {
    var rows: [[Double]]
    var normalizer: Normalizer
    var beta: Double

    init(_ bank: PatternMatrix, normalizer: Normalizer, beta: Double) {
        rows = (0..<bank.rows).map { bank[row: $0].map(Double.init) }
        self.normalizer = normalizer
        self.beta = beta
    }

    func scores(_ x: [Double]) -> [Double] {
        rows.map { row in zip(row, x).reduce(0) { $0 + $1.0 * $1.1 } }
    }

    /// Runs exactly `steps` steps from `query` (unknown components zeroed by the caller).
    func run(_ query: [Double], known: [Bool]?, steps: Int) -> [ReferenceStep] {
        var x = query
        var previous: [Double]? = nil
        var trace: [ReferenceStep] = []
        for _ in 0..<steps {
            let p = Self.weights(scores(x).map { beta * $0 }, normalizer)
            var y = [Double](repeating: 0, count: x.count)
            for (row, weight) in zip(rows, p) where weight > 0 {
                for j in y.indices { y[j] += weight * row[j] }
            }
            x = y.indices.map { known?[$0] ?? false ? query[$0] : y[$0] }
            let inner = zip(y, x).reduce(0) { $0 + $1.0 * $1.1 }
            let norm = x.reduce(0) { $0 + $1 * $1 }
            let change =
                previous.map { zip($0, p).map { abs($0 - $1) }.max() ?? 0 } ?? .infinity
            trace.append(
                ReferenceStep(
                    weights: p, state: x,
                    answerEnergy: -inner + Self.regularizer(p, normalizer) / beta + 0.5 * norm,
                    change: change))
            previous = p
        }
        return trace
    }

    /// E(x) = −(1/β) Ψ*(β Ξᵀx) + ½‖x‖².
    func energy(_ x: [Double]) -> Double {
        let z = scores(x).map { beta * $0 }
        let top = z.max()!
        let conjugate: Double
        switch normalizer {
        case .softmax:
            conjugate = top + log(z.reduce(0) { $0 + exp($1 - top) })
        default:
            let p = Self.weights(z, normalizer)
            conjugate =
                zip(p, z).reduce(0) { $0 + $1.0 * $1.1 } - Self.regularizer(p, normalizer)
        }
        return -conjugate / beta + 0.5 * x.reduce(0) { $0 + $1 * $1 }
    }

    // MARK: - Normalizers on the full vector

    static func weights(_ z: [Double], _ normalizer: Normalizer) -> [Double] {
        switch normalizer {
        case .softmax:
            let top = z.max()!
            let terms = z.map { exp($0 - top) }
            let total = terms.reduce(0, +)
            return terms.map { $0 / total }
        case .sparsemax:
            return sparsemax(z)
        case .entmax(let alpha):
            return entmaxBisection(z, alpha: alpha)
        }
    }

    static func sparsemax(_ z: [Double]) -> [Double] {
        let sorted = z.sorted(by: >)
        var cumulative = 0.0
        var tau = sorted[0] - 1
        for (index, value) in sorted.enumerated() {
            cumulative += value
            let k = Double(index + 1)
            if 1 + k * value > cumulative { tau = (cumulative - 1) / k }
        }
        return z.map { max($0 - tau, 0) }
    }

    static func entmaxBisection(_ z: [Double], alpha: Double) -> [Double] {
        let x = z.map { $0 * (alpha - 1) }
        let top = x.max()!
        let exponent = 1 / (alpha - 1)
        var low = top - 1
        var high = top
        for _ in 0..<300 {
            let middle = (low + high) / 2
            let mass = x.reduce(0) { $0 + pow(max($1 - middle, 0), exponent) }
            if mass >= 1 { low = middle } else { high = middle }
        }
        let p = x.map { pow(max($0 - low, 0), exponent) }
        let total = p.reduce(0, +)
        return p.map { $0 / total }
    }

    static func regularizer(_ p: [Double], _ normalizer: Normalizer) -> Double {
        switch normalizer {
        case .sparsemax:
            return 0.5 * p.reduce(0) { $0 + $1 * $1 } - 0.5
        case .softmax:
            return p.reduce(0) { $1 > 0 ? $0 + $1 * log($1) : $0 }
        case .entmax(let alpha):
            return (p.reduce(0) { $0 + pow($1, alpha) } - 1) / (alpha * (alpha - 1))
        }
    }
}

// MARK: - Random banks and queries

struct RandomCase {
    var bank: PatternMatrix
    var query: Query
    var parameters: RetrievalParameters

    /// Query values with unknown components zeroed, as Float64.
    var start: [Double] {
        query.values.indices.map { query.known?[$0] ?? true ? Double(query.values[$0]) : 0 }
    }

    var reference: ReferenceModel {
        ReferenceModel(bank, normalizer: parameters.normalizer, beta: parameters.beta)
    }

    static let normalizers: [Normalizer] = [
        .sparsemax, .softmax, .entmax(alpha: 1.5), .entmax(alpha: 1.3),
    ]

    /// A bank of 1…120 rows of dimension 1…140 (covering both score kernels and their tails),
    /// values of a random scale, β giving supports from one pattern to many, and a random mask
    /// half of the time.
    static func make(
        _ generator: inout SplitMix, normalizer: Normalizer, steps: Int
    )
        -> RandomCase
    {
        let dimensions = [1, 3, 8, 13, 32, 37, 130, 140]
        let dimension = dimensions[Int(generator.next() % UInt64(dimensions.count))]
        let rows = 1 + Int(generator.next() % 120)
        let scale = pow(10, generator.uniform(-1.5, 1.5))
        let values = (0..<rows * dimension).map { _ in Float(scale * generator.uniform(-1, 1)) }
        let bank = try! PatternMatrix(values: values, dimension: dimension)
        let source = Int(generator.next() % UInt64(rows))
        let noise = generator.uniform(0, 1)
        let queryValues = (0..<dimension).map { j in
            values[source * dimension + j] + Float(noise * scale * generator.uniform(-1, 1))
        }
        var known: [Bool]? = nil
        if generator.next() % 2 == 0, dimension > 1 {
            var mask = (0..<dimension).map { _ in generator.next() % 2 == 0 }
            mask[Int(generator.next() % UInt64(dimension))] = true
            known = mask
        }
        let spread = scale * scale * Double(dimension).squareRoot() / 3
        let beta = pow(10, generator.uniform(-1, 1.5)) / spread
        return RandomCase(
            bank: bank, query: Query(values: queryValues, known: known),
            parameters: RetrievalParameters(
                normalizer: normalizer, beta: beta, steps: steps, tolerance: 1e-4))
    }
}
