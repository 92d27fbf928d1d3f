import Testing

@testable import EngramRetrieval

/// A retrieval call given a deadline stops with ``RetrievalError/deadline`` once it passed,
/// and otherwise answers exactly as without one. engramd relies on both: the first bounds a
/// query's time, the second lets it pass a deadline to every call without changing answers.
@Suite struct DeadlineTests {
    static let normalizers: [Normalizer] = [
        .sparsemax, .softmax, .entmax(alpha: 1.5), .entmax(alpha: 1.25),
    ]

    /// 5000 rows: several blocks of the single-query scan (1024 rows) and of the batch pass
    /// (4096 rows). Built once: every test (and every argument) makes its own suite value.
    static let data: (bank: PatternMatrix, queries: [Query]) = {
        var generator = SplitMix(seed: 0xDEAD_11AE)
        let (rows, dimension) = (5000, 12)
        let values = (0..<rows * dimension).map { _ in Float(generator.uniform(-1, 1)) }
        let queries = (0..<34).map { index in
            let values = (0..<dimension).map { _ in Float(generator.uniform(-1, 1)) }
            // Every other query has its second half unknown, so clamping is covered too.
            let known = index.isMultiple(of: 2) ? nil : (0..<dimension).map { $0 < dimension / 2 }
            return Query(values: values, known: known)
        }
        return (try! PatternMatrix(values: values, dimension: dimension), queries)
    }()

    var bank: PatternMatrix { Self.data.bank }
    var queries: [Query] { Self.data.queries }

    /// Runs `body` and checks that it threw ``RetrievalError/deadline``.
    private func expectDeadline(
        _ what: String, sourceLocation: SourceLocation = #_sourceLocation,
        _ body: () throws -> Void
    ) {
        do {
            try body()
            Issue.record("\(what) answered past its deadline", sourceLocation: sourceLocation)
        } catch {
            #expect(
                error as? RetrievalError == .deadline, "\(what): \(error)",
                sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: normalizers)
    func aPassedDeadlineStopsEveryCall(normalizer: Normalizer) {
        let passed = Deadline(nanoseconds: 0)
        #expect(passed.hasPassed)
        for steps in [1, 3] {
            let parameters = RetrievalParameters(
                normalizer: normalizer, beta: 2, steps: steps, tolerance: 0)
            expectDeadline("complete, \(steps) steps") {
                _ = try Retriever.complete(
                    queries[1], in: bank, parameters: parameters, deadline: passed)
            }
            // One query goes to the small-batch kernel, 34 to sgemm.
            for count in [1, 34] {
                expectDeadline("completeBatch of \(count), \(steps) steps") {
                    _ = try Retriever.completeBatch(
                        Array(queries.prefix(count)), in: bank, parameters: parameters,
                        deadline: passed)
                }
            }
        }
    }

    /// The pass over the bank checks the deadline itself, not only the step loop around it.
    @Test func theBankPassChecksTheDeadline() {
        let x = [Float](repeating: 0.5, count: bank.dimension)
        expectDeadline("scan") {
            _ = try x.withUnsafeBufferPointer { x in
                try scanCandidates(
                    bank, x: x.baseAddress!, normalizer: .sparsemax, beta: 1,
                    deadline: Deadline(nanoseconds: 0))
            }
        }
    }

    @Test(arguments: normalizers)
    func aFarDeadlineChangesNoAnswer(normalizer: Normalizer) throws {
        let parameters = RetrievalParameters(
            normalizer: normalizer, beta: 3, steps: 2, tolerance: 0, topK: 50)
        let far = Deadline.after(milliseconds: 3_600_000)
        let batch = try Retriever.completeBatch(
            queries, in: bank, parameters: parameters, deadline: far)
        #expect(batch == (try Retriever.completeBatch(queries, in: bank, parameters: parameters)))
        for query in queries.prefix(4) {
            let single = try Retriever.complete(
                query, in: bank, parameters: parameters, deadline: far)
            #expect(single == (try Retriever.complete(query, in: bank, parameters: parameters)))
        }
    }

    @Test func validationErrorsComeBeforeTheDeadline() {
        let passed = Deadline(nanoseconds: 0)
        do {
            _ = try Retriever.complete(
                queries[0], in: bank, parameters: .init(beta: -1), deadline: passed)
            Issue.record("answered with beta -1")
        } catch {
            #expect(error == .beta(-1))
        }
    }

    @Test func deadlineArithmetic() {
        #expect(Deadline.after(milliseconds: .max).nanoseconds == .max)
        #expect(!Deadline(nanoseconds: .max).hasPassed)
        #expect(!Deadline.after(milliseconds: 3_600_000).hasPassed)
        #expect(Deadline.after(milliseconds: -5) <= Deadline.now())
        #expect(Deadline.after(milliseconds: 1000) > Deadline.now())
        let error = RetrievalError.deadline
        #expect(error.code == "deadline")
        #expect(error.message.contains("fewer steps"))
    }

    /// With a deadline per query, a passed one fails its own query only, in index order, and
    /// every other answer is the single answer.
    @Test(arguments: DeadlineTests.normalizers)
    func perQueryDeadlinesFailOnlyTheirOwnQuery(normalizer: Normalizer) throws {
        let parameters = RetrievalParameters(normalizer: normalizer, beta: 2, steps: 3)
        let far = Deadline.after(milliseconds: 3_600_000)
        let passed = Deadline(nanoseconds: 1)
        let deadlines: [Deadline?] = queries.indices.map {
            $0 % 5 == 2 ? passed : ($0 % 3 == 0 ? nil : far)
        }
        var seen: [Int] = []
        try Retriever.completeBatch(
            queries, in: bank, parameters: parameters, deadlines: deadlines
        ) { index, result in
            seen.append(index)
            switch result {
            case .success(let answer):
                #expect(index % 5 != 2, "query \(index) answered past its deadline")
                let single = try? Retriever.complete(
                    queries[index], in: bank, parameters: parameters)
                #expect(answer == single, "query \(index)")
            case .failure(let error):
                #expect(index % 5 == 2 && error == .deadline, "query \(index): \(error)")
            }
        }
        #expect(seen == Array(queries.indices))
    }
}
