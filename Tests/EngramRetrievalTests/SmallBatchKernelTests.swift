import CEngramKernels
import Testing

/// The small-batch score kernel's contract: every score of every batch size and position is
/// within the Float32 error bound of the exact dot product (the retriever widens its candidate
/// floor by that bound and re-scores the survivors exactly), and does not depend on the other
/// queries' values.
@Suite struct SmallBatchKernelTests {
    @Test(arguments: [1, 3, 7, 8, 9, 64, 67, 256])
    func scoresAreWithinTheErrorBound(dimension: Int) {
        var generator = SplitMix(seed: 0x5CA1_AB1E &+ UInt64(dimension))
        // More rows than one block holds (64 KiB of rows), and an odd count, so that block
        // edges and a lone last row are crossed.
        let rows = max(65_536 / (dimension * 4), 8) * 2 + 3
        let bank = (0..<rows * dimension).map { _ in Float(generator.uniform(-1, 1)) }
        let queries = (0..<19).map { _ in
            (0..<dimension).map { _ in Float(generator.uniform(-1, 1)) }
        }
        // Batch sizes that take each tile: row-wise singles, pairs and fours, groups of eight
        // (full and padded) and of sixteen (full and padded), and mixtures.
        for batch in [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 16, 17, 23, 27, 32, 35] {
            let members = (0..<batch).map { queries[($0 * 7 + batch) % queries.count] }
            let computed = scores(bank, rows, dimension, members)
            for (index, query) in members.enumerated() {
                expectWithinBound(
                    computed[index], bank, rows, dimension, query,
                    "d \(dimension) batch \(batch) member \(index)")
            }
            // The same batch with other values in the other queries gives the same scores.
            var others = members.map { $0.map { -$0 * 0.5 } }
            others[batch / 2] = members[batch / 2]
            let mixed = scores(bank, rows, dimension, others)
            #expect(mixed[batch / 2] == computed[batch / 2], "d \(dimension) batch \(batch)")
        }
    }

    /// The finiteness check that lets a block of scores skip the Float64 path: every position
    /// (vector body and scalar tail), every kind of non-finite value, and finite extremes.
    @Test func allFiniteFindsEveryNonFiniteValue() {
        for count in [0, 1, 7, 31, 32, 33, 100] {
            var values = (0..<count).map { Float($0) - 50 }
            values += count > 2 ? [.greatestFiniteMagnitude, -.leastNonzeroMagnitude] : []
            #expect(engram_all_finite(values, values.count) == 1, "count \(count)")
            for position in values.indices {
                for bad in [Float.nan, .infinity, -.infinity] {
                    var poisoned = values
                    poisoned[position] = bad
                    #expect(
                        engram_all_finite(poisoned, poisoned.count) == 0,
                        "count \(count) position \(position) value \(bad)")
                }
            }
        }
    }

    private func expectWithinBound(
        _ computed: [Float], _ bank: [Float], _ rows: Int, _ dimension: Int, _ query: [Float],
        _ context: String
    ) {
        var worst = 0
        var failures = 0
        for row in 0..<rows {
            var exact = 0.0
            var magnitude = 0.0
            for j in 0..<dimension {
                let product = Double(bank[row * dimension + j]) * Double(query[j])
                exact += product
                magnitude += abs(product)
            }
            let bound = Double(dimension) * 0x1p-24 * magnitude + 1e-30
            if !(abs(Double(computed[row]) - exact) <= bound) {
                failures += 1
                worst = row
            }
        }
        #expect(failures == 0, "\(context): \(failures) rows out of bound, e.g. row \(worst)")
    }

    /// Scores of `queries` against the bank, one array per query.
    private func scores(
        _ bank: [Float], _ rows: Int, _ dimension: Int, _ queries: [[Float]]
    ) -> [[Float]] {
        var out = [Float](repeating: .nan, count: rows * queries.count)
        let states = queries.flatMap { $0 }
        engram_scores(bank, rows, dimension, states, queries.count, &out, rows)
        return (0..<queries.count).map { Array(out[($0 * rows)..<(($0 + 1) * rows)]) }
    }
}
