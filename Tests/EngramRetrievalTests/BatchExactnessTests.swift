import Testing

@testable import EngramRetrieval

/// A batch answer is the single answer bit for bit, whatever else shares the batch: engramd
/// combines unrelated clients' queries into batches and relies on it.
@Suite struct BatchExactnessTests {
    @Test(arguments: [
        (Normalizer.sparsemax, 4.0), (.softmax, 0.7), (.entmax(alpha: 1.5), 3.0),
    ])
    func batchAnswersEqualSingleAnswers(normalizer: Normalizer, beta: Double) throws {
        var generator = SplitMix(seed: 0xE4AC_7001)
        for dimension in [5, 24, 130] {
            let rows = 700
            let values = (0..<rows * dimension).map { _ in Float(generator.uniform(-1, 1)) }
            let bank = try PatternMatrix(values: values, dimension: dimension)
            let queries = (0..<40).map { _ in
                Query(values: (0..<dimension).map { _ in Float(generator.uniform(-1, 1)) })
            }
            let parameters = RetrievalParameters(
                normalizer: normalizer, beta: beta, steps: 2, tolerance: 0, topK: rows)
            // 40 queries go to sgemm; the slices, to each of the small-batch kernel's tiles:
            // groups of sixteen and eight (full and padded), the row-wise fours, pairs and
            // singles, and mixtures of them.
            let together = try Retriever.completeBatch(queries, in: bank, parameters: parameters)
            let slices = [3..<20, 0..<1, 7..<11, 30..<35, 0..<8, 10..<23, 20..<27, 1..<33, 5..<11]
            let parts = try slices.map {
                try Retriever.completeBatch(Array(queries[$0]), in: bank, parameters: parameters)
            }
            for (index, query) in queries.enumerated() {
                let single = try Retriever.complete(query, in: bank, parameters: parameters)
                #expect(together[index] == single, "d \(dimension) query \(index)")
                for (slice, part) in zip(slices, parts) where slice.contains(index) {
                    #expect(
                        part[index - slice.lowerBound] == single,
                        "d \(dimension) query \(index) in \(slice)")
                }
            }
        }
    }
}
