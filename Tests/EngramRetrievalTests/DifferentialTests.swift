import Testing

@testable import EngramRetrieval

/// The library against the plain Float64 reference model on random banks, all normalizers,
/// single queries and batches.
@Suite struct DifferentialTests {
    /// Compares one completion with the reference run of the same number of steps.
    private func check(_ answer: Completion, _ random: RandomCase, label: String) {
        let model = random.reference
        let trace = model.run(random.start, known: random.query.known, steps: answer.steps)
        let last = trace.last!
        let scale = 1 + (last.state.map(abs).max() ?? 0)
        for (got, want) in zip(answer.pattern, last.state) {
            #expect(abs(Double(got) - want) <= 2e-4 * scale, "\(label): state")
        }
        for entry in answer.support {
            #expect(abs(entry.weight - last.weights[entry.index]) <= 1e-4, "\(label): weight")
        }
        if random.parameters.normalizer != .softmax {
            let heavy = last.weights.filter { $0 > 1e-4 }.count
            #expect(answer.supportSize >= heavy, "\(label): support size")
        }
        let energyScale = 1 + abs(last.answerEnergy) + scale * scale
        #expect(abs(answer.energy - last.answerEnergy) <= 1e-4 * energyScale, "\(label): energy")
        let tolerance = random.parameters.tolerance
        if answer.converged {
            #expect(last.change <= tolerance + 1e-4, "\(label): converged too early")
        } else {
            #expect(answer.steps == random.parameters.steps, "\(label): stopped unconverged")
        }
        for step in trace.dropLast() {
            #expect(step.change >= tolerance - 1e-4, "\(label): should have stopped")
        }
    }

    @Test(arguments: RandomCase.normalizers)
    func singleQueriesMatchReference(normalizer: Normalizer) throws {
        let seed: UInt64 = 0x5EED_0001
        print("differential single \(normalizer): seed \(seed)")
        var generator = SplitMix(seed: seed)
        for trial in 0..<60 {
            let random = RandomCase.make(&generator, normalizer: normalizer, steps: 1 + trial % 4)
            let answer = try Retriever.complete(
                random.query, in: random.bank, parameters: random.parameters)
            check(answer, random, label: "\(normalizer) trial \(trial)")
        }
    }

    @Test(arguments: RandomCase.normalizers)
    func batchesMatchReference(normalizer: Normalizer) throws {
        let seed: UInt64 = 0x5EED_0002
        print("differential batch \(normalizer): seed \(seed)")
        var generator = SplitMix(seed: seed)
        for trial in 0..<15 {
            let base = RandomCase.make(&generator, normalizer: normalizer, steps: 1 + trial % 3)
            var cases = [base]
            for _ in 0..<(trial % 7) {
                var other = base
                let source = Int(generator.next() % UInt64(base.bank.rows))
                other.query.values = base.bank[row: source].map {
                    $0 + Float(generator.uniform(-0.3, 0.3)) * abs($0)
                }
                cases.append(other)
            }
            let answers = try Retriever.completeBatch(
                cases.map(\.query), in: base.bank, parameters: base.parameters)
            #expect(answers.count == cases.count)
            for (index, (answer, random)) in zip(answers, cases).enumerated() {
                check(answer, random, label: "\(normalizer) batch \(trial) query \(index)")
            }
        }
    }

    @Test func batchAgreesWithSingleQueries() throws {
        var generator = SplitMix(seed: 0x5EED_0003)
        let random = RandomCase.make(&generator, normalizer: .sparsemax, steps: 3)
        let queries = (0..<9).map { row in
            Query(values: random.bank[row: row % random.bank.rows].map { $0 * 0.9 })
        }
        let batch = try Retriever.completeBatch(
            queries, in: random.bank, parameters: random.parameters)
        let again = try Retriever.completeBatch(
            queries, in: random.bank, parameters: random.parameters)
        #expect(batch == again, "batch answers are reproducible bit for bit")
        for (query, answer) in zip(queries, batch) {
            let single = try Retriever.complete(
                query, in: random.bank, parameters: random.parameters)
            #expect(single.exact == answer.exact)
            for (a, b) in zip(single.pattern, answer.pattern) {
                #expect(abs(a - b) <= 1e-4 * (1 + abs(a)))
            }
        }
    }

    /// More queries than one group of the batch (256): every group is answered, in order.
    @Test func largeBatchesSpanSeveralGroups() throws {
        var generator = SplitMix(seed: 0x5EED_0004)
        let values = (0..<50 * 8).map { _ in Float(generator.uniform(-1, 1)) }
        let bank = try PatternMatrix(values: values, dimension: 8)
        let queries = (0..<600).map { index in
            Query(values: bank[row: index % 50].map { $0 + Float(generator.uniform(-0.2, 0.2)) })
        }
        let parameters = RetrievalParameters(beta: 3)
        let batch = try Retriever.completeBatch(queries, in: bank, parameters: parameters)
        #expect(batch.count == 600)
        for (query, answer) in zip(queries, batch) {
            let single = try Retriever.complete(query, in: bank, parameters: parameters)
            for (a, b) in zip(single.pattern, answer.pattern) { #expect(abs(a - b) <= 1e-4) }
        }
    }

    /// Sharp β on queries unrelated to the bank: the reach (1/β) is tiny next to the terms
    /// of each dot product, the case where a widening relative to the scores would be too
    /// narrow. Batch answers must still be the single answers bit for bit.
    @Test func sharpBatchesOnUnrelatedQueriesEqualSingleAnswers() throws {
        var generator = SplitMix(seed: 0x5EED_0005)
        let dimension = 256
        let values = (0..<1500 * dimension).map { _ in Float(generator.uniform(-1, 1)) }
        let bank = try PatternMatrix(values: values, dimension: dimension)
        let queries = (0..<24).map { _ in
            Query(values: (0..<dimension).map { _ in Float(generator.uniform(-1, 1)) })
        }
        for beta in [300.0, 3000] {
            let parameters = RetrievalParameters(beta: beta, topK: 1500)
            let batch = try Retriever.completeBatch(queries, in: bank, parameters: parameters)
            for (query, answer) in zip(queries, batch) {
                #expect(answer == (try Retriever.complete(query, in: bank, parameters: parameters)))
            }
        }
    }
}
