import Foundation
import Testing

@testable import EngramRetrieval

/// `exact` is true exactly when one step returns a stored pattern, and agrees with the margin
/// rule β·(best − second best score) ≥ 1/(α−1).
@Suite struct ExactRecallTests {
    @Test(arguments: RandomCase.normalizers)
    func exactFlagMeansOneStepReturnsAStoredPattern(normalizer: Normalizer) throws {
        let seed: UInt64 = 0xE8AC_0001
        print("exact recall \(normalizer): seed \(seed)")
        var generator = SplitMix(seed: seed)
        var counts = (exact: 0, mixed: 0)
        for trial in 0..<200 {
            let dimension = 16
            let rows = 2 + Int(generator.next() % 40)
            var values: [Float] = []
            for _ in 0..<rows {
                values += l2Normalize((0..<dimension).map { _ in Float(generator.uniform(-1, 1)) })
            }
            let bank = try PatternMatrix(values: values, dimension: dimension)
            let source = Int(generator.next() % UInt64(rows))
            let noise = generator.uniform(0, 0.6)
            let query = (0..<dimension).map {
                values[source * dimension + $0] + Float(noise * generator.uniform(-1, 1))
            }
            let beta = pow(
                10, normalizer == .softmax ? generator.uniform(1, 4) : generator.uniform(0, 1.5))
            let parameters = RetrievalParameters(normalizer: normalizer, beta: beta)
            let answer = try Retriever.complete(
                Query(values: query), in: bank, parameters: parameters)
            let returnsStored = (0..<rows).contains { Array(bank[row: $0]) == answer.pattern }
            if normalizer == .softmax {
                // Dense weights are never exactly one-hot in exact arithmetic; the flag is set
                // only when all other weights underflow in Float64, while the Float32 pattern
                // can round to a stored one much earlier. Only one direction holds.
                #expect(!answer.exact || returnsStored, "\(normalizer) trial \(trial)")
            } else {
                #expect(answer.exact == returnsStored, "\(normalizer) trial \(trial)")
            }
            if answer.exact {
                #expect(answer.support.count == 1 && answer.support[0].weight == 1)
                counts.exact += 1
            } else {
                counts.mixed += 1
            }
            let scores = ReferenceModel(bank, normalizer: normalizer, beta: beta)
                .scores(query.map(Double.init)).sorted(by: >)
            if let margin = normalizer.exactMargin {
                let gap = beta * (scores[0] - scores[1])
                if abs(gap - margin) > 1e-4 * margin {
                    #expect(answer.exact == (gap >= margin), "\(normalizer) trial \(trial) margin")
                }
            }
        }
        #expect(counts.exact > 10 && counts.mixed > 10, "both outcomes occur: \(counts)")
    }

    @Test func marginBoundaryIsInclusive() throws {
        let bank = try PatternMatrix(values: [1, 0, 0, 1], dimension: 2)
        for (normalizer, beta) in [(Normalizer.sparsemax, 1.0), (.entmax(alpha: 1.5), 2.0)] {
            let parameters = RetrievalParameters(normalizer: normalizer, beta: beta)
            let atMargin = try Retriever.complete(
                Query(values: [1, 0]), in: bank, parameters: parameters)
            #expect(atMargin.exact, "gap exactly 1/(α−1) is exact")
            let below = try Retriever.complete(
                Query(values: [0.99, 0]), in: bank, parameters: parameters)
            #expect(!below.exact)
            #expect(below.supportSize == 2)
        }
    }
}
