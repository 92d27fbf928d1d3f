import Testing

@testable import EngramRetrieval

@Test func cleanQueryRecallsItsPattern() throws {
    let bank = try PatternMatrix(values: [1, 0, 0, 0, 1, 0, 0, 0, 1], dimension: 3)
    let parameters = RetrievalParameters(beta: 4, steps: 3)
    let single = try Retriever.complete(
        Query(values: [0.9, 0.1, 0]), in: bank, parameters: parameters)
    #expect(single.pattern == [1, 0, 0])
    #expect(single.exact)
    #expect(single.support == [SupportEntry(index: 0, weight: 1)])
    let batch = try Retriever.completeBatch(
        [Query(values: [0.9, 0.1, 0]), Query(values: [0, 0.2, 0.9])], in: bank,
        parameters: parameters)
    #expect(batch.map(\.pattern) == [[1, 0, 0], [0, 0, 1]])
    #expect(batch[0].converged && batch[0].steps == 2)
}
