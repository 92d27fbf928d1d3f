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
            let together = try Retriever.completeBatch(queries, in: bank, parameters: parameters)
            let part = try Retriever.completeBatch(
                Array(queries[3..<20]), in: bank, parameters: parameters)
            for (index, query) in queries.enumerated() {
                let single = try Retriever.complete(query, in: bank, parameters: parameters)
                #expect(together[index] == single, "d \(dimension) query \(index)")
                if (3..<20).contains(index) {
                    #expect(part[index - 3] == single, "d \(dimension) query \(index)")
                }
            }
        }
    }
}
