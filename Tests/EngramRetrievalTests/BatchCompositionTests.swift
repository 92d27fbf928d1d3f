import Testing

@testable import EngramRetrieval

/// A query's batch answer may change in the last bits with its companions (OpenBLAS picks
/// kernels by shape) but no further; single-query answers never depend on anything else.
@Suite struct BatchCompositionTests {
    @Test(arguments: [5, 24, 256])
    func companionsChangeOnlyRounding(dimension: Int) throws {
        var generator = SplitMix(seed: 0xC0B1_0001)
        let rows = 700
        let values = (0..<rows * dimension).map { _ in Float(generator.uniform(-1, 1)) }
        let bank = try PatternMatrix(values: values, dimension: dimension)
        let queries = (0..<40).map { _ in
            Query(values: (0..<dimension).map { _ in Float(generator.uniform(-1, 1)) })
        }
        let parameters = RetrievalParameters(normalizer: .softmax, beta: 0.7, topK: rows)
        let together = try Retriever.completeBatch(queries, in: bank, parameters: parameters)
        for (start, size) in [(0, 1), (0, 7), (3, 17)] {
            let part = try Retriever.completeBatch(
                Array(queries[start..<start + size]), in: bank, parameters: parameters)
            for (index, answer) in part.enumerated() {
                let other = together[start + index]
                for (a, b) in zip(answer.pattern, other.pattern) {
                    #expect(abs(a - b) <= 1e-5 * (1 + abs(a)))
                }
                #expect(abs(answer.energy - other.energy) <= 1e-5 * (1 + abs(answer.energy)))
            }
        }
        let single = try Retriever.complete(queries[9], in: bank, parameters: parameters)
        #expect(single == (try Retriever.complete(queries[9], in: bank, parameters: parameters)))
    }
}
