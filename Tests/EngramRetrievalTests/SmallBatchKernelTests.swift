import CEngramKernels
import Testing

/// The small-batch score kernel's contract: each score depends on its row and query only
/// (engramd's batches mix unrelated clients), and is within the Float32 error bound of the
/// exact dot product.
@Suite struct SmallBatchKernelTests {
    @Test(arguments: [1, 3, 7, 8, 9, 64, 67, 256])
    func scoresDependOnTheirRowAndQueryAlone(dimension: Int) {
        var generator = SplitMix(seed: 0x5CA1_AB1E &+ UInt64(dimension))
        // More rows than one block holds (64 KiB of rows), and an odd count, so that block
        // edges and a lone last row are crossed.
        let rows = max(65_536 / (dimension * 4), 8) * 2 + 3
        let bank = (0..<rows * dimension).map { _ in Float(generator.uniform(-1, 1)) }
        let queries = (0..<13).map { _ in
            (0..<dimension).map { _ in Float(generator.uniform(-1, 1)) }
        }
        let alone = queries.map { scores(bank, rows, dimension, [$0])[0] }
        for batch in [1, 2, 3, 4, 5, 6, 7, 8, 9, 13] {
            for start in [0, 13 - batch] {
                let members = Array(queries[start..<start + batch])
                let together = scores(bank, rows, dimension, members)
                for index in 0..<batch {
                    #expect(
                        together[index] == alone[start + index],
                        "d \(dimension) batch \(batch) from \(start) member \(index)")
                }
            }
        }
        for (query, computed) in zip(queries, alone) {
            for row in 0..<rows {
                var exact = 0.0
                var magnitude = 0.0
                for j in 0..<dimension {
                    let product = Double(bank[row * dimension + j]) * Double(query[j])
                    exact += product
                    magnitude += abs(product)
                }
                let bound = Double(dimension) * 0x1p-24 * magnitude + 1e-30
                #expect(abs(Double(computed[row]) - exact) <= bound, "d \(dimension) row \(row)")
            }
        }
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
