import Foundation
import Testing

@testable import EngramRetrieval

/// Known values and invariants of the separation functions on plain score vectors.
@Suite struct NormalizerTests {
    private func expectClose(_ got: [Double], _ want: [Double], tolerance: Double = 1e-6) {
        #expect(got.count == want.count)
        for (a, b) in zip(got, want) { #expect(abs(a - b) <= tolerance, "\(got) vs \(want)") }
    }

    @Test func sparsemaxKnownValues() throws {
        expectClose(try Normalizer.sparsemax.weights([0, 0.5, 1]), [0, 0.25, 0.75])
        expectClose(
            try Normalizer.sparsemax.weights([0.1, 0.2, 0.3, 0.4, 0.5]), [0, 0.1, 0.2, 0.3, 0.4])
        expectClose(try Normalizer.sparsemax.weights([1, 1, 0.5]), [0.5, 0.5, 0])
    }

    @Test func entmax15KnownValues() throws {
        expectClose(
            try Normalizer.entmax(alpha: 1.5).weights([1, 0, -1]), [0.830719, 0.169281, 0])
        expectClose(try Normalizer.entmax(alpha: 1.5).weights([2, 0, 0]), [1, 0, 0])
    }

    @Test func softmaxKnownValues() throws {
        let e = 2.718281828459045
        expectClose(
            try Normalizer.softmax.weights([0, 1]), [1 / (1 + e), e / (1 + e)], tolerance: 1e-12)
    }

    static let all: [Normalizer] = [
        .sparsemax, .softmax, .entmax(alpha: 1.5), .entmax(alpha: 1.2), .entmax(alpha: 1.8),
        .entmax(alpha: 2),
    ]

    @Test(arguments: all)
    func weightsAreADistributionAtEveryMagnitude(normalizer: Normalizer) throws {
        let seed: UInt64 = 0xD157_0001
        print("distribution \(normalizer): seed \(seed)")
        var generator = SplitMix(seed: seed)
        for exponent in -6...6 {
            for _ in 0..<20 {
                let count = 1 + Int(generator.next() % 50)
                let scale = pow(10, Double(exponent))
                let z = (0..<count).map { _ in scale * generator.uniform(-1, 1) }
                let p = try normalizer.weights(z)
                #expect(p.allSatisfy { $0 >= 0 && $0.isFinite }, "\(normalizer) scale \(scale)")
                #expect(abs(p.reduce(0, +) - 1) <= 1e-9, "\(normalizer) scale \(scale)")
                let reference = ReferenceModel.weights(z, normalizer)
                for (a, b) in zip(p, reference) {
                    #expect(abs(a - b) <= 1e-6, "\(normalizer) scale \(scale): \(z)")
                }
            }
        }
    }

    @Test(arguments: all)
    func tiesShareTheirMassEqually(normalizer: Normalizer) throws {
        let p = try normalizer.weights([3, 3, 3])
        for value in p { #expect(abs(value - 1.0 / 3) <= 1e-12) }
        let q = try normalizer.weights([5, 1, 5, -20])
        #expect(q[0] == q[2])
        #expect(q[3] < 1e-9)
    }

    @Test(arguments: all)
    func scoresNear1e8AreShiftInvariant(normalizer: Normalizer) throws {
        let base = [0.0, 0.5, -0.25, 1, 0.75]
        let plain = try normalizer.weights(base)
        for offset in [1e8, -1e8, 3e8] {
            let shifted = try normalizer.weights(base.map { $0 + offset })
            for (a, b) in zip(plain, shifted) { #expect(abs(a - b) <= 1e-6, "offset \(offset)") }
        }
        let float32 = try normalizer.weights([Float(1e8), 1e8 + 8, 1e8 - 8].map { Double($0) })
        #expect(float32.allSatisfy { $0.isFinite })
        #expect(abs(float32.reduce(0, +) - 1) <= 1e-9)
    }

    /// Thousands of candidates within reach of the top: sparsemax takes its filtering path
    /// (no sort), bisection its pruning.
    @Test(arguments: all)
    func largeCandidateSetsMatchReference(normalizer: Normalizer) throws {
        var generator = SplitMix(seed: 0x1A29_0001)
        for count in [65, 200, 3000] {
            for spread in [0.01, 0.5, 3] {
                let z = (0..<count).map { _ in spread * generator.uniform(-1, 1) }
                let p = try normalizer.weights(z)
                let reference = ReferenceModel.weights(z, normalizer)
                #expect(abs(p.reduce(0, +) - 1) <= 1e-9)
                for (a, b) in zip(p, reference) {
                    #expect(abs(a - b) <= 1e-7, "\(normalizer) n \(count) spread \(spread)")
                }
            }
        }
    }

    @Test func sortAndBisectionAgree() {
        var generator = SplitMix(seed: 0xB15E_0001)
        for _ in 0..<300 {
            let count = 1 + Int(generator.next() % 40)
            let spread = pow(10, generator.uniform(-2, 1.5))
            var u = (0..<count).map { _ in spread * generator.uniform(-1, 1) }
            let top = u.max()!
            u = u.map { $0 - top }
            let exact15 = entmax15Weights(u)
            let bisect15 = entmaxBisectWeights(u, alpha: 1.5)
            let exact2 = sparsemaxWeights(u)
            let bisect2 = entmaxBisectWeights(u, alpha: 2)
            for i in u.indices {
                #expect(abs(exact15[i] - bisect15[i]) <= 1e-6, "α=1.5 \(u)")
                #expect(abs(exact2[i] - bisect2[i]) <= 1e-6, "α=2 \(u)")
            }
        }
    }

    /// The bisection bug of older entmax code: with the branch test f(mid)·f(lo) ≥ 0, peaked
    /// inputs (one-hot answers, f(lo) = 0) drifted to the upper end and gave 0/0.
    @Test func bisectionOnPeakedInputsStaysOneHot() throws {
        var generator = SplitMix(seed: 0xB15E_0002)
        for alpha in [1.1, 1.3, 1.7, 1.99] {
            for _ in 0..<20 {
                let z = (0..<100).map { _ in 1000 * generator.uniform(-1, 1) }
                let p = try Normalizer.entmax(alpha: alpha).weights(z)
                #expect(p.allSatisfy { !$0.isNaN })
                #expect(abs(p.reduce(0, +) - 1) <= 1e-9)
                let sorted = z.sorted(by: >)
                let oneHot = sorted[0] - sorted[1] >= 1 / (alpha - 1)
                #expect((p.filter { $0 > 0 }.count == 1) == oneHot, "α \(alpha)")
                let reference = ReferenceModel.weights(z, .entmax(alpha: alpha))
                for (a, b) in zip(p, reference) { #expect(abs(a - b) <= 1e-6) }
            }
        }
    }
}
