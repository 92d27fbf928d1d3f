import Testing

@testable import EngramRetrieval

/// Every ``RetrievalError`` case, raised by the call that should raise it, with its code.
@Suite struct ErrorTests {
    let bank = try! PatternMatrix(values: [1, 0, 0, 0, 1, 0], dimension: 3)

    private func expectError(
        _ code: String, _ expected: RetrievalError,
        sourceLocation: SourceLocation = #_sourceLocation,
        _ body: () throws -> Void
    ) {
        do {
            try body()
            Issue.record("expected \(expected)", sourceLocation: sourceLocation)
        } catch {
            guard let error = error as? RetrievalError else {
                Issue.record("not a RetrievalError: \(error)", sourceLocation: sourceLocation)
                return
            }
            // Descriptions, not ==, because a NaN payload never equals itself.
            #expect(error.description == expected.description, sourceLocation: sourceLocation)
            #expect(error.code == code, sourceLocation: sourceLocation)
            #expect(!error.message.isEmpty, sourceLocation: sourceLocation)
        }
    }

    private func complete(
        _ query: Query, _ parameters: RetrievalParameters = .init()
    )
        throws(RetrievalError)
    {
        _ = try Retriever.complete(query, in: bank, parameters: parameters)
    }

    @Test func dimension() {
        expectError("dimension", .dimension(expected: 3, actual: 2)) {
            try complete(Query(values: [1, 0]))
        }
        expectError("dimension", .dimension(expected: 3, actual: 4)) {
            try complete(Query(values: [1, 0, 0], known: [true, true, true, true]))
        }
        expectError("dimension", .dimension(expected: 3, actual: 2)) {
            _ = try Retriever.energy(of: [1, 0], in: bank, parameters: .init())
        }
        expectError("dimension", .dimension(expected: 3, actual: 2)) {
            _ = try Retriever.scores(of: [1, 0], in: bank)
        }
        expectError("dimension", .dimension(expected: 2, actual: 3)) {
            _ = try PatternMatrix(values: [1, 2, 3], dimension: 2)
        }
    }

    @Test func nonFinite() {
        expectError("nonFinite", .nonFinite(row: nil, component: 1)) {
            try complete(Query(values: [1, .nan, 0]))
        }
        expectError("nonFinite", .nonFinite(row: nil, component: 2)) {
            try complete(Query(values: [1, 0, -.infinity]))
        }
        expectError("nonFinite", .nonFinite(row: 1, component: 0)) {
            _ = try PatternMatrix(values: [1, 0, 0, .infinity, 0, 0], dimension: 3)
        }
        expectError("nonFinite", .nonFinite(row: nil, component: 0)) {
            _ = try Normalizer.sparsemax.weights([.nan, 1])
        }
    }

    @Test func unknownComponentsMayHoldAnything() throws {
        let answer = try Retriever.complete(
            Query(values: [1, .nan, .infinity], known: [true, false, false]), in: bank,
            parameters: .init(beta: 4))
        #expect(answer.pattern == [1, 0, 0])
    }

    @Test func nonFiniteStoredValuesAreFoundByRetrievalAndValidation() throws {
        var storage: [Float] = [1, 0, 0, 0, 1, 0, 0, 0, 1]
        storage[5] = .nan
        let matrix = try OwnedMatrix(storage, dimension: 3)
        expectError("nonFinite", .nonFinite(row: 1, component: 2)) { try matrix.view.validate() }
        expectError("nonFinite", .nonFinite(row: 1, component: 2)) {
            _ = try Retriever.complete(
                Query(values: [1, 1, 1]), in: matrix.view, parameters: .init())
        }
        expectError("nonFinite", .nonFinite(row: 1, component: 2)) {
            _ = try Retriever.completeBatch(
                [Query(values: [1, 1, 1])], in: matrix.view, parameters: .init())
        }
    }

    @Test func parameters() {
        for beta in [0, -1, Double.infinity, .nan] {
            expectError("beta", .beta(beta)) {
                try complete(Query(values: [1, 0, 0]), .init(beta: beta))
            }
        }
        for alpha in [1, 2.5, 0.5, Double.nan] {
            expectError("alpha", .alpha(alpha)) {
                try complete(Query(values: [1, 0, 0]), .init(normalizer: .entmax(alpha: alpha)))
            }
            expectError("alpha", .alpha(alpha)) {
                _ = try Normalizer.entmax(alpha: alpha).weights([1])
            }
        }
        expectError("steps", .steps(0)) { try complete(Query(values: [1, 0, 0]), .init(steps: 0)) }
        expectError("tolerance", .tolerance(-1)) {
            try complete(Query(values: [1, 0, 0]), .init(tolerance: -1))
        }
        expectError("topK", .topK(0)) { try complete(Query(values: [1, 0, 0]), .init(topK: 0)) }
    }

    @Test func allMaskedAndEmptyBank() throws {
        expectError("allMasked", .allMasked) {
            try complete(Query(values: [1, 0, 0], known: [false, false, false]))
        }
        let empty = try PatternMatrix(values: [], dimension: 3)
        expectError("emptyBank", .emptyBank) {
            _ = try Retriever.complete(Query(values: [1, 0, 0]), in: empty, parameters: .init())
        }
        expectError("emptyBank", .emptyBank) {
            _ = try Retriever.completeBatch([], in: empty, parameters: .init())
        }
    }

    @Test func batchReportsTheFailingQuery() throws {
        expectError("dimension", .query(index: 1, underlying: .dimension(expected: 3, actual: 1))) {
            _ = try Retriever.completeBatch(
                [Query(values: [1, 0, 0]), Query(values: [1])], in: bank, parameters: .init())
        }
        #expect(try Retriever.completeBatch([], in: bank, parameters: .init()).isEmpty)
    }
}

/// Test-owned storage behind a ``PatternMatrix`` built with the wrapping initializer, the way
/// the store hands out its own buffers (no validation on the way in).
final class OwnedMatrix: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    let rows: Int
    let dimension: Int

    init(_ values: [Float], dimension: Int) throws {
        pointer = .allocate(capacity: max(values.count, 1))
        pointer.initialize(from: values, count: values.count)
        rows = values.count / dimension
        self.dimension = dimension
    }

    var view: PatternMatrix {
        PatternMatrix(base: pointer, rows: rows, dimension: dimension, owner: self)
    }

    deinit { pointer.deallocate() }
}
